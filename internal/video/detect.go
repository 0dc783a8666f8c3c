package video

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/jpeg"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/propose"
	"github.com/vitrine-dev/vitrine/internal/vision"
	"golang.org/x/image/draw"
)

// Detection sources.
const (
	SourceDetector = "detector" // a shoppable detector class (handbag, tie, …)
	SourceGarment  = "garment"  // a garment region of a person
	SourceProposal = "proposal" // any other detector box, judged by the matcher
)

// Thresholds for the inputs of the garment labeler: persons and shoppable
// classes must be confident; everything else is a low-threshold proposal.
const (
	personMinScore    = 0.4
	shoppableMinScore = 0.3
	proposalNMS       = 0.6
	// Garment regions are cut from persons at least this tall (fraction of
	// the frame height), at most maxPersons per frame, largest first: the
	// crops of distant pedestrians are too small to match and cost a model
	// run each.
	minPersonHeight = 0.2
	maxPersons      = 4
)

// detRow is one stored detection with what crop selection, tracking and
// matching need.
type detRow struct {
	Frame      int
	K          int
	T          float64
	Shot       int
	Label      string
	Score      float64
	Box        [4]float64 // normalised x0, y0, x1, y1
	Source     string
	Group      string
	Sharpness  float64
	EdgeCut    float64
	Occlusion  float64
	Embedding  []float32
	Appearance []float32
	Colour     []float32
	TrackID    int
}

