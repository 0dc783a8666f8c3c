package video

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// StaleVideos returns the ready videos whose published document was matched
// against another catalog version than current, leaving out those with a
// workflow still running and those already re-matched (successfully or
// not) for this catalog version.
func (s *Service) StaleVideos(ctx context.Context, current string) ([]string, error) {
	in, err := json.Marshal(rematchInput{CatalogVersion: current})
	if err != nil {
		return nil, err
	}
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT v.id FROM videos v
		JOIN shoppable_docs d ON d.video_id = v.id AND d.version = v.doc_version
		WHERE v.state = ? AND d.catalog_version <> ?
		AND NOT EXISTS (SELECT 1 FROM workflows w WHERE w.subject = v.id AND w.kind IN (?, ?)
			AND (w.state NOT IN ('succeeded', 'failed', 'cancelled') OR (w.kind = ? AND w.input = ?)))
		ORDER BY v.id`), StateReady, current, KindAnalyze, KindRematch, KindRematch, string(in))
	if err != nil {
		return nil, fmt.Errorf("video: stale videos: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("video: stale videos: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// RematchStale enqueues a re-match of every stale video (see StaleVideos)
// and returns how many were enqueued.
func (s *Service) RematchStale(ctx context.Context) (int, error) {
	if s.deps.Catalog == nil || s.deps.Runner == nil {
		return 0, errors.New("video: rematch stale: needs a catalog and a runner")
	}
	cur, err := s.deps.Catalog.Version(ctx)
	if err != nil {
		return 0, fmt.Errorf("video: rematch stale: %w", err)
	}
	ids, err := s.StaleVideos(ctx, cur)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		if _, err := s.enqueueRematch(ctx, id, cur); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// WatchCatalog re-matches stale videos every interval (default 30 s) until
// ctx is done, so published documents follow catalog changes without any
// video being decoded again. Enable it in one process per installation.
func (s *Service) WatchCatalog(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.RematchStale(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("video: catalog watch", "err", err)
		case n > 0:
			s.log.Info("video: catalog changed, re-matching", "videos", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
