package video

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"runtime"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/verify"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// LocalFeatures extracts local features (keypoints and descriptors) of an
// image region for instance verification (vision.LocalFeatureExtractor).
type LocalFeatures interface {
	Extract(ctx context.Context, img image.Image, region image.Rectangle, maxPoints int) (*vision.LocalFeatures, error)
	// ExtractMany describes several regions, several per model run.
	ExtractMany(ctx context.Context, rs []vision.LocalRegion, maxPoints int) ([]*vision.LocalFeatures, error)
	// ExtractMirrored gives the features of the region and of its mirror
	// image.
	ExtractMirrored(ctx context.Context, img image.Image, region image.Rectangle, maxPoints int) (plain, mirrored *vision.LocalFeatures, err error)
	// Tiles is how many regions share a model run: the scale regions are
	// described at, which compared features must share.
	Tiles() int
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
	verifyCandidates = 5
	// verifyPoints bounds the keypoints of a crop (fewer for small crops,
	// see vision.LocalFeatureOptions.PixelsPerPoint).
	verifyPoints = 512
	// verifyMargin widens a crop's box by this fraction of its size on
	// each side: keypoints at a garment's edge need context.
	verifyMargin = 0.05
	// verifyBatch is how many crops are described per call, so that the
	// extractor runs several at once; a multiple of every tiling (1, 2,
	// 4). The queued crops hold their frames: at most this many.
	verifyBatch = 8
)

// Promotion by verification: a candidate below the first becomes the
// track's match when its inliers reach promoteMinInliers and promoteRatio
// times every other verified candidate's. Measured on the lead tracks (the
// ones verified) of two sets of generated videos, with their stored
// candidates and crops: on the calibration videos (475 lead tracks) the
// rule moved 16 from a product not on screen to one on screen, none the
// other way, and one (28 inliers) from a wrong product to another wrong
// one; at 20 inliers three such, at 30 none but two right ones fewer. On
// the bench's videos (274 lead tracks) it moved 26, none wrongly. Colour
// variants and other products of the same shoot share keypoints with the
// right one, so they come close to it and the ratio keeps them back.
const (
	promoteMinInliers = 25
	promoteRatio      = 2
)

// trackLocal is the stored local features of one track's verification
// crop.
type trackLocal struct {
	track int
	data  []byte
}

// verification is what verifying a video's tracks gives.
type verification struct {
	// results are, per verified track, the results of its first
	// candidates in the order of its matches.
	results map[int][]verify.Result
	// fresh holds the crop features extracted now, for storing.
	fresh []trackLocal
	// feats are the crop features by track, stored or extracted.
	feats map[int]*vision.LocalFeatures
	// frames are the frames decoded so far (at most decodedFrames), from
	// which a later call cuts new leads' crops instead of decoding the
	// video again.
	frames map[int]*image.RGBA
	// crops counts the crops described, by where their frame came from:
	// "kept" by the detect step, "reused" from an earlier call's decoded
	// frames, "decoded" from the video for the purpose.
	crops map[string]int
}

// countCrop counts a crop described from a frame of origin from.
func (v *verification) countCrop(from string) {
	if v.crops == nil {
		v.crops = map[string]int{}
	}
	v.crops[from]++
}

// A track that becomes a lead after promotion or stitching is verified on
// its largest box among the frames decoded already when that box is at
// least reuseShare of its largest one; a second decode of the video cost
// about a second. decodedFrames bounds the frames kept for that (about 1 MB
// each at the default detect size).
const (
	reuseShare    = 0.5
	decodedFrames = 48
)

