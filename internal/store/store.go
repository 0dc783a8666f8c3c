// Package store opens vitrine's metadata database (an SQLite file in the
// embedded default, PostgreSQL in scale-out mode) and applies its versioned
// schema migrations. Domain packages (catalog, video, …) own their queries and
// write them in the portable SQL subset with '?' placeholders; DB.Rebind turns
// them into the dialect's form.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is vitrine's metadata database.
//
// For SQLite, Write is a pool of exactly one connection (SQLite allows one
// writer; River requires it) and Read is a pool of read-only WAL connections,
// so API reads never queue behind a long write. Never run a query on Write
// while holding an open *sql.Rows or *sql.Tx from Write: with one connection
// that deadlocks. For PostgreSQL both are the same pool.
type DB struct {
	Write   *sql.DB
	Read    *sql.DB
	Dialect Dialect
	// DSN is the data source the DB was opened from (a file path for SQLite).
	DSN string
}

// Open opens the database named by dsn and applies pending migrations.
// A dsn of the form postgres://… or postgresql://… selects PostgreSQL;
// anything else is an SQLite file path (an optional "sqlite://" or "file:"
// prefix is stripped).
func Open(ctx context.Context, dsn string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn)
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "file:")
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create database directory: %w", err)
		}
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_time_format=sqlite"
	w, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	db := &DB{Write: w, Read: r, Dialect: SQLite, DSN: path}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	err := db.Write.Close()
	if db.Read != db.Write {
		err = errors.Join(err, db.Read.Close())
	}
	return err
}

// Rebind rewrites '?' placeholders into the dialect's form ($1, $2, … for
// PostgreSQL). Question marks inside single-quoted literals are left alone.
func (db *DB) Rebind(q string) string {
	if db.Dialect != Postgres {
		return q
	}
	var b strings.Builder
	n, inQuote := 0, false
	for _, r := range q {
		switch {
		case r == '\'':
			inQuote = !inQuote
		case r == '?' && !inQuote:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Tx runs fn in a write transaction, committing when fn returns nil.
func (db *DB) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}
