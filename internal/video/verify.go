package video

import (
	"context"
	"database/sql"
	"fmt"
	"image"
	"math"
	"slices"
	"sort"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/verify"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// LocalFeatures extracts local features (keypoints and descriptors) of an
// image region for instance verification (vision.LocalFeatureExtractor).
type LocalFeatures interface {
	Extract(ctx context.Context, img image.Image, region image.Rectangle, maxPoints int) (*vision.LocalFeatures, error)
	// ExtractMirrored gives the features of the region and of its mirror
	// image.
	ExtractMirrored(ctx context.Context, img image.Image, region image.Rectangle, maxPoints int) (plain, mirrored *vision.LocalFeatures, err error)
}

// productLocal is a Catalog that gives the local features of products'
// main items (CatalogSource, ServiceCatalog).
type productLocal interface {
	ProductLocalFeatures(ctx context.Context, x LocalFeatures, ids []string) (map[string]*productFeatures, error)
}

// Verification of a matched track: its best crop's local features against
// those of its first verifyCandidates products. Global embeddings rank
// look-alikes close together; the same product in another picture shares
// many keypoints that one geometric transform explains, a look-alike few.
const (
	verifyCandidates = 3
	// verifyPoints bounds the keypoints of a crop (fewer for small crops,
	// see vision.LocalFeatureOptions.PixelsPerPoint).
	verifyPoints = 512
	// verifyMargin widens a crop's box by this fraction of its size on
	// each side: keypoints at a garment's edge need context.
	verifyMargin = 0.05
)

// trackLocal is the stored local features of one track's verification
// crop.
type trackLocal struct {
	track int
	data  []byte
}

// verifyTracks adds local-feature evidence to each matched track: the
// inliers its best crop shares with its best product, and how many more
// than with the next products. It reuses the crop features stored by an
// earlier match of the video and extracts the missing ones from frames
// decoded for the purpose (only those frames); it returns the features
// extracted now, for storing. Without a local-feature model, a catalog
// that gives product features, or the video file, it does nothing.
func (s *Service) verifyTracks(ctx context.Context, id string, tracks map[int][]detRow, matches map[int][]shoppable.Match, ev map[int]confidence.Features) ([]trackLocal, error) {
	pl, ok := s.deps.Catalog.(productLocal)
	if s.deps.Local == nil || !ok {
		return nil, nil
	}
	stored, err := s.loadTrackLocal(ctx, id)
	if err != nil {
		return nil, err
	}
	feats := map[int]*vision.LocalFeatures{}
	for tid, b := range stored {
		var f vision.LocalFeatures
		if err := f.UnmarshalBinary(b); err == nil {
			feats[tid] = &f
		}
	}
	// A shot's tracks of one product become one item whose evidence is its
	// best-scoring track's (mergeGroups, itemFeatures): only that track is
	// verified.
	type key struct {
		shot    int
		product string
	}
	lead := map[key]int{}
	for _, tid := range sortedKeys(matches) {
		ms := matches[tid]
		if len(ms) == 0 || len(tracks[tid]) == 0 {
			continue
		}
		k := key{tracks[tid][0].Shot, ms[0].ProductID}
		if cur, ok := lead[k]; !ok || ms[0].Score > matches[cur][0].Score {
			lead[k] = tid
		}
	}
	verified := map[int]bool{}
	for _, tid := range lead {
		verified[tid] = true
	}
	// The crop of each such track still without features: its largest
	// box, where the most keypoints are.
	want := map[int]detRow{}
	for tid, ms := range matches {
		if len(ms) == 0 || feats[tid] != nil || !verified[tid] {
			continue
		}
		var best detRow
		bestArea := -1.0
		for _, d := range tracks[tid] {
			if a := (d.Box[2] - d.Box[0]) * (d.Box[3] - d.Box[1]); a > bestArea {
				best, bestArea = d, a
			}
		}
		if bestArea > 0 {
			want[tid] = best
		}
	}
	var fresh []trackLocal
	if len(want) > 0 {
		path, err := s.localPath(ctx, id)
		if err != nil {
			s.log.WarnContext(ctx, "verify: video file unavailable, local features skipped", "video", id, "err", err)
			return nil, nil
		}
		byFrame := map[int][]int{}
		var idx []int
		for tid, d := range want {
			if _, ok := byFrame[d.Frame]; !ok {
				idx = append(idx, d.Frame)
			}
			byFrame[d.Frame] = append(byFrame[d.Frame], tid)
		}
		err = s.deps.Media.ExtractFrames(ctx, path, idx, media.FrameOptions{MaxWidth: s.cfg.DetectSize, MaxHeight: s.cfg.DetectSize}, func(f media.Frame) error {
			img := f.RGBA()
			b := img.Bounds()
			tids := byFrame[f.Index]
			sort.Ints(tids)
			for _, tid := range tids {
				d := want[tid]
				w, h := d.Box[2]-d.Box[0], d.Box[3]-d.Box[1]
				r := image.Rect(int((d.Box[0]-verifyMargin*w)*float64(b.Dx())), int((d.Box[1]-verifyMargin*h)*float64(b.Dy())),
					int((d.Box[2]+verifyMargin*w)*float64(b.Dx())), int((d.Box[3]+verifyMargin*h)*float64(b.Dy()))).Intersect(b)
				if r.Dx() < 16 || r.Dy() < 16 {
					continue
				}
				lf, err := s.deps.Local.Extract(ctx, img, r, verifyPoints)
				if err != nil {
					return fmt.Errorf("track %d: %w", tid, err)
				}
				data, err := lf.MarshalBinary()
				if err != nil {
					return fmt.Errorf("track %d: %w", tid, err)
				}
				feats[tid] = lf
				fresh = append(fresh, trackLocal{tid, data})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	}
	// Products' features, for every product to be compared.
	var ids []string
	seen := map[string]bool{}
	for tid, ms := range matches {
		if feats[tid] == nil || !verified[tid] {
			continue
		}
		for _, m := range ms[:min(len(ms), verifyCandidates)] {
			if !seen[m.ProductID] {
				seen[m.ProductID] = true
				ids = append(ids, m.ProductID)
			}
		}
	}
	sort.Strings(ids)
	prod, err := pl.ProductLocalFeatures(ctx, s.deps.Local, ids)
	if err != nil {
		return nil, fmt.Errorf("verify: product features: %w", err)
	}
	for tid, ms := range matches {
		q, f := feats[tid], ev[tid]
		if q == nil || f == nil || len(ms) == 0 || !verified[tid] {
			continue
		}
		if prod[ms[0].ProductID] == nil {
			continue
		}
		n := min(len(ms), verifyCandidates)
		res := make([]verify.Result, n)
		for i, m := range ms[:n] {
			if o := prod[m.ProductID]; o != nil {
				res[i] = verify.Match(q, o.plain, verify.Options{})
			}
		}
		// The garment may be shown mirrored: when no candidate is
		// confirmed as it is, each is tried mirrored too.
		if slices.IndexFunc(res, func(r verify.Result) bool { return r.Inliers >= confirmInliers }) < 0 {
			for i, m := range ms[:n] {
				if o := prod[m.ProductID]; o != nil && o.mirrored != nil {
					if r := verify.Match(q, o.mirrored, verify.Options{}); r.Inliers > res[i].Inliers {
						res[i] = r
					}
				}
			}
		}
		other := 0
		for _, r := range res[1:] {
			other = max(other, r.Inliers)
		}
		f[confidence.Inliers] = math.Log1p(float64(res[0].Inliers))
		f[confidence.InlierMargin] = math.Log1p(float64(res[0].Inliers)) - math.Log1p(float64(other))
		f[confidence.InlierRatio] = res[0].InlierRatio
	}
	return fresh, nil
}

// confirmInliers is the inlier count that confirms a candidate: no pair
// of different catalog photos of the on-model catalog reached 40 inliers
// at 512 points. Verification is evidence for the confidence only; it no
// longer reorders candidates: on the generated sets every candidate it
// promoted over the first was wrong (a colour variant or another product
// of the same shoot shares the keypoints, XFeat sees no colour).
const confirmInliers = 40

// loadTrackLocal returns the stored verification features of a video's
// tracks.
func (s *Service) loadTrackLocal(ctx context.Context, id string) (map[int][]byte, error) {
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT track_id, features FROM video_track_local WHERE video_id = ?`), id)
	if err != nil {
		return nil, fmt.Errorf("load track local features: %w", err)
	}
	defer rows.Close()
	out := map[int][]byte{}
	for rows.Next() {
		var tid int
		var b []byte
		if err := rows.Scan(&tid, &b); err != nil {
			return nil, fmt.Errorf("load track local features: %w", err)
		}
		out[tid] = b
	}
	return out, rows.Err()
}

// storeTrackLocal writes verification features in the step's commit.
func storeTrackLocal(ctx context.Context, tx *sql.Tx, rebind func(string) string, id string, ls []trackLocal) error {
	for _, l := range ls {
		if _, err := tx.ExecContext(ctx, rebind(`DELETE FROM video_track_local WHERE video_id = ? AND track_id = ?`), id, l.track); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, rebind(`INSERT INTO video_track_local(video_id, track_id, features) VALUES (?, ?, ?)`), id, l.track, l.data); err != nil {
			return err
		}
	}
	return nil
}

// prepareChunk is how many products PrepareProducts extracts between
// progress reports.
const prepareChunk = 16

// PrepareProducts extracts and stores the verification features of the
// given products' main items (see CatalogSource.ProductLocalFeatures), so
// the first video matched against a new catalog does not pay for them. It
// is the catalog's Prepare hook (the features stage of an import); products
// whose features are stored already cost a lookup. Without a local-feature
// model or a catalog that keeps them it does nothing.
func (s *Service) PrepareProducts(ctx context.Context, ids []string, report func(done, total int64)) error {
	pl, ok := s.deps.Catalog.(productLocal)
	if !ok || len(ids) == 0 {
		return nil
	}
	if err := s.ensureModels(ctx); err != nil {
		return err
	}
	if s.deps.Local == nil {
		return nil
	}
	for i := 0; i < len(ids); i += prepareChunk {
		chunk := ids[i:min(i+prepareChunk, len(ids))]
		if _, err := pl.ProductLocalFeatures(ctx, s.deps.Local, chunk); err != nil {
			return fmt.Errorf("prepare products: %w", err)
		}
		if report != nil {
			report(int64(i+len(chunk)), int64(len(ids)))
		}
	}
	return nil
}
