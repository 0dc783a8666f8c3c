package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vitrine-dev/vitrine/internal/vecindex"
)

// SnapshotPrefix is the blob key prefix of index snapshots.
const SnapshotPrefix = "index/catalog-"

// SnapshotKey returns the blob key of the snapshot stamped with version.
func SnapshotKey(version int64) string {
	return SnapshotPrefix + strconv.FormatInt(version, 10) + ".hnsw"
}

// Index is the catalog's vector index: the crop and whole-image vectors of
// ready products, grouped by product id, with category, availability and
// price as filter attributes. It is built from stored vectors, snapshotted
// to the blob store and loaded from the snapshot when it is current.
type Index struct {
	store *Store
	blobs Blobs
	model string
	log   *slog.Logger

	// mu serialises updates, rebuilds and snapshots; searches only load
	// the current graph (vecindex is safe for concurrent use).
	mu  sync.Mutex
	cur atomic.Pointer[vecindex.Index]
}

func (x *Index) ix() *vecindex.Index { return x.cur.Load() }

// OpenIndex loads the snapshot stamped with the current catalog version, or
// rebuilds the index from the vectors of model stored in the database (and
// saves a snapshot) when it is missing, stale or unreadable.
func OpenIndex(ctx context.Context, st *Store, blobs Blobs, model string, dim int, log *slog.Logger) (*Index, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	x := &Index{store: st, blobs: blobs, model: model, log: log}
	ver, err := st.Version(ctx)
	if err != nil {
		return nil, err
	}
	if blobs != nil {
		ix, err := x.load(ctx, ver, dim)
		if err == nil {
			x.cur.Store(ix)
			log.Info("catalog: index loaded from snapshot", "version", ver, "vectors", ix.Len())
			return x, nil
		}
		log.Info("catalog: rebuilding index", "version", ver, "reason", err)
	}
	if err := x.Rebuild(ctx, dim); err != nil {
		return nil, err
	}
	if blobs != nil {
		if err := x.Snapshot(ctx); err != nil {
			log.Warn("catalog: index snapshot failed", "err", err)
		}
	}
	return x, nil
}

func (x *Index) load(ctx context.Context, ver int64, dim int) (*vecindex.Index, error) {
	r, err := x.blobs.Get(ctx, SnapshotKey(ver))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ix, err := vecindex.Load(r)
	if err != nil {
		return nil, err
	}
	if ix.Stamp() != uint64(ver) || ix.Dim() != dim {
		return nil, fmt.Errorf("snapshot stamp %d dim %d, want %d and %d", ix.Stamp(), ix.Dim(), ver, dim)
	}
	return ix, nil
}

// Rebuild replaces the index with one built from the stored vectors.
func (x *Index) Rebuild(ctx context.Context, dim int) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	ver, err := x.store.Version(ctx)
	if err != nil {
		return err
	}
	ix, err := vecindex.New(vecindex.Config{Dim: dim, Seed: 1})
	if err != nil {
		return fmt.Errorf("catalog: build index: %w", err)
	}
	err = x.store.EachVector(ctx, x.model, func(v Vector, p Product) error {
		if !Indexed(v.Kind) {
			return nil
		}
		return ix.Upsert(VectorID(v), v.Vec, AttrsOf(p))
	})
	if err != nil {
		return fmt.Errorf("catalog: build index: %w", err)
	}
	ix.SetStamp(uint64(ver))
	x.cur.Store(ix)
	return nil
}

// VectorID is the id of v in an index of catalog vectors: product, kind
// and image, so one product's vectors of one image and kind replace each
// other.
func VectorID(v Vector) string {
	return v.ProductID + "#" + v.Kind + "#" + v.Image[:min(16, len(v.Image))]
}

// AttrsOf returns the filter attributes of p's vectors in an index.
func AttrsOf(p Product) vecindex.Attrs {
	a := vecindex.Attrs{Product: p.ID, Category: strings.ToLower(p.Category), Availability: p.Availability}
	if p.Price != nil {
		a.Price = *p.Price
	}
	return a
}

// Len returns the number of vectors in the index.
func (x *Index) Len() int {
	return x.ix().Len()
}

// Dim returns the vector dimension.
func (x *Index) Dim() int {
	return x.ix().Dim()
}

// Refresh re-reads the given products from the database and replaces their
// vectors in the index: ready products are (re)inserted, others removed.
func (x *Index) Refresh(ctx context.Context, ids []string) error {
	return x.refresh(ctx, ids, nil)
}