func (s *Service) loadFrames(ctx context.Context, id string) ([]sampledFrame, error) {
	db := s.deps.DB
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT frame, t, shot, sharpness FROM video_frames WHERE video_id = ? ORDER BY frame`), id)
	if err != nil {
		return nil, fmt.Errorf("load sampled frames: %w", err)
	}
	defer rows.Close()
	var out []sampledFrame
	for rows.Next() {
		var f sampledFrame
		if err := rows.Scan(&f.Frame, &f.T, &f.Shot, &f.Sharpness); err != nil {
			return nil, fmt.Errorf("load sampled frames: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// detect decodes the sampled frames at detector resolution and stores the
// detections of each: shoppable classes, garment regions of persons and
// low-threshold proposals of any other class, each with its crop
// embedding, appearance vector, colour histogram and quality measures.
// A sampled frame that shows the same picture as the last analysed frame
// of its shot takes that frame's detections (see nearDuplicate).
func (s *Service) detect(ctx context.Context, sc *jobs.StepContext) error {
	if err := s.ensureModels(ctx); err != nil {
		return err
	}
	path, info, err := s.probedSource(ctx, sc)
	if err != nil {
		return err
	}
	frames, err := s.loadFrames(ctx, sc.Subject)
	if err != nil {
		return err
	}
	plan := planDetection(frames)
	kept := s.keptFramesOf(sc.Subject)
	if err := kept.reset(); err != nil {
		s.log.WarnContext(ctx, "detect: frames not kept for verification", "video", sc.Subject, "err", err)
		kept = keptFrames{}
	}
	res, err := s.analyseFrames(ctx, sc, path, info, plan, kept)
	if err != nil {
		return err
	}
	dets := res.rows()
	s.storeDetections(sc, dets, res.thumbs)
	return sc.SetOutput(map[string]int{"frames": res.done, "detections": len(dets), "reused": len(res.copies)})
}

// detectionPlan is what the detect step decodes: the sampled frames by
// index, in order, and the keyframe of each shot (its sharpest sampled
// frame), whose thumbnail is stored.
type detectionPlan struct {
	byFrame  map[int]sampledFrame
	order    []int
	keyframe map[int]sampledFrame // by shot
}

func planDetection(frames []sampledFrame) detectionPlan {
	p := detectionPlan{byFrame: map[int]sampledFrame{}, keyframe: map[int]sampledFrame{}}
	for _, f := range frames {
		p.byFrame[f.Frame] = f
		p.order = append(p.order, f.Frame)
		if k, ok := p.keyframe[f.Shot]; !ok || f.Sharpness > k.Sharpness {
			p.keyframe[f.Shot] = f
		}
	}
	return p
}

// keyframeShots returns the shots whose keyframe is frame.
func (p detectionPlan) keyframeShots(frame int) []int {
	var shots []int
	for shot, k := range p.keyframe {
		if k.Frame == frame {
			shots = append(shots, shot)
		}
	}
	sort.Ints(shots)
	return shots
}

// thumb is a stored shot thumbnail.
type thumb struct {
	shot int
	t    float64
	key  string
}

// detections is what analysing the sampled frames gives.
type detections struct {
	dets   []detRow
	thumbs []thumb
	// copies maps a near-duplicate frame to the analysed frame whose
	// detections it takes.
	copies map[int]int
	done   int // frames analysed or copied
	plan   detectionPlan
}

// rows returns the detections of every sampled frame, the copied frames'
// included, in frame order.
func (d *detections) rows() []detRow {
	out := d.dets
	if len(d.copies) > 0 {
		srcs := map[int]bool{}
		for _, src := range d.copies {
			srcs[src] = true
		}
		bySrc := map[int][]detRow{}
		for _, r := range d.dets {
			if srcs[r.Frame] {
				bySrc[r.Frame] = append(bySrc[r.Frame], r)
			}
		}
		for frame, src := range d.copies {
			sf := d.plan.byFrame[frame]
			for _, r := range bySrc[src] {
				r.Frame, r.T = sf.Frame, sf.T
				out = append(out, r)
			}
		}
	}
	// Workers finish frames in any order; store them in frame order.
	sort.Slice(out, func(i, j int) bool {
		if out[i].Frame != out[j].Frame {
			return out[i].Frame < out[j].Frame
		}
		return out[i].K < out[j].K
	})
	return out
}

// analyseFrames decodes the planned frames at detector size and analyses
// them. DetectWorkers take the decoded frames while ffmpeg keeps decoding
// the next ones: their inference runs concurrently (single-threaded runs,
// see vision.Options.Runs) and one worker's Go-side work (conversion,
// crops, colour and quality measures, thumbnails) overlaps the other's
// inference. The decoder's side, in frame order, decides which frames are
// near-duplicates and skips their analysis.
//
// Each analysed frame's detection boxes are kept for verification (see
// keptFrames), unless kept is the zero value.
func (s *Service) analyseFrames(ctx context.Context, sc *jobs.StepContext, path string, info media.Info, plan detectionPlan, kept keptFrames) (*detections, error) {
	res := &detections{copies: map[int]int{}, plan: plan}
	work := make(chan media.Frame, 4)
	var (
		mu     sync.Mutex
		werr   error
		wg     sync.WaitGroup
		failed atomic.Bool
	)
	total := int64(len(plan.order))
	progress := func(rows []detRow, thumbs []thumb) {
		mu.Lock()
		res.dets = append(res.dets, rows...)
		res.thumbs = append(res.thumbs, thumbs...)
		res.done++
		n := res.done
		mu.Unlock()
		sc.Progress(int64(n), total)
	}
	for range DetectWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				if failed.Load() {
					continue // drain so the decoder never blocks
				}
				rows, thumbs, err := s.analyseFrame(ctx, sc.Subject, f, plan, kept)
				if err != nil {
					mu.Lock()
					if werr == nil {
						werr = err
					}
					mu.Unlock()
					failed.Store(true)
					continue
				}
				progress(rows, thumbs)
			}
		}()
	}
	var dup nearDuplicates
	err := s.deps.Media.ExtractFrames(ctx, path, plan.order, media.FrameOptions{MaxWidth: s.cfg.DetectSize, MaxHeight: s.cfg.DetectSize, Info: &info}, func(f media.Frame) error {
		sf, ok := plan.byFrame[f.Index]
		if !ok {
			return nil
		}
		// Keyframes are always analysed: their thumbnail is cut from them.
		if src, ok := dup.check(f, sf.Shot); ok && len(plan.keyframeShots(f.Index)) == 0 {
			mu.Lock()
			res.copies[f.Index] = src
			mu.Unlock()
			progress(nil, nil)
			return nil
		}
		dup.analysed(f, sf.Shot)
		select {
		case work <- f.Clone():
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(work)
	wg.Wait()
	if werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	if kept.dir != "" {
		for frame, src := range res.copies {
			if err := kept.alias(frame, src); err != nil {
				s.log.WarnContext(ctx, "detect: frame not kept for verification", "video", sc.Subject, "frame", frame, "err", err)
			}
		}
	}
	return res, nil
}

// analyseFrame stores the thumbnails of the shots whose keyframe f is,
// keeps the part of f its detections' crops are cut from, and returns its
// detections.
func (s *Service) analyseFrame(ctx context.Context, videoID string, f media.Frame, plan detectionPlan, kept keptFrames) ([]detRow, []thumb, error) {
	sf := plan.byFrame[f.Index]
	img := f.RGBA()
	var thumbs []thumb
	for _, shot := range plan.keyframeShots(f.Index) {
		key, err := s.putThumbnail(ctx, videoID, shot, img)
		if err != nil {
			return nil, nil, err
		}
		thumbs = append(thumbs, thumb{shot, sf.T, key})
	}
	rows, err := s.detectFrame(ctx, img, sf)
	if err != nil {
		return nil, nil, fmt.Errorf("frame %d: %w", f.Index, err)
	}
	if kept.dir != "" && len(rows) > 0 {
		boxes := make([][4]float64, len(rows))
		for i, r := range rows {
			boxes[i] = r.Box
		}
		// A cache: the match step decodes what is not kept.
		if err := kept.put(f.Index, img, boxes); err != nil {
			s.log.WarnContext(ctx, "detect: frame not kept for verification", "video", videoID, "frame", f.Index, "err", err)
		}
	}
	return rows, thumbs, nil
}

// storeDetections replaces the video's detections, sets its shots'
// keyframe thumbnails and records the models, when the step commits.
func (s *Service) storeDetections(sc *jobs.StepContext, dets []detRow, thumbs []thumb) {
	db := s.deps.DB
	sc.OnCommit(func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM video_detections WHERE video_id = ?`), sc.Subject); err != nil {
			return err
		}
		for _, d := range dets {
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO video_detections(video_id, frame, k, t, shot, label, score, x0, y0, x1, y1,
				source, grp, sharpness, edge_cut, occlusion, embedding, appearance, colour) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				sc.Subject, d.Frame, d.K, d.T, d.Shot, d.Label, d.Score, d.Box[0], d.Box[1], d.Box[2], d.Box[3],
				d.Source, d.Group, d.Sharpness, d.EdgeCut, d.Occlusion, encodeVec(d.Embedding), encodeVec(d.Appearance), encodeVec(d.Colour)); err != nil {
				return err
			}
		}
		for _, th := range thumbs {
			if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE video_shots SET keyframe_s = ?, thumbnail_key = ? WHERE video_id = ? AND idx = ?`),
				th.t, th.key, sc.Subject, th.shot); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(`UPDATE videos SET detector = ?, embedder = ?, appearance = ? WHERE id = ?`),
			s.cfg.DetectorName, s.cfg.EmbedderName, s.cfg.AppearanceName, sc.Subject); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.Rebind(`UPDATE video_frames SET detected = 1 WHERE video_id = ?`), sc.Subject)
		return err
	})
}

// DetectWorkers is how many frames are analysed at once in the detect step.
// Model sessions should allow as many concurrent runs (vision.Options.Runs).
const DetectWorkers = 2

// thumbnailSize bounds the longer side of shot thumbnails.
const thumbnailSize = 320

// putThumbnail stores a JPEG thumbnail of img as the shot's keyframe.
func (s *Service) putThumbnail(ctx context.Context, videoID string, shot int, img *image.RGBA) (string, error) {
	b := img.Bounds()
	scale := float64(thumbnailSize) / float64(max(b.Dx(), b.Dy()))
	var src image.Image = img
	if scale < 1 {
		dst := image.NewRGBA(image.Rect(0, 0, max(1, int(float64(b.Dx())*scale)), max(1, int(float64(b.Dy())*scale))))
		draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
		src = dst
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 80}); err != nil {
		return "", fmt.Errorf("encode thumbnail: %w", err)
	}
	key := ThumbnailKey(videoID, shot)
	if err := s.deps.Blobs.Put(ctx, key, &buf, "image/jpeg"); err != nil {
		return "", fmt.Errorf("store thumbnail: %w", err)
	}
	return key, nil
}

// detectFrame finds the items of one frame, in stages: the detector's
// objects; the items they give (garment regions of persons, shoppable
// classes); proposals of everything else, embedded for the matcher; an
// appearance vector of every item; and the stored rows with their quality
// measures.
func (s *Service) detectFrame(ctx context.Context, img *image.RGBA, sf sampledFrame) ([]detRow, error) {
	objs, err := s.findObjects(ctx, img)
	if err != nil {
		return nil, err
	}
	items, err := s.frameItems(ctx, img, objs)
	if err != nil {
		return nil, err
	}
	props, err := s.frameProposals(img, objs, items)
	if err != nil {
		return nil, err
	}
	propItems, err := s.embedProposals(ctx, img, props)
	if err != nil {
		return nil, err
	}
	items = append(items, propItems...)
	app, err := s.appearanceVectors(ctx, img, items)
	if err != nil {
		return nil, err
	}
	return frameRows(img, sf, items, app), nil
}

// frameObjects are a frame's detector boxes by role: confident boxes of
// classes other than person (strong, followed by the persons the garment
// labeler cuts regions from), weak ones (proposals) and the persons tall
// enough to matter, largest first.
type frameObjects struct {
	strong, weak, persons []vision.Detection
}

// findObjects runs the detector and sorts its boxes by role.
func (s *Service) findObjects(ctx context.Context, img *image.RGBA) (frameObjects, error) {
	fh := float64(img.Bounds().Dy())
	raw, err := s.deps.Detector.Detect(ctx, img)
	if err != nil {
		return frameObjects{}, err
	}
	var o frameObjects
	for _, d := range raw {
		if d.Score < s.cfg.DetectThreshold {
			continue
		}
		isPerson := strings.EqualFold(d.Label, "person")
		switch {
		case isPerson && d.Score >= personMinScore && float64(d.Box.H()) >= minPersonHeight*fh:
			o.persons = append(o.persons, d)
		case !isPerson && d.Score >= shoppableMinScore:
			o.strong = append(o.strong, d)
		case !isPerson:
			o.weak = append(o.weak, d)
		}
	}
	sort.SliceStable(o.persons, func(i, j int) bool { return o.persons[i].Box.Area() > o.persons[j].Box.Area() })
	o.persons = o.persons[:min(len(o.persons), maxPersons)]
	o.strong = append(o.strong, o.persons...)
	return o, nil
}

// frameItems returns the items the garment labeler makes of the strong
// boxes (garment regions of persons, shoppable classes), with the opt-in
// garment detector's boxes.
func (s *Service) frameItems(ctx context.Context, img *image.RGBA, o frameObjects) ([]vision.Item, error) {
	items, err := s.deps.Garments.Items(ctx, img, o.strong)
	if err != nil {
		return nil, err
	}
	// The opt-in garment detector's boxes are garment items too.
	return s.addDetectedGarments(ctx, img, items)
}

// frameProposals returns the boxes the matcher judges: weak boxes,
// confident boxes of classes the labeler does not sell and whole persons,
// one of each overlapping group, of a plausible size and not repeating a
// detector item; then window proposals where nothing was seen.
func (s *Service) frameProposals(img *image.RGBA, o frameObjects, items []vision.Item) ([]vision.Detection, error) {
	b := img.Bounds()
	fw, fh := float64(b.Dx()), float64(b.Dy())
	used := make([]bool, len(o.strong))
	for _, it := range items {
		if it.Source == SourceDetector {
			used[it.Detection] = true
		}
	}
	// Confident boxes of classes the labeler does not sell join the
	// proposals: the matcher decides whether they are products.
	weak := append([]vision.Detection(nil), o.weak...)
	for i, d := range o.strong {
		if !used[i] && !strings.EqualFold(d.Label, "person") {
			weak = append(weak, d)
		}
	}
	// Whole persons are proposals too: on-model product photos show the
	// whole outfit, which no single garment region covers.
	props := append(classAgnosticNMS(weak, proposalNMS), o.persons...)
	var kept []vision.Detection
	for _, d := range props {
		frac := float64(d.Box.Area()) / (fw * fh)
		if frac < s.cfg.MinBoxFrac || frac > s.cfg.MaxBoxFrac {
			continue
		}
		dup := false
		for _, it := range items {
			if it.Source == SourceDetector && it.Box.IoU(d.Box) > proposalNMS {
				dup = true
				break
			}
		}
		if !dup {
			kept = append(kept, d)
		}
	}
	if n := s.cfg.WindowProposals; n > 0 {
		ws, err := windowProposals(img, n, items, kept)
		if err != nil {
			return nil, err
		}
		kept = append(kept, ws...)
	}
	return kept, nil
}

// embedProposals embeds the proposals, each cut out with context (see
// proposalMargin), in one batch.
func (s *Service) embedProposals(ctx context.Context, img *image.RGBA, props []vision.Detection) ([]vision.Item, error) {
	if len(props) == 0 {
		return nil, nil
	}
	crops := make([]image.Image, len(props))
	for i, d := range props {
		crops[i] = vision.Crop(img, squareAround(d.Box.Rect(), img.Bounds(), proposalMargin))
	}
	vecs, err := s.deps.Embedder.EmbedImages(ctx, crops)
	if err != nil {
		return nil, err
	}
	out := make([]vision.Item, len(props))
	for i, d := range props {
		out[i] = vision.Item{Source: SourceProposal, Label: d.Label, Score: d.Score, Box: d.Box, Person: -1, Detection: -1, Embedding: vecs[i]}
	}
	return out, nil
}

// appearanceVectors returns an appearance (re-ID) vector of every item's
// own box, in one batch; nil ones without an appearance model. The tracker
// associates boxes by it, and the matcher compares it with the product
// images' (colour and texture features that recover products the ImageNet
// embedding ranks low). On the 12 generated benchmark videos this raised
// the items timed within 1 s from 0.645 to 0.694; sharing one vector per
// person among its garment regions lost found items (0.774 to 0.758) and
// saved little time.
func (s *Service) appearanceVectors(ctx context.Context, img *image.RGBA, items []vision.Item) ([][]float32, error) {
	out := make([][]float32, len(items))
	if s.deps.Appearance == nil {
		return out, nil
	}
	b := img.Bounds()
	var crops []image.Image
	var at []int
	for i, it := range items {
		if r := it.Box.Rect().Intersect(b); r.Dx() >= 2 && r.Dy() >= 2 {
			crops = append(crops, vision.Crop(img, r))
			at = append(at, i)
		}
	}
	if len(crops) == 0 {
		return out, nil
	}
	vecs, err := s.deps.Appearance.EmbedImages(ctx, crops)
	if err != nil {
		return nil, err
	}
	for j, i := range at {
		out[i] = vecs[j]
	}
	return out, nil
}

// frameRows turns a frame's items into stored detections with their
// quality measures: sharpness, how much the frame's edge cuts the box and,
// for objects, how much other objects cover it.
func frameRows(img *image.RGBA, sf sampledFrame, items []vision.Item, app [][]float32) []detRow {
	b := img.Bounds()
	fw, fh := float64(b.Dx()), float64(b.Dy())
	var boxes []image.Rectangle
	for _, it := range items {
		if it.Source != SourceGarment {
			boxes = append(boxes, it.Box.Rect())
		}
	}
	out := make([]detRow, 0, len(items))
	for k, it := range items {
		r := it.Box.Rect()
		row := detRow{
			Frame: sf.Frame, K: k, T: sf.T, Shot: sf.Shot, Label: it.Label, Score: float64(it.Score),
			Box:        [4]float64{float64(it.Box.X0) / fw, float64(it.Box.Y0) / fh, float64(it.Box.X1) / fw, float64(it.Box.Y1) / fh},
			Source:     it.Source,
			Sharpness:  match.Sharpness(img, r),
			EdgeCut:    match.EdgeCut(r, b.Dx(), b.Dy(), 2),
			Embedding:  it.Embedding,
			Colour:     match.ColourHistogram(img, r, false),
			Appearance: app[k],
		}
		switch it.Source {
		case SourceGarment:
			row.Group = "garment:" + string(it.Kind)
		default:
			row.Group = "object"
			others := make([]image.Rectangle, 0, len(boxes))
			for _, o := range boxes {
				if o != r {
					others = append(others, o)
				}
			}
			row.Occlusion = match.Occlusion(r, others)
		}
		out = append(out, row)
	}
	return out
}

// LabelWindow labels the class-agnostic window proposals.
const LabelWindow = "window"

// windowProposals returns up to n windows of img that stand out from their
// surroundings and overlap none of the boxes already proposed: what the
// detector saw is not proposed twice.
func windowProposals(img *image.RGBA, n int, items []vision.Item, kept []vision.Detection) ([]vision.Detection, error) {
	var exclude []image.Rectangle
	for _, it := range items {
		exclude = append(exclude, it.Box.Rect())
	}
	for _, d := range kept {
		exclude = append(exclude, d.Box.Rect())
	}
	ws, err := propose.Find(img, propose.Options{Max: n, Exclude: exclude})
	if err != nil {
		return nil, fmt.Errorf("window proposals: %w", err)
	}
	out := make([]vision.Detection, len(ws))
	for i, w := range ws {
		r := w.Rect
		out[i] = vision.Detection{Class: -1, Label: LabelWindow, Score: float32(w.Score),
			Box: vision.Box{X0: float32(r.Min.X), Y0: float32(r.Min.Y), X1: float32(r.Max.X), Y1: float32(r.Max.Y)}}
	}
	return out, nil
}

// proposalMargin is the context added around a proposal's box, as a
// fraction of its longer side, when it is cut out for embedding. Proposal
// boxes are loose (a window over half a shoe, a box that spills onto the
// street) and the embedder centre-crops what it is given; with more
// context the whole product is in view, much as in the catalog's scene
// views. On the 12 generated bench videos, margins of 0.1, 0.25, 0.4 and
// 0.6 found 0.82, 0.84, 0.87 and 0.76 of the items, with 2.7, 1.3, 0.7 and
// 0 false matches per minute on the negative videos.
const proposalMargin = 0.4

// squareAround returns the square of side (1+margin) times the longer side
// of r centred on r, shifted to lie inside bounds (and cut to them when
// larger). The embedder centre-crops its input to a square, which would cut
// the ends off a wide or tall box; catalog packshots show the whole product
// with a margin, and a square context crop looks like them.
func squareAround(r, bounds image.Rectangle, margin float64) image.Rectangle {
	side := int(float64(max(r.Dx(), r.Dy())) * (1 + margin))
	cx, cy := (r.Min.X+r.Max.X)/2, (r.Min.Y+r.Max.Y)/2
	sq := image.Rect(cx-side/2, cy-side/2, cx-side/2+side, cy-side/2+side)
	shift := func(lo, hi, blo, bhi int) int {
		switch {
		case hi-lo > bhi-blo:
			return 0
		case lo < blo:
			return blo - lo
		case hi > bhi:
			return bhi - hi
		}
		return 0
	}
	sq = sq.Add(image.Pt(shift(sq.Min.X, sq.Max.X, bounds.Min.X, bounds.Max.X), shift(sq.Min.Y, sq.Max.Y, bounds.Min.Y, bounds.Max.Y)))
	return sq.Intersect(bounds)
}

// classAgnosticNMS keeps the best of boxes overlapping by more than iou
// whatever their class: the detector often sees one unfamiliar product as
// several weak classes at once.
func classAgnosticNMS(ds []vision.Detection, iou float32) []vision.Detection {
	s := append([]vision.Detection(nil), ds...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].Score > s[j].Score })
	var out []vision.Detection
	for _, d := range s {
		keep := true
		for _, o := range out {
			if o.Box.IoU(d.Box) > iou {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, d)
		}
	}
	return out
}
