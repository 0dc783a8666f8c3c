package video

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/jobs"
)

// ErrTooLarge is returned by Add when the upload exceeds the size limit.
var ErrTooLarge = errors.New("video: upload exceeds the size limit")

// countingReader counts bytes and fails once more than limit were read.
type countingReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.limit > 0 && c.n > c.limit {
		return n, ErrTooLarge
	}
	return n, err
}

// Add streams an uploaded video to the blob store (at most maxBytes when
// positive), records it and enqueues its analysis workflow in the same
// transaction. source names where it came from (a file name or URL).
func (s *Service) Add(ctx context.Context, r io.Reader, source string, maxBytes int64) (Video, error) {
	if s.deps.Runner == nil {
		return Video{}, errors.New("video: add: no workflow runner")
	}
	id := NewID()
	key := SourceKey(id)
	cr := &countingReader{r: r, limit: maxBytes}
	if err := s.deps.Blobs.Put(ctx, key, cr, contentType(source)); err != nil {
		if errors.Is(err, ErrTooLarge) || cr.limit > 0 && cr.n > cr.limit {
			s.deleteBlob(ctx, key)
			return Video{}, fmt.Errorf("%w (%d bytes)", ErrTooLarge, maxBytes)
		}
		return Video{}, fmt.Errorf("video: add: store upload: %w", err)
	}
	if cr.n == 0 {
		s.deleteBlob(ctx, key)
		return Video{}, errors.New("video: add: empty upload")
	}
	now := s.now()
	db := s.deps.DB
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO videos(id, source, blob_key, size_bytes, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			id, source, key, cr.n, StateQueued, now, now); err != nil {
			return err
		}
		wf, err := s.deps.Runner.EnqueueTx(ctx, tx, KindAnalyze, id, nil)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.Rebind(`UPDATE videos SET workflow_id = ? WHERE id = ?`), wf, id)
		return err
	})
	if err != nil {
		s.deleteBlob(ctx, key)
		return Video{}, fmt.Errorf("video: add: %w", err)
	}
	s.deps.Runner.Wake(ctx)
	return s.Get(ctx, id)
}

func (s *Service) deleteBlob(ctx context.Context, key string) {
	if d, ok := s.deps.Blobs.(interface {
		Delete(context.Context, string) error
	}); ok {
		if err := d.Delete(context.WithoutCancel(ctx), key); err != nil {
			s.log.Warn("video: delete rejected upload", "key", key, "err", err)
		}
	}
}

func contentType(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".mp4", ".m4v":
		return "video/mp4"
	case ".mov":
		return "video/quicktime"
	case ".webm":
		return "video/webm"
	case ".mkv":
		return "video/x-matroska"
	}
	return "application/octet-stream"
}

// Rematch enqueues the re-match workflow (match, assemble, publish) of a
// video whose analysis finished, using its stored track embeddings.
func (s *Service) Rematch(ctx context.Context, id string) (int64, error) {
	if s.deps.Runner == nil {
		return 0, errors.New("video: rematch: no workflow runner")
	}
	v, err := s.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	if v.State != StateReady {
		return 0, fmt.Errorf("video: rematch %s: video is %s, not ready", id, v.State)
	}
	return s.enqueueRematch(ctx, id, "")
}

// rematchInput is the input of a re-match workflow started for a catalog
// change: the catalog version it was started for.
type rematchInput struct {
	CatalogVersion string `json:"catalog_version"`
}

func (s *Service) enqueueRematch(ctx context.Context, id, catalogVersion string) (int64, error) {
	var input any
	if catalogVersion != "" {
		input = rematchInput{CatalogVersion: catalogVersion}
	}
	wf, err := s.deps.Runner.Enqueue(ctx, KindRematch, id, input)
	if err != nil {
		return 0, fmt.Errorf("video: rematch %s: %w", id, err)
	}
	return wf, nil
}