// refresh is Refresh; products in unchanged whose vectors are all in the
// index already are left alone, so re-importing an unchanged file does not
// churn the graph.
func (x *Index) refresh(ctx context.Context, ids []string, unchanged map[string]bool) error {
	ps, err := x.store.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	byID := map[string]Product{}
	for _, p := range ps {
		byID[p.ID] = p
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	ix := x.ix()
	for _, id := range ids {
		p, ok := byID[id]
		if !ok || p.Status != StatusReady {
			ix.DeleteProduct(id)
			continue
		}
		all, err := x.store.ProductVectors(ctx, id)
		if err != nil {
			return err
		}
		vs := all[:0]
		for _, v := range all {
			if v.Model == x.model && Indexed(v.Kind) {
				vs = append(vs, v)
			}
		}
		if unchanged[id] && len(vs) > 0 {
			present := true
			for _, v := range vs {
				present = present && ix.Has(VectorID(v))
			}
			if present {
				continue
			}
		}
		ix.DeleteProduct(id)
		for _, v := range vs {
			if err := ix.Upsert(VectorID(v), v.Vec, AttrsOf(p)); err != nil {
				return fmt.Errorf("catalog: index %s: %w", id, err)
			}
		}
	}
	return nil
}

// Remove deletes a product's vectors from the index.
func (x *Index) Remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.ix().DeleteProduct(id)
}

// Search returns the k nearest products to q.
func (x *Index) Search(q []float32, k int, f *vecindex.Filter) ([]vecindex.Hit, error) {
	return x.ix().Search(q, k, f)
}

// Snapshot stamps the index with the current catalog version and writes it
// to the blob store, then removes older snapshots. When the index does not
// hold as many vectors as the database has for ready products (another
// process changed the catalog, for example a CLI delete next to a running
// server), it is rebuilt first, so a snapshot never records a stale graph.
func (x *Index) Snapshot(ctx context.Context) error {
	if x.blobs == nil {
		return nil
	}
	stored, err := x.store.countVectors(ctx, x.model)
	if err != nil {
		return err
	}
	if stored != x.Len() {
		x.log.Info("catalog: index out of step with the database, rebuilding", "index", x.Len(), "stored", stored)
		if err := x.Rebuild(ctx, x.Dim()); err != nil {
			return err
		}
	}
	x.mu.Lock()
	ver, err := x.store.Version(ctx)
	if err != nil {
		x.mu.Unlock()
		return err
	}
	x.ix().SetStamp(uint64(ver))
	var buf bytes.Buffer
	err = x.ix().Save(&buf)
	x.mu.Unlock()
	if err != nil {
		return fmt.Errorf("catalog: snapshot index: %w", err)
	}
	key := SnapshotKey(ver)
	if err := x.blobs.Put(ctx, key, &buf, "application/octet-stream"); err != nil {
		return fmt.Errorf("catalog: snapshot index: %w", err)
	}
	// Older snapshots are garbage once a newer one is stored.
	if lb, ok := x.blobs.(interface {
		List(ctx context.Context, prefix string) ([]string, error)
		Delete(ctx context.Context, key string) error
	}); ok {
		keys, err := lb.List(ctx, SnapshotPrefix)
		if err != nil {
			return nil
		}
		for _, k := range keys {
			if k != key {
				if err := lb.Delete(ctx, k); err != nil {
					x.log.Warn("catalog: remove old snapshot", "key", k, "err", err)
				}
			}
		}
	}
	return nil
}

// IndexBatch is the "index" stage: it refreshes every product of the batch
// in the index and saves a snapshot.
func (in *Ingester) IndexBatch(ctx context.Context, batch int64, progress ProgressFunc) error {
	if in.Index == nil {
		return nil
	}
	db := in.Store.db
	after := -1
	var done int64
	var total int64
	_ = db.Read.QueryRowContext(ctx, db.Rebind(`SELECT COUNT(*) FROM catalog_batch_rows WHERE batch_id = ? AND product_id <> ''`), batch).Scan(&total)
	for {
		rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT line, product_id, status FROM catalog_batch_rows
			WHERE batch_id = ? AND line > ? AND product_id <> '' ORDER BY line LIMIT 1000`), batch, after)
		if err != nil {
			return fmt.Errorf("catalog: index batch: %w", err)
		}
		var ids []string
		unchanged := map[string]bool{}
		for rows.Next() {
			var id, status string
			if err := rows.Scan(&after, &id, &status); err != nil {
				rows.Close()
				return fmt.Errorf("catalog: index batch: %w", err)
			}
			ids = append(ids, id)
			unchanged[id] = status == OutcomeUnchanged
		}
		rows.Close()
		if len(ids) == 0 {
			break
		}
		if err := in.Index.refresh(ctx, ids, unchanged); err != nil {
			return err
		}
		done += int64(len(ids))
		if progress != nil {
			progress(Progress{Step: "index", Done: done, Total: total})
		}
	}
	return in.Index.Snapshot(ctx)
}

// errIndexNotReady is returned by searches that need vectors when no index
// is configured.
var errIndexNotReady = errors.New("catalog: image search needs an embedder and an index")
