package video

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

// ErrNotFound is returned when a video id is unknown.
var ErrNotFound = errors.New("video: not found")

// Video is the stored record of a video.
type Video struct {
	ID         string     `json:"id"`
	Source     string     `json:"source,omitempty"`
	BlobKey    string     `json:"blob_key"`
	SizeBytes  int64      `json:"size_bytes"`
	State      string     `json:"state"`
	Error      string     `json:"error,omitempty"`
	WorkflowID int64      `json:"workflow_id,omitempty"`
	DurationS  float64    `json:"duration_s"`
	Width      int        `json:"width"`
	Height     int        `json:"height"`
	FPS        float64    `json:"fps"`
	Rotation   int        `json:"rotation"`
	FrameCount int        `json:"frame_count"`
	VideoCodec string     `json:"video_codec,omitempty"`
	AudioCodec string     `json:"audio_codec,omitempty"`
	DocVersion int        `json:"doc_version"`
	Detector   string     `json:"detector,omitempty"`
	Embedder   string     `json:"embedder,omitempty"`
	Appearance string     `json:"appearance,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	ReadyAt    *time.Time `json:"ready_at,omitempty"`
}

const videoCols = `id, source, blob_key, size_bytes, state, error, COALESCE(workflow_id, 0), duration_s, width, height, fps, rotation,
	frame_count, video_codec, audio_codec, doc_version, detector, embedder, appearance, created_at, updated_at, ready_at`

func scanVideo(sc interface{ Scan(...any) error }) (Video, error) {
	var v Video
	var ready sql.NullTime
	err := sc.Scan(&v.ID, &v.Source, &v.BlobKey, &v.SizeBytes, &v.State, &v.Error, &v.WorkflowID, &v.DurationS, &v.Width, &v.Height,
		&v.FPS, &v.Rotation, &v.FrameCount, &v.VideoCodec, &v.AudioCodec, &v.DocVersion, &v.Detector, &v.Embedder, &v.Appearance, &v.CreatedAt, &v.UpdatedAt, &ready)
	if ready.Valid {
		t := ready.Time
		v.ReadyAt = &t
	}
	return v, err
}

// Get returns the stored video id.
func (s *Service) Get(ctx context.Context, id string) (Video, error) {
	db := s.deps.DB
	v, err := scanVideo(db.Read.QueryRowContext(ctx, db.Rebind(`SELECT `+videoCols+` FROM videos WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return v, fmt.Errorf("video: get %s: %w", id, err)
	}
	if (v.State == StateQueued || v.State == StateProcessing) && v.WorkflowID > 0 {
		// A step that failed for good (after its retries) leaves the row
		// as it was; the workflow's state is the truth.
		var state, msg string
		err := db.Read.QueryRowContext(ctx, db.Rebind(`SELECT w.state, COALESCE((SELECT s.name || ': ' || s.error FROM workflow_steps s
			WHERE s.workflow_id = w.id AND s.state = ? ORDER BY s.idx LIMIT 1), w.error) FROM workflows w WHERE w.id = ?`), "failed", v.WorkflowID).Scan(&state, &msg)
		if err == nil && (state == "failed" || state == "cancelled") {
			v.State, v.Error = StateFailed, msg
		}
	}
	return v, nil
}

// List returns videos newest first, at most limit (default 100).
func (s *Service) List(ctx context.Context, limit int) ([]Video, error) {
	if limit <= 0 {
		limit = 100
	}
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT `+videoCols+` FROM videos ORDER BY created_at DESC, id LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("video: list: %w", err)
	}
	defer rows.Close()
	var out []Video
	for rows.Next() {
		v, err := scanVideo(rows)
		if err != nil {
			return nil, fmt.Errorf("video: list: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// localPath returns a local file holding the video's source, copying it
// from the blob store when this node does not have it yet.
func (s *Service) localPath(ctx context.Context, id string) (string, error) {
	v, err := s.Get(ctx, id)
	if err != nil {
		return "", err
	}
	p := filepath.Join(s.cfg.WorkDir, id, "source")
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return "", fmt.Errorf("video: work dir: %w", err)
	}
	r, err := s.deps.Blobs.Get(ctx, v.BlobKey)
	if err != nil {
		return "", fmt.Errorf("video: read source %s: %w", v.BlobKey, err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp(filepath.Dir(p), "source-*")
	if err != nil {
		return "", fmt.Errorf("video: copy source: %w", err)
	}
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", fmt.Errorf("video: copy source: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("video: copy source: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return "", fmt.Errorf("video: copy source: %w", err)
	}
	return p, nil
}

// encodeVec stores a vector as little-endian float32; nil stays NULL.
func encodeVec(v []float32) any {
	if len(v) == 0 {
		return nil
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVec(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("vector of %d bytes is not float32", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