// verifyTracks verifies each shot's lead track per product (the one whose
// first match scores best: a shot's tracks of one product become one item
// whose evidence is its best track's, see mergeGroups and itemFeatures)
// against its first candidates, plain and mirrored, and adds the results
// to out. Leads out already has results for are left as they are, so a
// second call after promotion and stitching verifies only the tracks that
// have become leads. It reuses the crop features stored by an earlier
// match of the video, cuts crops from the frames an earlier call decoded
// where it can (see reuseShare), and extracts the rest from frames decoded
// for the purpose (only those frames). Without a local-feature model, a
// catalog that gives product features, or the video file, it verifies
// nothing.
func (s *Service) verifyTracks(ctx context.Context, id string, tracks map[int][]detRow, matches map[int][]shoppable.Match, out *verification) error {
	pl, ok := s.deps.Catalog.(productLocal)
	if s.deps.Local == nil || !ok {
		return nil
	}
	if out.feats == nil {
		stored, err := s.loadTrackLocal(ctx, id)
		if err != nil {
			return err
		}
		out.feats = map[int]*vision.LocalFeatures{}
		for tid, b := range stored {
			// Features described at another scale are extracted again.
			var f vision.LocalFeatures
			if err := f.UnmarshalBinary(b); err == nil && f.Tiles == s.deps.Local.Tiles() {
				out.feats[tid] = &f
			}
		}
	}
	feats := out.feats
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
		if _, done := out.results[tid]; !done {
			verified[tid] = true
		}
	}
	// The crop of each such track still without features: its largest
	// box, where the most keypoints are.
	want := map[int]detRow{}
	reuse := map[int]detRow{}
	for _, tid := range sortedKeys(verified) {
		if feats[tid] != nil {
			continue
		}
		var best, kept detRow
		bestArea, keptArea := -1.0, -1.0
		for _, d := range tracks[tid] {
			a := (d.Box[2] - d.Box[0]) * (d.Box[3] - d.Box[1])
			if a > bestArea {
				best, bestArea = d, a
			}
			if out.frames[d.Frame] != nil && a > keptArea {
				kept, keptArea = d, a
			}
		}
		switch {
		case bestArea <= 0:
		case keptArea >= reuseShare*bestArea:
			reuse[tid] = kept
		default:
			want[tid] = best
		}
	}
	// Crops are described as many per model run as the extractor packs:
	// extract queues track tid's crop d of img, flush describes the queue
	// and keeps the features.
	var (
		queue  []vision.LocalRegion
		queued []int
	)
	flush := func() error {
		if len(queue) == 0 {
			return nil
		}
		fs, err := s.deps.Local.ExtractMany(ctx, queue, verifyPoints)
		if err != nil {
			return fmt.Errorf("tracks %v: %w", queued, err)
		}
		for i, lf := range fs {
			data, err := lf.MarshalBinary()
			if err != nil {
				return fmt.Errorf("track %d: %w", queued[i], err)
			}
			feats[queued[i]] = lf
			out.fresh = append(out.fresh, trackLocal{queued[i], data})
		}
		queue, queued = queue[:0], queued[:0]
		return nil
	}
	extract := func(img *image.RGBA, tid int, d detRow) error {
		r, ok := cropRect(img, d.Box)
		if !ok {
			return nil
		}
		queue, queued = append(queue, vision.LocalRegion{Image: img, Region: r}), append(queued, tid)
		if len(queue) < verifyBatch {
			return nil
		}
		return flush()
	}
	for _, tid := range sortedKeys(reuse) {
		if err := extract(out.frames[reuse[tid].Frame], tid, reuse[tid]); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		out.countCrop("reused")
	}
	// Crops from the frames the detect step kept, frame by frame so one
	// frame at a time is held; the rest are decoded.
	kept := s.keptFramesOf(id)
	order := sortedKeys(want)
	sort.SliceStable(order, func(i, j int) bool { return want[order[i]].Frame < want[order[j]].Frame })
	var (
		img   *image.RGBA
		frame = -1
	)
	for _, tid := range order {
		d := want[tid]
		if d.Frame != frame {
			frame = d.Frame
			var err error
			if img, err = kept.get(d.Frame); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.WarnContext(ctx, "verify: kept frame unreadable, decoding it", "video", id, "frame", d.Frame, "err", err)
			}
		}
		if img == nil {
			continue
		}
		delete(want, tid)
		if err := extract(img, tid, d); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		out.countCrop("kept")
	}
	if len(want) > 0 {
		path, err := s.localPath(ctx, id)
		if err != nil {
			s.log.WarnContext(ctx, "verify: video file unavailable, local features skipped", "video", id, "err", err)
			return nil
		}
		byFrame := map[int][]int{}
		var idx []int
		for tid, d := range want {
			if _, ok := byFrame[d.Frame]; !ok {
				idx = append(idx, d.Frame)
			}
			byFrame[d.Frame] = append(byFrame[d.Frame], tid)
		}
		if out.frames == nil {
			out.frames = map[int]*image.RGBA{}
		}
		err = s.deps.Media.ExtractFrames(ctx, path, idx, media.FrameOptions{MaxWidth: s.cfg.DetectSize, MaxHeight: s.cfg.DetectSize}, func(f media.Frame) error {
			img := f.RGBA()
			if len(out.frames) < decodedFrames {
				out.frames[f.Index] = img
			}
			tids := byFrame[f.Index]
			sort.Ints(tids)
			for _, tid := range tids {
				if err := extract(img, tid, want[tid]); err != nil {
					return err
				}
				out.countCrop("decoded")
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	// Products' features, for every product to be compared.
	var ids []string
	seen := map[string]bool{}
	for tid := range verified {
		if feats[tid] == nil {
			continue
		}
		ms := matches[tid]
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
		return fmt.Errorf("verify: product features: %w", err)
	}
	// Tracks are compared on every core: the descriptor products are
	// parallel already, but picking each row's and column's best is not.
	order = sortedKeys(verified)
	res := make([][]verify.Result, len(order))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, tid := range order {
		g.Go(func() error {
			res[i] = verifyAgainst(feats[tid], matches[tid], prod)
			return nil
		})
	}
	g.Wait()
	for i, tid := range order {
		if res[i] != nil {
			out.results[tid] = res[i]
		}
	}
	return nil
}

// cropLocal extracts the local features of the crop of img in box
// (normalised x0, y0, x1, y1), widened by verifyMargin; nil for a crop too
// small to describe.
func (s *Service) cropLocal(ctx context.Context, img image.Image, box [4]float64) (*vision.LocalFeatures, error) {
	r, ok := cropRect(img, box)
	if !ok {
		return nil, nil
	}
	return s.deps.Local.Extract(ctx, img, r, verifyPoints)
}

// cropRect is the pixel rectangle of img that cropLocal describes for box;
// false for a crop too small to describe.
func cropRect(img image.Image, box [4]float64) (image.Rectangle, bool) {
	b := img.Bounds()
	w, h := box[2]-box[0], box[3]-box[1]
	r := image.Rect(b.Min.X+int((box[0]-verifyMargin*w)*float64(b.Dx())), b.Min.Y+int((box[1]-verifyMargin*h)*float64(b.Dy())),
		b.Min.X+int((box[2]+verifyMargin*w)*float64(b.Dx())), b.Min.Y+int((box[3]+verifyMargin*h)*float64(b.Dy()))).Intersect(b)
	return r, r.Dx() >= 16 && r.Dy() >= 16
}

// verifyAgainst verifies crop features q against the products of the
// first verifyCandidates matches, plain and mirrored, and returns a result
// per candidate in the order of ms; nil when there is nothing to compare
// (no crop features, or none for the first product).
func verifyAgainst(q *vision.LocalFeatures, ms []shoppable.Match, prod map[string]*productFeatures) []verify.Result {
	if q == nil || len(ms) == 0 || prod[ms[0].ProductID] == nil {
		return nil
	}
	res := make([]verify.Result, min(len(ms), verifyCandidates))
	for i, m := range ms[:len(res)] {
		if o := prod[m.ProductID]; o != nil {
			// The garment may be shown mirrored.
			res[i] = verify.Match(q, o.plain, verify.Options{})
			if o.mirrored != nil {
				if r := verify.Match(q, o.mirrored, verify.Options{}); r.Inliers > res[i].Inliers {
					r.Mirrored = true
					res[i] = r
				}
			}
		}
	}
	return res
}

// promote returns the index of the verified candidate that the rule above
// puts first, or 0.
func promote(res []verify.Result) int {
	best := 0
	for i := range res {
		if res[i].Inliers > res[best].Inliers {
			best = i
		}
	}
	if best == 0 || res[best].Inliers < promoteMinInliers {
		return 0
	}
	for i := range res {
		if i != best && promoteRatio*res[i].Inliers > res[best].Inliers {
			return 0
		}
	}
	return best
}

// moveFirst moves s[i] to the front, keeping the order of the rest.
func moveFirst[T any](s []T, i int) {
	if i <= 0 || i >= len(s) {
		return
	}
	v := s[i]
	copy(s[1:i+1], s[:i])
	s[0] = v
}

// promoteVerified reorders the matches (and the match results they came
// from, which keep their own scores for the evidence) of every verified
// track whose verification promotes a lower candidate, and returns those
// tracks.
func promoteVerified(v *verification, matches map[int][]shoppable.Match, results map[int]match.Result) map[int]bool {
	promoted := map[int]bool{}
	for tid, res := range v.results {
		i := promote(res)
		if i == 0 {
			continue
		}
		moveFirst(res, i)
		ms := matches[tid]
		// The promoted product takes the score of the one it displaces:
		// a document lists matches best first by score.
		ms[i].Score = max(ms[i].Score, ms[0].Score)
		moveFirst(ms, i)
		if r, ok := results[tid]; ok && i < len(r.Matches) {
			moveFirst(r.Matches, i)
		}
		promoted[tid] = true
	}
	return promoted
}

// addVerifiedEvidence adds to each verified track's evidence the inliers
// its crop shares with its first product, how many more than with the
// next ones, and whether verification promoted that product.
func addVerifiedEvidence(v *verification, promoted map[int]bool, ev map[int]confidence.Features) {
	for tid, res := range v.results {
		f := ev[tid]
		if f == nil || len(res) == 0 {
			continue
		}
		other := 0
		for _, r := range res[1:] {
			other = max(other, r.Inliers)
		}
		f[confidence.Inliers] = math.Log1p(float64(res[0].Inliers))
		f[confidence.InlierMargin] = math.Log1p(float64(res[0].Inliers)) - math.Log1p(float64(other))
		f[confidence.InlierRatio] = res[0].InlierRatio
		// 0 as well as 1: a feature a sample lacks counts as average.
		f[confidence.Promoted] = 0
		if promoted[tid] {
			f[confidence.Promoted] = 1
		}
	}
}

// confirmInliers is the inlier count that confirms a candidate: no pair
// of different catalog photos of the on-model catalog reached 40 inliers
// at 512 points.
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
