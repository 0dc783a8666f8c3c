// Package storetest gives tests a fresh, migrated database of each dialect,
// so that one conformance suite runs against SQLite and PostgreSQL alike.
//
// PostgreSQL comes from $VITRINE_TEST_POSTGRES (a postgres:// URL of a
// server the test may create databases on; scripts/test.sh starts one on
// loopback). When it is unset the PostgreSQL variants skip with a message.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/vitrine-dev/vitrine/internal/store"
)

// EnvPostgres names the variable holding the test PostgreSQL server URL.
const EnvPostgres = "VITRINE_TEST_POSTGRES"

// Opener opens a fresh, migrated database for one test; it is closed (and,
// for PostgreSQL, dropped) when the test ends.
type Opener struct {
	Name string
	// DSN returns the data source of a fresh empty database (a file path
	// for SQLite, a postgres:// URL) without opening it.
	DSN func(t testing.TB) string
}

// Open opens a fresh database with every migration applied.
func (o Opener) Open(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), o.DSN(t))
	if err != nil {
		t.Fatalf("open %s: %v", o.Name, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// SQLite opens SQLite files in t.TempDir().
func SQLite() Opener {
	return Opener{Name: "sqlite", DSN: func(t testing.TB) string {
		return filepath.Join(t.TempDir(), "vitrine.db")
	}}
}

// Postgres creates a database per test on $VITRINE_TEST_POSTGRES and drops
// it afterwards; it skips the test when the variable is unset.
func Postgres() Opener {
	return Opener{Name: "postgres", DSN: PostgresDSN}
}

// All returns the openers of every dialect.
func All() []Opener { return []Opener{SQLite(), Postgres()} }

// PostgresDSN creates an empty database for t and returns its URL.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		t.Skipf("%s is not set: no PostgreSQL server to test against (scripts/test.sh starts one)", EnvPostgres)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "vt_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer adb.Close()
	if _, err := adb.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("postgres: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		adb, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer adb.Close()
		// WITH (FORCE) ends sessions a test left behind (listeners, killed
		// child processes).
		if _, err := adb.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("postgres: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