// Republish enqueues the workflow that assembles and publishes a new
// document version from the stored matches (after review edits).
func (s *Service) Republish(ctx context.Context, id string) (int64, error) {
	if s.deps.Runner == nil {
		return 0, errors.New("video: republish: no workflow runner")
	}
	v, err := s.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	if v.State != StateReady {
		return 0, fmt.Errorf("video: republish %s: video is %s, not ready", id, v.State)
	}
	wf, err := s.deps.Runner.Enqueue(ctx, KindRepublish, id, nil)
	if err != nil {
		return 0, fmt.Errorf("video: republish %s: %w", id, err)
	}
	return wf, nil
}

// RematchAll enqueues a re-match of every ready video, for example after a
// catalog change. It returns how many were enqueued.
func (s *Service) RematchAll(ctx context.Context) (int, error) {
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT id FROM videos WHERE state = ? ORDER BY id`), StateReady)
	if err != nil {
		return 0, fmt.Errorf("video: rematch all: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("video: rematch all: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	n := 0
	for _, id := range ids {
		if _, err := s.Rematch(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Workflow returns the latest workflow of the video (analysis or re-match)
// with every step's state, timing and error.
func (s *Service) Workflow(ctx context.Context, id string) (*jobs.Workflow, error) {
	if s.deps.Runner == nil {
		return nil, errors.New("video: workflow: no workflow runner")
	}
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	db := s.deps.DB
	var wf int64
	err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT id FROM workflows WHERE subject = ? AND kind IN (?, ?, ?) ORDER BY id DESC LIMIT 1`),
		id, KindAnalyze, KindRematch, KindRepublish).Scan(&wf)
	if err != nil {
		return nil, fmt.Errorf("video: workflow of %s: %w", id, err)
	}
	return s.deps.Runner.Workflow(ctx, wf)
}

// Shoppable returns the published (else latest) shoppable JSON document of
// a video and its WebVTT track.
func (s *Service) Shoppable(ctx context.Context, id string) (doc, vtt []byte, err error) {
	db := s.deps.DB
	var d, v string
	err = db.Read.QueryRowContext(ctx, db.Rebind(`SELECT doc, vtt FROM shoppable_docs WHERE video_id = ?
		ORDER BY CASE WHEN published_at IS NULL THEN 0 ELSE 1 END DESC, version DESC LIMIT 1`), id).Scan(&d, &v)
	if errors.Is(err, sql.ErrNoRows) {
		if _, gerr := s.Get(ctx, id); gerr != nil {
			return nil, nil, gerr
		}
		return nil, nil, fmt.Errorf("%w: video %s has no shoppable document yet", ErrNotFound, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("video: shoppable %s: %w", id, err)
	}
	return []byte(d), []byte(v), nil
}

// Shot is one stored shot of a video.
type Shot struct {
	Index      int     `json:"index"`
	StartS     float64 `json:"start_s"`
	EndS       float64 `json:"end_s"`
	StartFrame int     `json:"start_frame"`
	EndFrame   int     `json:"end_frame"`
	Transition string  `json:"transition"`
	KeyframeS  float64 `json:"keyframe_s"`
	Thumbnail  string  `json:"thumbnail,omitempty"`
}

// Shots returns the stored shots of a video.
func (s *Service) Shots(ctx context.Context, id string) ([]Shot, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.loadShots(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("video: shots of %s: %w", id, err)
	}
	out := make([]Shot, len(rows))
	for i, r := range rows {
		out[i] = Shot{Index: r.Index, StartS: r.StartS, EndS: r.EndS, StartFrame: r.StartFrame, EndFrame: r.EndFrame,
			Transition: r.Transition, KeyframeS: r.KeyframeS, Thumbnail: r.Thumbnail}
	}
	return out, nil
}

// Thumbnail opens the keyframe thumbnail (JPEG) of a shot.
func (s *Service) Thumbnail(ctx context.Context, id string, shot int) (io.ReadCloser, error) {
	shots, err := s.Shots(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, sh := range shots {
		if sh.Index == shot && sh.Thumbnail != "" {
			return s.deps.Blobs.Get(ctx, sh.Thumbnail)
		}
	}
	return nil, fmt.Errorf("%w: video %s has no thumbnail for shot %d", ErrNotFound, id, shot)
}
