package video

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/track"
)

func (s *Service) loadDetections(ctx context.Context, id string) ([]detRow, error) {
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT frame, k, t, shot, label, score, x0, y0, x1, y1, source, grp,
		sharpness, edge_cut, occlusion, embedding, appearance, colour, COALESCE(track_id, 0)
		FROM video_detections WHERE video_id = ? ORDER BY frame, k`), id)
	if err != nil {
		return nil, fmt.Errorf("load detections: %w", err)
	}
	defer rows.Close()
	var out []detRow
	for rows.Next() {
		var d detRow
		var emb, app, col []byte
		if err := rows.Scan(&d.Frame, &d.K, &d.T, &d.Shot, &d.Label, &d.Score, &d.Box[0], &d.Box[1], &d.Box[2], &d.Box[3],
			&d.Source, &d.Group, &d.Sharpness, &d.EdgeCut, &d.Occlusion, &emb, &app, &col, &d.TrackID); err != nil {
			return nil, fmt.Errorf("load detections: %w", err)
		}
		for _, v := range []struct {
			b   []byte
			dst *[]float32
		}{{emb, &d.Embedding}, {app, &d.Appearance}, {col, &d.Colour}} {
			if len(v.b) > 0 {
				x, err := decodeVec(v.b)
				if err != nil {
					return nil, fmt.Errorf("load detections: %w", err)
				}
				*v.dst = x
			}
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *Service) loadShots(ctx context.Context, id string) ([]shotRow, error) {
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT idx, start_s, end_s, start_frame, end_frame, transition, COALESCE(keyframe_s, 0), thumbnail_key
		FROM video_shots WHERE video_id = ? ORDER BY idx`), id)
	if err != nil {
		return nil, fmt.Errorf("load shots: %w", err)
	}
	defer rows.Close()
	var out []shotRow
	for rows.Next() {
		var r shotRow
		if err := rows.Scan(&r.Index, &r.StartS, &r.EndS, &r.StartFrame, &r.EndFrame, &r.Transition, &r.KeyframeS, &r.Thumbnail); err != nil {
			return nil, fmt.Errorf("load shots: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// trackRow is one stored track.
type trackRow struct {
	ID        int
	Shot      int
	Label     string
	StartS    float64
	EndS      float64
	Dets      []int // indices into the detection slice it was built from
	Boxes     []boxAt
	Review    string
	ProductID string
}

type boxAt struct {
	T float64    `json:"t"`
	B [4]float64 `json:"b"` // normalised x0, y0, x1, y1
}

// buildTracks links detections into tracks per shot. Boxes are tracked in
// display pixels so distances keep the frame's aspect ratio. sampled holds
// the times of the frames sampled from each shot (by shot index): a track's
// span reaches towards the neighbouring sampled frames where it was not
// seen (track.Track.Extent).
func buildTracks(cfg track.Config, dets []detRow, shotRows []shotRow, sampled map[int][]float64, width, height int) []trackRow {
	w, h := float64(max(width, 1)), float64(max(height, 1))
	byFrame := map[int]*track.Frame{}
	var order []int
	for i, d := range dets {
		f, ok := byFrame[d.Frame]
		if !ok {
			f = &track.Frame{T: d.T, Frame: d.Frame}
			byFrame[d.Frame] = f
			order = append(order, d.Frame)
		}
		feat := d.Appearance
		if len(feat) == 0 {
			feat = d.Embedding
		}
		f.Dets = append(f.Dets, track.Detection{
			Box:   track.Box{X0: d.Box[0] * w, Y0: d.Box[1] * h, X1: d.Box[2] * w, Y1: d.Box[3] * h},
			Label: d.Group, Score: d.Score, Feature: feat, Ref: int64(i),
		})
	}
	frames := make([]track.Frame, 0, len(order))
	for _, k := range order {
		frames = append(frames, *byFrame[k])
	}
	spans := make([]track.Span, len(shotRows))
	for i, r := range shotRows {
		spans[i] = track.Span{Index: r.Index, StartS: r.StartS, EndS: r.EndS}
	}
	var out []trackRow
	byIndex := make(map[int]track.Span, len(spans))
	for _, sp := range spans {
		byIndex[sp.Index] = sp
	}
	for _, t := range track.Video(cfg, spans, frames) {
		tr := trackRow{ID: t.ID, Shot: t.Shot, StartS: t.StartS(), EndS: t.EndS(), Review: "auto"}
		if sp, ok := byIndex[t.Shot]; ok {
			tr.StartS, tr.EndS = t.Extent(sp, sampled[t.Shot])
		}
		weight := map[string]float64{}
		for _, td := range t.Dets {
			i := int(td.Ref)
			tr.Dets = append(tr.Dets, i)
			tr.Boxes = append(tr.Boxes, boxAt{T: dets[i].T, B: dets[i].Box})
			weight[dets[i].Label] += dets[i].Score + 1e-6
		}
		best := -1.0
		for _, i := range tr.Dets { // detection order keeps ties deterministic
			if v := weight[dets[i].Label]; v > best {
				tr.Label, best = dets[i].Label, v
			}
		}
		out = append(out, tr)
	}
	return out
}

// track links the detections of each shot into tracks.
func (s *Service) track(ctx context.Context, sc *jobs.StepContext) error {
	v, err := s.Get(ctx, sc.Subject)
	if err != nil {
		return err
	}
	dets, err := s.loadDetections(ctx, sc.Subject)
	if err != nil {
		return err
	}
	shotRows, err := s.loadShots(ctx, sc.Subject)
	if err != nil {
		return err
	}
	frames, err := s.loadFrames(ctx, sc.Subject)
	if err != nil {
		return err
	}
	sampled := map[int][]float64{}
	for _, f := range frames {
		sampled[f.Shot] = append(sampled[f.Shot], f.T)
	}
	tracks := buildTracks(s.cfg.Track, dets, shotRows, sampled, v.Width, v.Height)
	db := s.deps.DB
	sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
		// Verification features are per track: new tracks need new ones.
		for _, q := range []string{`DELETE FROM video_tracks WHERE video_id = ?`, `UPDATE video_detections SET track_id = NULL WHERE video_id = ?`,
			`DELETE FROM video_track_local WHERE video_id = ?`} {
			if _, err := tx.ExecContext(ctx, db.Rebind(q), sc.Subject); err != nil {
				return err
			}
		}
		for _, t := range tracks {
			boxes, err := json.Marshal(t.Boxes)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO video_tracks(video_id, track_id, shot, label, start_s, end_s, n_dets, boxes)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), sc.Subject, t.ID, t.Shot, t.Label, t.StartS, t.EndS, len(t.Dets), string(boxes)); err != nil {
				return err
			}
			for _, i := range t.Dets {
				if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE video_detections SET track_id = ? WHERE video_id = ? AND frame = ? AND k = ?`),
					t.ID, sc.Subject, dets[i].Frame, dets[i].K); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return sc.SetOutput(map[string]int{"tracks": len(tracks), "detections": len(dets)})
}
