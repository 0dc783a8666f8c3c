package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
	"github.com/vitrine-dev/vitrine/internal/vecindex"
)

// node is one process's view of a shared catalog: its own connection pool,
// store and index replica.
type node struct {
	st *Store
	ix *Index
}

func openNode(t *testing.T, dsn string) node {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := NewStore(db)
	ix, err := OpenIndex(context.Background(), st, nil, "m", 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	return node{st: st, ix: ix}
}

// putReady writes a ready product with one crop vector, as a finished
// ingestion would, bumping the catalog version.
func putReady(t *testing.T, st *Store, id, category string, vec []float32) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Upsert(ctx, Product{ID: id, Title: id, Category: category, Availability: "in_stock"}); err != nil {
		t.Fatal(err)
	}
	db := st.DB()
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		var seq int64
		if err := tx.QueryRowContext(ctx, db.Rebind(`SELECT seq FROM products WHERE id = ?`), id).Scan(&seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM product_vectors WHERE product_seq = ?`), seq); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO product_vectors(product_seq, image_sha256, kind, model, dim, vector, created_at)
			VALUES (?, ?, ?, 'm', 4, ?, ?)`), seq, fmt.Sprintf("%064x", len(id)), KindCrop, encodeVector(vec), time.Now().UTC()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE products SET status = 'ready' WHERE seq = ?`), seq); err != nil {
			return err
		}
		_, err := st.bump(ctx, tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls the replica's answer to q until it equals want.
func eventually(t *testing.T, ix *Index, q []float32, f *vecindex.Filter, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		hits, err := ix.Search(q, 5, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, h := range hits {
			ids = append(ids, h.Product)
		}
		if got = strings.Join(ids, ","); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("replica search = %q, want %q", got, want)
}

// TestIndexReplicaFollowsChanges runs two nodes on one PostgreSQL database:
// products added, changed and deleted through node A appear in node B's
// index replica without any call on B, and a replica that was not following
// while changes happened catches up when it starts following again.
func TestIndexReplicaFollowsChanges(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	a, b := openNode(t, dsn), openNode(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.ix.Follow(ctx) }()

	red, blue := []float32{1, 0, 0, 0}, []float32{0, 1, 0, 0}
	putReady(t, a.st, "red-dress", "dress", red)
	putReady(t, a.st, "blue-shirt", "shirt", blue)
	eventually(t, b.ix, red, nil, "red-dress,blue-shirt")
	eventually(t, b.ix, blue, &vecindex.Filter{Categories: []string{"shirt"}}, "blue-shirt")

	// A changed vector and category on A move the product on B.
	putReady(t, a.st, "red-dress", "shirt", []float32{0, 0.9, 0.1, 0})
	eventually(t, b.ix, blue, &vecindex.Filter{Categories: []string{"shirt"}}, "blue-shirt,red-dress")
	if err := a.st.Delete(context.Background(), "blue-shirt"); err != nil {
		t.Fatal(err)
	}
	eventually(t, b.ix, blue, nil, "red-dress")

	// Stop following, change the catalog, follow again: B catches up.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	putReady(t, a.st, "green-hat", "hat", []float32{0, 0, 1, 0})
	if err := a.st.Delete(context.Background(), "red-dress"); err != nil {
		t.Fatal(err)
	}
	if hits, _ := b.ix.Search([]float32{0, 0, 1, 0}, 5, nil); len(hits) != 1 || hits[0].Product != "red-dress" {
		t.Fatalf("replica changed while not following: %+v", hits)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go b.ix.Follow(ctx2)
	eventually(t, b.ix, []float32{0, 0, 1, 0}, nil, "green-hat")
	ver, _ := a.st.Version(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for b.ix.ix().Stamp() != uint64(ver) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if b.ix.ix().Stamp() != uint64(ver) {
		t.Errorf("replica stamped %d, catalog at %d", b.ix.ix().Stamp(), ver)
	}
}
