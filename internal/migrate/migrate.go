// Package migrate moves an embedded installation (SQLite file + blob
// directory) to the scale-out backends (PostgreSQL + S3-compatible store):
// every row of every vitrine table and every blob, verified by counting
// afterwards. The queue's own tables are not copied, so the source must
// have no unfinished workflow.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/store"
)

// ErrNotEmpty is returned when the destination database already holds data.
var ErrNotEmpty = errors.New("migrate: the destination database is not empty")

// ErrUnfinished is returned when the source has workflows still to run.
var ErrUnfinished = errors.New("migrate: the source has unfinished workflows")

// Blobs is the blob store interface the migration needs.
type Blobs interface {
	List(ctx context.Context, prefix string) ([]string, error)
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Put(ctx context.Context, key string, r io.Reader, contentType string) error
	Attributes(ctx context.Context, key string) (blob.Attributes, error)
}

// Report says what was copied.
type Report struct {
	// Rows is the number of rows copied per table.
	Rows map[string]int64
	// Blobs is the number of objects copied; BlobBytes their total size.
	Blobs     int
	BlobBytes int64
	// BlobsSkipped were already in the destination with the same size (a
	// resumed migration).
	BlobsSkipped int
}

// Tables whose content is rebuilt, not copied: migration bookkeeping, the
// SQLite full-text index (PostgreSQL's is kept by a trigger) and the
// queue's tables.
func skipped(table string) bool {
	return table == "schema_migrations" || strings.HasPrefix(table, "products_fts") ||
		strings.HasPrefix(table, "sqlite_") || strings.HasPrefix(table, "river_")
}

// Run copies src into dst. src must be an SQLite database that no process is
// writing (hold its data-dir lock) and dst an empty, migrated PostgreSQL
// database. progress, when not nil, receives one line per stage.
func Run(ctx context.Context, src *store.DB, srcBlobs Blobs, dst *store.DB, dstBlobs Blobs, log *slog.Logger) (Report, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := Report{Rows: map[string]int64{}}
	if src.Dialect != store.SQLite || dst.Dialect != store.Postgres {
		return rep, fmt.Errorf("migrate: from %s to %s: want SQLite to PostgreSQL", src.Dialect, dst.Dialect)
	}
	sv, err := src.SchemaVersion(ctx)
	if err != nil {
		return rep, err
	}
	dv, err := dst.SchemaVersion(ctx)
	if err != nil {
		return rep, err
	}
	if sv != dv {
		return rep, fmt.Errorf("migrate: schema versions differ (source %d, destination %d): use the same vitrine version on both", sv, dv)
	}
	var open int
	if err := src.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM workflows WHERE state NOT IN ('succeeded', 'failed', 'cancelled')`).Scan(&open); err != nil {
		return rep, fmt.Errorf("migrate: count unfinished workflows: %w", err)
	}
	if open > 0 {
		return rep, fmt.Errorf("%w (%d): let them finish (vitrine serve) or cancel them (vitrine workflows cancel) first", ErrUnfinished, open)
	}
	tables, err := tableOrder(ctx, src)
	if err != nil {
		return rep, err
	}
	if err := checkEmpty(ctx, dst, tables); err != nil {
		return rep, err
	}
	// Blobs first: rows that point at blobs become visible only after the
	// objects they name exist.
	if err := copyBlobs(ctx, srcBlobs, dstBlobs, &rep, log); err != nil {
		return rep, err
	}
	err = dst.Tx(ctx, func(tx *sql.Tx) error {
		// Seeded rows (catalog_state) are replaced by the source's.
		for i := len(tables) - 1; i >= 0; i-- {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+tables[i]); err != nil {
				return fmt.Errorf("migrate: clear %s: %w", tables[i], err)
			}
		}
		for _, t := range tables {
			n, err := copyTable(ctx, src, dst, tx, t)
			if err != nil {
				return err
			}
			rep.Rows[t] = n
			log.Info("migrate: table copied", "table", t, "rows", n)
		}
		return resetIdentities(ctx, tx)
	})
	if err != nil {
		return rep, err
	}
	return rep, verify(ctx, src, dst, tables)
}

// tableOrder lists the source's tables with every table after the tables
// its foreign keys reference.
func tableOrder(ctx context.Context, db *store.DB) ([]string, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("migrate: list tables: %w", err)
	}
	var all []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate: list tables: %w", err)
		}
		if !skipped(n) {
			all = append(all, n)
		}
	}
	rows.Close()
	deps := map[string][]string{}
	for _, t := range all {
		rs, err := db.Read.QueryContext(ctx, `SELECT "table" FROM pragma_foreign_key_list(?)`, t)
		if err != nil {
			return nil, fmt.Errorf("migrate: foreign keys of %s: %w", t, err)
		}
		for rs.Next() {
			var ref string
			rs.Scan(&ref)
			if ref != t {
				deps[t] = append(deps[t], ref)
			}
		}
		rs.Close()
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("migrate: foreign keys form a cycle through %s", t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, d := range deps[t] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[t] = 2
		order = append(order, t)
		return nil
	}
	for _, t := range all {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// checkEmpty refuses a destination that holds anything beyond the rows its
// migrations seed, so a migration never mixes two installations.
func checkEmpty(ctx context.Context, db *store.DB, tables []string) error {
	for _, t := range tables {
		var n int64
		if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return fmt.Errorf("migrate: destination table %s: %w", t, err)
		}
		if t == "catalog_state" {
			var v int64
			db.Read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM catalog_state`).Scan(&v)
			if v == 0 {
				continue
			}
		}
		if n > 0 {
			return fmt.Errorf("%w (table %s has %d rows)", ErrNotEmpty, t, n)
		}
	}
	return nil
}

