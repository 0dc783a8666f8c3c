package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

// TestMigrationTwins fails when a migration exists for one dialect only:
// both engines must reach the same schema version through the same steps.
func TestMigrationTwins(t *testing.T) {
	lite, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := store.Migrations(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []store.Migration) map[int]string {
		out := map[int]string{}
		for _, m := range ms {
			out[m.Version] = m.Name
		}
		return out
	}
	ln, pn := names(lite), names(pg)
	for v, n := range ln {
		if pn[v] != n {
			t.Errorf("sqlite migration %04d_%s has no postgres twin migrations/postgres/%04d_%s.sql", v, n, v, n)
		}
	}
	for v, n := range pn {
		if _, ok := ln[v]; !ok {
			t.Errorf("postgres migration %04d_%s has no sqlite twin", v, n)
		}
	}
}

// TestStoreSuite runs the store conformance suite against every dialect.
func TestStoreSuite(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) {
			for _, tc := range storeSuite {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, o) })
			}
		})
	}
}

var storeSuite = []struct {
	name string
	fn   func(t *testing.T, o storetest.Opener)
}{
	{"MigratesToLatest", testMigratesToLatest},
	{"SchemaMatchesSQLite", testSchemaMatchesSQLite},
	{"ReopenIsNoOp", testReopenIsNoOp},
	{"ConcurrentOpenMigratesOnce", testConcurrentOpen},
	{"ValuesRoundTrip", testValuesRoundTrip},
	{"ReturningAndUpsert", testReturningAndUpsert},
	{"TxRollsBackOnError", testTxRollback},
	{"FullTextTriggers", testFullTextTriggers},
	{"WithLockExcludes", testWithLock},
	{"NotifyAfterCommit", testNotify},
}

func testMigratesToLatest(t *testing.T, o storetest.Opener) {
	ctx := context.Background()
	db := o.Open(t)
	ms, err := store.Migrations(db.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil || v != ms[len(ms)-1].Version {
		t.Fatalf("schema version %d (%v), want %d", v, err, ms[len(ms)-1].Version)
	}
	var n int
	if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("%d migrations recorded (%v), want %d", n, err, len(ms))
	}
}

// schema returns table → sorted column names, without the full-text
// machinery that differs by design (FTS5 shadow tables, products_fts).
func schema(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	q := `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'`
	if db.Dialect == store.Postgres {
		q = `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`
	}
	rows, err := db.Read.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols := map[string][]string{}
	for rows.Next() {
		var tbl, col string
		if err := rows.Scan(&tbl, &col); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(tbl, "products_fts") || strings.HasPrefix(tbl, "sqlite_") || strings.HasPrefix(tbl, "river_") {
			continue
		}
		cols[tbl] = append(cols[tbl], col)
	}
	out := map[string]string{}
	for tbl, cs := range cols {
		sort.Strings(cs)
		out[tbl] = strings.Join(cs, ",")
	}
	return out
}

func testSchemaMatchesSQLite(t *testing.T, o storetest.Opener) {
	got := schema(t, o.Open(t))
	want := schema(t, storetest.SQLite().Open(t))
	if len(want) < 10 {
		t.Fatalf("only %d tables in the SQLite schema", len(want))
	}
	for tbl, cols := range want {
		if got[tbl] != cols {
			t.Errorf("table %s: columns %q, want %q", tbl, got[tbl], cols)
		}
	}
	for tbl := range got {
		if _, ok := want[tbl]; !ok {
			t.Errorf("table %s exists only in %s", tbl, o.Name)
		}
	}
}

