package migrate

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/blob/blobtest"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

// checks holds values for columns with a CHECK constraint.
var checks = map[string]any{"api_keys.scope": "read", "review_edits.action": "approve", "catalog_state.id": int64(1),
	"products.attributes": `{"material":"linen"}`}

// fill writes rows into every vitrine table of an SQLite database, n per
// table: integers are the row number (so foreign keys line up), text "k<i>",
// reals i+0.25, blobs random bytes, timestamps distinct UTC instants.
func fill(t *testing.T, db *store.DB, tables []string, n int) {
	t.Helper()
	ctx := context.Background()
	base := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)
	for _, table := range tables {
		rows, err := db.Read.QueryContext(ctx, `SELECT name, upper(type) FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		var cols, types []string
		for rows.Next() {
			var c, ty string
			rows.Scan(&c, &ty)
			cols, types = append(cols, c), append(types, ty)
		}
		rows.Close()
		for i := 1; i <= n; i++ {
			args := make([]any, len(cols))
			for j, c := range cols {
				switch v, ok := checks[table+"."+c]; {
				case ok:
					args[j] = v
				case strings.Contains(types[j], "INT"):
					args[j] = int64(i)
				case types[j] == "REAL":
					args[j] = float64(i) + 0.25
				case types[j] == "BLOB":
					b := make([]byte, 64)
					rand.Read(b)
					args[j] = b
				case types[j] == "TIMESTAMP":
					args[j] = base.Add(time.Duration(i) * time.Second)
				default:
					args[j] = fmt.Sprintf("k%d", i)
				}
			}
			q := `INSERT OR REPLACE INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
			if _, err := db.Write.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("fill %s: %v", table, err)
			}
		}
	}
}

// dump renders a table's rows in a dialect-neutral form, sorted.
func dump(t *testing.T, db *store.DB, table string) []string {
	t.Helper()
	rows, err := db.Read.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fields := make([]string, len(cols))
		for i, v := range vals {
			switch x := v.(type) {
			case time.Time:
				fields[i] = x.UTC().Format(time.RFC3339Nano)
			case []byte:
				fields[i] = hex.EncodeToString(x)
			case float64:
				fields[i] = fmt.Sprintf("%g", x)
			case nil:
				fields[i] = "NULL"
			default:
				fields[i] = fmt.Sprint(x)
			}
			fields[i] = cols[i] + "=" + fields[i]
		}
		sort.Strings(fields) // column order may differ between dialects
		out = append(out, strings.Join(fields, " "))
	}
	sort.Strings(out)
	return out
}

func TestMigrateEverything(t *testing.T) {
	ctx := context.Background()
	src := storetest.SQLite().Open(t)
	dst := storetest.Postgres().Open(t)
	tables, err := tableOrder(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, src, tables, 3)
	// Unfinished workflows block the migration until they are done.
	if _, err := src.Write.Exec(`UPDATE workflows SET state = 'running' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	srcBlobs, err := blob.Open(ctx, filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	defer srcBlobs.Close()
	dstBlobs, err := blob.Open(ctx, blobtest.S3URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dstBlobs.Close()
	objects := map[string][]byte{}
	for i, size := range []int{0, 100, 9 << 20} {
		b := make([]byte, size)
		rand.Read(b)
		key := fmt.Sprintf("videos/k%d/original.mp4", i)
		objects[key] = b
		if err := srcBlobs.Put(ctx, key, bytes.NewReader(b), "video/mp4"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Run(ctx, src, srcBlobs, dst, dstBlobs, nil); !errors.Is(err, ErrUnfinished) {
		t.Fatalf("migrate with a running workflow: %v, want ErrUnfinished", err)
	}
	src.Write.Exec(`UPDATE workflows SET state = 'succeeded'`)

	rep, err := Run(ctx, src, srcBlobs, dst, dstBlobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blobs != len(objects) {
		t.Errorf("copied %d blobs, want %d", rep.Blobs, len(objects))
	}
	for _, table := range tables {
		if rep.Rows[table] == 0 {
			t.Errorf("table %s: nothing copied", table)
		}
		a, b := dump(t, src, table), dump(t, dst, table)
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Errorf("table %s differs after migration:\nsource      %v\ndestination %v", table, a, b)
		}
	}
	for key, want := range objects {
		r, err := dstBlobs.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, want) {
			t.Errorf("blob %s: %d bytes, want %d", key, len(got), len(want))
		}
	}
	// New rows get ids after the migrated ones.
	var id int64
	if err := dst.Write.QueryRow(`INSERT INTO workflows(kind, state, created_at, updated_at) VALUES ('k', 'pending', now(), now()) RETURNING id`).Scan(&id); err != nil || id != 4 {
		t.Errorf("new workflow id %d (%v), want 4", id, err)
	}
	// Full-text search works on the migrated products.
	var n int
	dst.Read.QueryRow(`SELECT COUNT(*) FROM products_fts WHERE doc @@ to_tsquery('simple', 'k2')`).Scan(&n)
	if n != 1 {
		t.Errorf("full-text matches for a migrated title: %d, want 1", n)
	}
	// A second run refuses: the destination is not empty any more.
	if _, err := Run(ctx, src, srcBlobs, dst, dstBlobs, nil); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("second migration: %v, want ErrNotEmpty", err)
	}
}

func TestMigrateRefusesWrongDirection(t *testing.T) {
	ctx := context.Background()
	a := storetest.SQLite().Open(t)
	b := storetest.SQLite().Open(t)
	if _, err := Run(ctx, a, nil, b, nil, nil); err == nil || !strings.Contains(err.Error(), "want SQLite to PostgreSQL") {
		t.Errorf("SQLite to SQLite: %v", err)
	}
}
