package video

import (
	"context"
	"database/sql"
	"sort"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/match"
)

// Embedding kinds stored per track crop.
const (
	EmbCrop       = "crop"
	EmbAppearance = "appearance"
	EmbColour     = "colour"
)

// embed keeps, for each track, the vectors of its best crops: sharp, large,
// whole, unoccluded and spread over time. These are what matching (and any
// later re-match) reads; the frames are not decoded again.
func (s *Service) embed(ctx context.Context, sc *jobs.StepContext) error {
	v, err := s.Get(ctx, sc.Subject)
	if err != nil {
		return err
	}
	dets, err := s.loadDetections(ctx, sc.Subject)
	if err != nil {
		return err
	}
	byTrack := map[int][]int{}
	for i, d := range dets {
		if d.TrackID > 0 {
			byTrack[d.TrackID] = append(byTrack[d.TrackID], i)
		}
	}
	type emb struct {
		track, k    int
		kind, model string
		frame       int
		t, quality  float64
		vec         []float32
	}
	var embs []emb
	ids := make([]int, 0, len(byTrack))
	for id := range byTrack {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		idx := byTrack[id]
		infos := make([]match.CropInfo, len(idx))
		for j, i := range idx {
			d := dets[i]
			infos[j] = match.CropInfo{T: d.T, Score: d.Score, AreaFrac: (d.Box[2] - d.Box[0]) * (d.Box[3] - d.Box[1]),
				Sharpness: d.Sharpness, EdgeCut: d.EdgeCut, Occlusion: d.Occlusion}
		}
		for k, j := range match.SelectCrops(infos, s.cfg.CropsPerTrack, 0.4) {
			d := dets[idx[j]]
			q := match.Quality(infos[j])
			for _, v := range []struct {
				kind, model string
				vec         []float32
			}{{EmbCrop, v.Embedder, d.Embedding}, {EmbAppearance, v.Appearance, d.Appearance}, {EmbColour, "hsv-hist", d.Colour}} {
				if len(v.vec) > 0 {
					embs = append(embs, emb{track: id, k: k, kind: v.kind, model: v.model, frame: d.Frame, t: d.T, quality: q, vec: v.vec})
				}
			}
		}
	}
	db := s.deps.DB
	sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM video_track_embeddings WHERE video_id = ?`), sc.Subject); err != nil {
			return err
		}
		for _, e := range embs {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO video_track_embeddings(video_id, track_id, k, kind, model, frame, t, quality, dim, vector)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), sc.Subject, e.track, e.k, e.kind, e.model, e.frame, e.t, e.quality, len(e.vec), encodeVec(e.vec)); err != nil {
				return err
			}
		}
		return nil
	})
	return sc.SetOutput(map[string]int{"tracks": len(ids), "vectors": len(embs)})
}