func testReopenIsNoOp(t *testing.T, o storetest.Opener) {
	ctx := context.Background()
	dsn := o.DSN(t)
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`INSERT INTO settings(key, value) VALUES (?, ?)`), "kept", "yes"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var kept string
	if err := db.Read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'kept'`).Scan(&kept); err != nil || kept != "yes" {
		t.Fatalf("kept = %q, %v", kept, err)
	}
	ms, _ := store.Migrations(db.Dialect)
	var n int
	db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if n != len(ms) {
		t.Fatalf("%d schema_migrations rows after reopen, want %d", n, len(ms))
	}
}

func testConcurrentOpen(t *testing.T, o storetest.Opener) {
	if o.Name == "sqlite" {
		t.Skip("one process owns an SQLite database (data-dir lock)")
	}
	ctx := context.Background()
	dsn := o.DSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := store.Open(ctx, dsn)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent open: %v", err)
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, _ := store.Migrations(db.Dialect)
	var n int
	db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n)
	if n != len(ms) {
		t.Fatalf("%d schema_migrations rows, want %d", n, len(ms))
	}
}

func testValuesRoundTrip(t *testing.T, o storetest.Opener) {
	ctx := context.Background()
	db := o.Open(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
	vec := []byte{0, 1, 2, 0xff, 0x80, 0}
	price := 0.1 + 0.2 // not representable in float32
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var seq int64
		if err := tx.QueryRowContext(ctx, db.Rebind(`INSERT INTO products(id, title, price, record_hash, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`), "p1", "Crème brûlée ? 'quoted'", price, "h", 1, now, now).Scan(&seq); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO product_vectors(product_seq, image_sha256, kind, model, dim, vector, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), seq, "abc", "crop", "m", 1, vec, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var title string
	var gotPrice float64
	var rating sql.NullFloat64
	var created time.Time
	var gotVec []byte
	err = db.Read.QueryRowContext(ctx, db.Rebind(`SELECT p.title, p.price, p.rating, p.created_at, v.vector FROM products p
		JOIN product_vectors v ON v.product_seq = p.seq WHERE p.id = ? AND p.title <> '?'`), "p1").
		Scan(&title, &gotPrice, &rating, &created, &gotVec)
	if err != nil {
		t.Fatal(err)
	}
	if title != "Crème brûlée ? 'quoted'" || gotPrice != price || rating.Valid || !bytes.Equal(gotVec, vec) {
		t.Errorf("read back title %q price %v rating %v vector %v", title, gotPrice, rating, gotVec)
	}
	if _, off := created.Zone(); !created.Equal(now) || off != 0 {
		t.Errorf("created_at %v (%s), want %v in UTC", created, created.Location(), now)
	}
	big := int64(math.MaxInt32) * 4
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`UPDATE workflow_steps SET progress_total = ? WHERE workflow_id = ?`), big, 1); err != nil {
		t.Errorf("64-bit counter: %v", err)
	}
}

func testReturningAndUpsert(t *testing.T, o storetest.Opener) {
	ctx := context.Background()
	db := o.Open(t)
	now := time.Now().UTC()
	var ids []int64
	for i := range 3 {
		var id int64
		if err := db.Write.QueryRowContext(ctx, db.Rebind(`INSERT INTO workflows(kind, state, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id`),
			"k", "pending", now, now).Scan(&id); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
		ids = append(ids, id)
	}
	if ids[0] <= 0 || ids[1] != ids[0]+1 || ids[2] != ids[1]+1 {
		t.Errorf("ids %v are not increasing by one", ids)
	}
	up := db.Rebind(`INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`)
	for _, v := range []string{"one", "two"} {
		if _, err := db.Write.ExecContext(ctx, up, "k", v); err != nil {
			t.Fatal(err)
		}
	}
	var v string
	var n int
	db.Read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'k'`).Scan(&v)
	db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM settings`).Scan(&n)
	if v != "two" || n != 1 {
		t.Errorf("after upsert: value %q, %d rows", v, n)
	}
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`), "k", "three"); err != nil {
		t.Fatal(err)
	}
	db.Read.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'k'`).Scan(&v)
	if v != "two" {
		t.Errorf("DO NOTHING changed the value to %q", v)
	}
}

func testTxRollback(t *testing.T, o storetest.Opener) {
	ctx := context.Background()
	db := o.Open(t)
	boom := errors.New("boom")
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO settings(key, value) VALUES (?, ?)`), "gone", "x"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx error %v, want boom", err)
	}
	var n int
	db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM settings WHERE key = 'gone'`).Scan(&n)
	if n != 0 {
		t.Error("rolled-back row is visible")
	}
	// A constraint violation is an error on both engines.
	_, err = db.Write.ExecContext(ctx, db.Rebind(`INSERT INTO api_keys(prefix, hash, scope, created_at) VALUES (?, ?, ?, ?)`), "p", "h", "root", time.Now().UTC())
	if err == nil {
		t.Error("CHECK constraint on api_keys.scope not enforced")
	}
}

// testFullTextTriggers checks that the full-text table follows inserts,
// updates and deletes of products on both engines.
func testFullTextTriggers(t *testing.T, o storetest.Opener) {
	ctx := context.Background()
	db := o.Open(t)
	now := time.Now().UTC()
	ins := db.Rebind(`INSERT INTO products(id, title, brand, attributes, record_hash, version, created_at, updated_at) VALUES (?, ?, ?, ?, 'h', 1, ?, ?)`)
	if _, err := db.Write.ExecContext(ctx, ins, "a", "Red dress", "Acme", `{"material":"linen"}`, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.ExecContext(ctx, ins, "b", "Blue jeans", "Denimco", `{}`, now, now); err != nil {
		t.Fatal(err)
	}
	match := func(word string) []string {
		q := `SELECT p.id FROM products_fts JOIN products p ON p.seq = products_fts.rowid WHERE products_fts MATCH ? ORDER BY p.id`
		arg := word
		if db.Dialect == store.Postgres {
			q = `SELECT p.id FROM products_fts f JOIN products p ON p.seq = f.seq WHERE f.doc @@ to_tsquery('simple', $1) ORDER BY p.id`
		}
		rows, err := db.Read.QueryContext(ctx, q, arg)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			rows.Scan(&id)
			ids = append(ids, id)
		}
		return ids
	}
	check := func(word, want string) {
		t.Helper()
		if got := strings.Join(match(word), ","); got != want {
			t.Errorf("match %q = %q, want %q", word, got, want)
		}
	}
	check("linen", "a")
	check("acme", "a")
	check("jeans", "b")
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`UPDATE products SET title = ? WHERE id = ?`), "Green jeans", "a"); err != nil {
		t.Fatal(err)
	}
	check("jeans", "a,b")
	check("dress", "")
	if _, err := db.Write.ExecContext(ctx, db.Rebind(`DELETE FROM products WHERE id = ?`), "b"); err != nil {
		t.Fatal(err)
	}
	check("jeans", "a")
}

func testWithLock(t *testing.T, o storetest.Opener) {
	ctx := context.Background()
	db := o.Open(t)
	var mu sync.Mutex
	inside, maxInside := 0, 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.WithLock(ctx, "test", func() error {
				mu.Lock()
				inside++
				maxInside = max(maxInside, inside)
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				inside--
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if o.Name == "postgres" && maxInside != 1 {
		t.Errorf("%d holders at once", maxInside)
	}
	boom := errors.New("boom")
	if err := db.WithLock(ctx, "test", func() error { return boom }); !errors.Is(err, boom) {
		t.Errorf("WithLock returned %v, want fn's error", err)
	}
}

func testNotify(t *testing.T, o storetest.Opener) {
	if o.Name == "sqlite" {
		t.Skip("an SQLite database has one process: nothing to notify")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db := o.Open(t)
	got := make(chan string, 10)
	ready := make(chan struct{}, 10)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- db.Listen(lctx, "vitrine_test", func() { ready <- struct{}{} }, func(p string) { got <- p })
	}()
	<-ready
	send := func(payload string, commit bool) {
		tx, err := db.Write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Notify(ctx, tx, "vitrine_test", payload); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	send("rolled back", false)
	send("committed", true)
	select {
	case p := <-got:
		if p != "committed" {
			t.Errorf("first notification %q, want the committed one", p)
		}
	case <-ctx.Done():
		t.Fatal("no notification")
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Listen: %v", err)
	}
}
