package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
)

// ChangeChannel is the PostgreSQL notification channel on which every
// catalog version bump is announced (payload: the new version).
const ChangeChannel = "vitrine_catalog"

// followDebounce coalesces the burst of notifications of one import.
const followDebounce = 100 * time.Millisecond

// Follow keeps this node's index replica current with catalog changes made
// by any node sharing the PostgreSQL database, until ctx is done. It listens
// on ChangeChannel; on each burst of notifications it reads, in one
// snapshot, the catalog version and a fingerprint of every product (status,
// version, filter attributes and its vectors of the index's model),
// refreshes the products whose fingerprint changed, appeared or vanished,
// and stamps the index with the version. Each (re)connect catches up the
// same way, rebuilding from the stored vectors if the index is behind the
// version it was built at, so missed notifications cost a rebuild at worst.
// On SQLite (one process) it returns when ctx is done.
func (x *Index) Follow(ctx context.Context) error {
	db := x.store.db
	if db.Dialect != store.Postgres {
		<-ctx.Done()
		return nil
	}
	kick := make(chan struct{}, 1)
	resync := make(chan struct{}, 1)
	poke := func(c chan struct{}) {
		select {
		case c <- struct{}{}:
		default:
		}
	}
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- db.Listen(lctx, ChangeChannel, func() { poke(resync) }, func(string) { poke(kick) })
	}()
	var prints map[string]string // nil until the first sync
	for {
		select {
		case <-ctx.Done():
			<-done
			return nil
		case <-resync:
			p, err := x.resync(ctx)
			if err != nil {
				x.log.Warn("catalog: index replica catch-up failed", "err", err)
				poke(resync)
				sleepCtx(ctx, time.Second)
				continue
			}
			prints = p
		case <-kick:
			if prints == nil {
				continue // the first resync comes with the LISTEN
			}
			sleepCtx(ctx, followDebounce)
			select { // notifications during the pause are covered too
			case <-kick:
			default:
			}
			p, n, err := x.apply(ctx, prints)
			if err != nil {
				x.log.Warn("catalog: index replica update failed", "err", err)
				poke(kick)
				sleepCtx(ctx, time.Second)
				continue
			}
			prints = p
			if n > 0 {
				x.log.Debug("catalog: index replica updated", "products", n, "version", x.ix().Stamp())
			}
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// resync is the catch-up after (re)connecting: when the catalog moved past
// the version the index was built or last updated at, the index is rebuilt
// (its state is unknown); the fingerprints are read first, so the rebuild
// reflects at least their state and the next apply refreshes anything newer.
func (x *Index) resync(ctx context.Context) (map[string]string, error) {
	ver, prints, err := x.fingerprints(ctx)
	if err != nil {
		return nil, err
	}
	if uint64(ver) != x.ix().Stamp() {
		x.log.Info("catalog: index replica behind, rebuilding", "index_version", x.ix().Stamp(), "catalog_version", ver)
		if err := x.Rebuild(ctx, x.Dim()); err != nil {
			return nil, err
		}
	}
	return prints, nil
}

// apply refreshes the products whose fingerprint differs from old and
// returns the new fingerprints and how many products were refreshed.
func (x *Index) apply(ctx context.Context, old map[string]string) (map[string]string, int, error) {
	ver, prints, err := x.fingerprints(ctx)
	if err != nil {
		return nil, 0, err
	}
	var ids []string
	for id, fp := range prints {
		if old[id] != fp {
			ids = append(ids, id)
		}
	}
	for id := range old {
		if _, ok := prints[id]; !ok {
			ids = append(ids, id)
		}
	}
	for start := 0; start < len(ids); start += 500 {
		if err := x.Refresh(ctx, ids[start:min(start+500, len(ids))]); err != nil {
			return nil, 0, err
		}
	}
	x.mu.Lock()
	if uint64(ver) > x.ix().Stamp() {
		x.ix().SetStamp(uint64(ver))
	}
	x.mu.Unlock()
	return prints, len(ids), nil
}

// fingerprints reads the catalog version and, from the same snapshot, one
// string per product that changes whenever the product's entry in the
// index would.
func (x *Index) fingerprints(ctx context.Context) (int64, map[string]string, error) {
	db := x.store.db
	tx, err := db.Read.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return 0, nil, fmt.Errorf("catalog: read fingerprints: %w", err)
	}
	defer tx.Rollback()
	var ver int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM catalog_state WHERE id = 1`).Scan(&ver); err != nil {
		return 0, nil, fmt.Errorf("catalog: read fingerprints: %w", err)
	}
	rows, err := tx.QueryContext(ctx, db.Rebind(`SELECT p.id, p.status, p.version, p.category, p.availability, COALESCE(p.price, -1),
		COALESCE(v.n, 0), COALESCE(v.lo, ''), COALESCE(v.hi, ''), v.at
		FROM products p LEFT JOIN (SELECT product_seq, COUNT(*) AS n, MIN(image_sha256) AS lo, MAX(image_sha256) AS hi, MAX(created_at) AS at
			FROM product_vectors WHERE model = ? GROUP BY product_seq) v ON v.product_seq = p.seq`), x.model)
	if err != nil {
		return 0, nil, fmt.Errorf("catalog: read fingerprints: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, status, cat, avail, lo, hi string
		var version, n int64
		var price float64
		var at sql.NullTime
		if err := rows.Scan(&id, &status, &version, &cat, &avail, &price, &n, &lo, &hi, &at); err != nil {
			return 0, nil, fmt.Errorf("catalog: read fingerprints: %w", err)
		}
		out[id] = status + "|" + strconv.FormatInt(version, 10) + "|" + cat + "|" + avail + "|" +
			strconv.FormatFloat(price, 'g', -1, 64) + "|" + strconv.FormatInt(n, 10) + "|" + lo + "|" + hi + "|" +
			at.Time.UTC().Format(time.RFC3339Nano)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("catalog: read fingerprints: %w", err)
	}
	return ver, out, nil
}
