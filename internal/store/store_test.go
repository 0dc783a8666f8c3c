package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tables(t *testing.T, db *DB) map[string]bool {
	t.Helper()
	rows, err := db.Read.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out[n] = true
	}
	return out
}

func TestMigrateEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "sub", "vitrine.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != ms[len(ms)-1].Version {
		t.Fatalf("schema version %d, want %d (%v)", v, ms[len(ms)-1].Version, err)
	}
	got := tables(t, db)
	for _, want := range []string{"schema_migrations", "settings", "api_keys", "workflows", "workflow_steps", "workflow_step_runs", "workflow_logs"} {
		if !got[want] {
			t.Errorf("table %s missing", want)
		}
	}
	var n int
	db.Read.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if n != len(ms) {
		t.Errorf("%d migrations recorded, want %d", n, len(ms))
	}
}

// TestMigrateExistingDatabase opens a database left at version 1 with data
// in it: the later migrations apply, the data stays, and a further Open is a
// no-op.
func TestMigrateExistingDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	// Build a version-1 database by hand, as an older binary left it.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
		ms[0].SQL,
		`INSERT INTO schema_migrations(version, name) VALUES (1, 'init')`,
		`INSERT INTO settings(key, value) VALUES ('kept', 'yes')`,
	}
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	for round := range 2 {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("open round %d: %v", round, err)
		}
		v, _ := db.SchemaVersion(ctx)
		var kept string
		db.Read.QueryRow(`SELECT value FROM settings WHERE key = 'kept'`).Scan(&kept)
		var n int
		db.Read.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
		if v != ms[len(ms)-1].Version || kept != "yes" || n != len(ms) || !tables(t, db)["workflows"] {
			t.Errorf("round %d: version %d kept %q migrations %d", round, v, kept, n)
		}
		db.Close()
	}
}

func TestMigrationFilesAreWellFormed(t *testing.T) {
	ms, err := Migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Version <= 0 || strings.TrimSpace(m.SQL) == "" || m.Name == "" {
			t.Errorf("migration %+v is malformed", m.Version)
		}
		if i > 0 && m.Version == ms[i-1].Version {
			t.Errorf("duplicate version %d", m.Version)
		}
	}
}

func TestRebind(t *testing.T) {
	tests := []struct {
		d       Dialect
		in, out string
	}{
		{SQLite, "SELECT ? WHERE a = ?", "SELECT ? WHERE a = ?"},
		{Postgres, "SELECT ? WHERE a = ?", "SELECT $1 WHERE a = $2"},
		{Postgres, "SELECT '?' , ?", "SELECT '?' , $1"},
	}
	for _, tc := range tests {
		if got := (&DB{Dialect: tc.d}).Rebind(tc.in); got != tc.out {
			t.Errorf("Rebind(%q) = %q, want %q", tc.in, got, tc.out)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, ""); err == nil {
		t.Error("empty path: no error")
	}
	// Port 1 on loopback: nothing listens, so the connection is refused.
	if _, err := Open(ctx, "postgres://vitrine@127.0.0.1:1/x?connect_timeout=5"); err == nil {
		t.Error("postgres without a server: no error")
	}
	if _, err := Open(ctx, "postgres://%zz"); err == nil {
		t.Error("malformed postgres URL: no error")
	}
	f := filepath.Join(t.TempDir(), "notadb")
	if err := os.WriteFile(f, []byte("this is not an SQLite database, just text long enough to have a header........"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, f); err == nil {
		t.Error("garbage file: no error")
	}
}