// column is one destination column and how to convert source values to it.
type column struct {
	name, pgType string
}

func destColumns(ctx context.Context, tx *sql.Tx, table string) ([]column, error) {
	rows, err := tx.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, fmt.Errorf("migrate: columns of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.pgType); err != nil {
			return nil, fmt.Errorf("migrate: columns of %s: %w", table, err)
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("migrate: table %s does not exist in the destination", table)
	}
	return cols, rows.Err()
}

// copyTable streams one table's rows into the destination transaction.
func copyTable(ctx context.Context, src, dst *store.DB, tx *sql.Tx, table string) (int64, error) {
	cols, err := destColumns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		names[i] = `"` + c.name + `"`
		marks[i] = "?"
	}
	list := strings.Join(names, ", ")
	ins, err := tx.PrepareContext(ctx, dst.Rebind(`INSERT INTO `+table+` (`+list+`) OVERRIDING SYSTEM VALUE VALUES (`+strings.Join(marks, ", ")+`)`))
	if err != nil {
		return 0, fmt.Errorf("migrate: prepare %s: %w", table, err)
	}
	defer ins.Close()
	rows, err := src.Read.QueryContext(ctx, `SELECT `+list+` FROM `+table)
	if err != nil {
		return 0, fmt.Errorf("migrate: read %s: %w", table, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("migrate: read %s: %w", table, err)
		}
		args := make([]any, len(cols))
		for i, c := range cols {
			args[i] = convert(vals[i], c.pgType)
		}
		if _, err := ins.ExecContext(ctx, args...); err != nil {
			return n, fmt.Errorf("migrate: write %s row %d: %w", table, n+1, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("migrate: read %s: %w", table, err)
	}
	return n, nil
}

// convert maps an SQLite value (dynamically typed) to the destination
// column's type: numbers stored in REAL columns may come back as integers,
// text may come back as bytes.
func convert(v any, pgType string) any {
	switch x := v.(type) {
	case int64:
		if pgType == "double precision" || pgType == "real" {
			return float64(x)
		}
		if pgType == "text" {
			return fmt.Sprint(x)
		}
	case []byte:
		if pgType != "bytea" {
			return string(x)
		}
	case string:
		if pgType == "bytea" {
			return []byte(x)
		}
	}
	return v
}

// resetIdentities moves every identity sequence past the copied ids, so
// new rows do not collide with migrated ones.
func resetIdentities(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return fmt.Errorf("migrate: list identity columns: %w", err)
	}
	type ident struct{ table, col string }
	var ids []ident
	for rows.Next() {
		var i ident
		if err := rows.Scan(&i.table, &i.col); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: list identity columns: %w", err)
		}
		ids = append(ids, i)
	}
	rows.Close()
	for _, i := range ids {
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', '%s'), COALESCE((SELECT MAX(%s) FROM %s), 0) + 1, false)`, i.table, i.col, i.col, i.table)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrate: reset identity %s.%s: %w", i.table, i.col, err)
		}
	}
	return nil
}

// copyBlobs copies every object, skipping those already present with the
// same size (a migration run again after an interruption).
func copyBlobs(ctx context.Context, src, dst Blobs, rep *Report, log *slog.Logger) error {
	keys, err := src.List(ctx, "")
	if err != nil {
		return fmt.Errorf("migrate: list blobs: %w", err)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a, err := src.Attributes(ctx, k)
		if err != nil {
			return fmt.Errorf("migrate: blob %s: %w", k, err)
		}
		if d, err := dst.Attributes(ctx, k); err == nil && d.Size == a.Size {
			rep.BlobsSkipped++
			continue
		}
		r, err := src.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("migrate: blob %s: %w", k, err)
		}
		err = dst.Put(ctx, k, r, a.ContentType)
		r.Close()
		if err != nil {
			return fmt.Errorf("migrate: blob %s: %w", k, err)
		}
		d, err := dst.Attributes(ctx, k)
		if err != nil || d.Size != a.Size {
			return fmt.Errorf("migrate: blob %s: %d bytes arrived of %d (%v)", k, d.Size, a.Size, err)
		}
		rep.Blobs++
		rep.BlobBytes += a.Size
	}
	log.Info("migrate: blobs copied", "copied", rep.Blobs, "bytes", rep.BlobBytes, "skipped", rep.BlobsSkipped)
	return nil
}

// verify compares row counts table by table.
func verify(ctx context.Context, src, dst *store.DB, tables []string) error {
	var errs []error
	for _, t := range tables {
		var a, b int64
		if err := src.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&a); err != nil {
			return fmt.Errorf("migrate: verify %s: %w", t, err)
		}
		if err := dst.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&b); err != nil {
			return fmt.Errorf("migrate: verify %s: %w", t, err)
		}
		if a != b {
			errs = append(errs, fmt.Errorf("table %s: %d rows in the source, %d in the destination", t, a, b))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("migrate: verify: %w", errors.Join(errs...))
	}
	return nil
}
