package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/eval/gen"
	"github.com/vitrine-dev/vitrine/eval/groundtruth"
	"github.com/vitrine-dev/vitrine/eval/score"
)

// Pipeline is vitrine's catalog and video processing as the bench sees it.
type Pipeline interface {
	// IngestCatalog imports the catalog in dir (products.csv + images),
	// embeds its images and indexes them, and waits until done.
	IngestCatalog(ctx context.Context, dir string) (IngestResult, error)
	// ProcessVideo runs the whole video workflow on a file and returns the
	// published shoppable document and the time spent in each stage.
	ProcessVideo(ctx context.Context, path string) (*score.Prediction, []StageTime, error)
}

// IngestResult summarises a catalog ingestion.
type IngestResult struct {
	Products int
	Images   int
	// Elapsed is the wall time of the ingestion; zero lets the bench time
	// the IngestCatalog call itself.
	Elapsed time.Duration
	// Stages optionally breaks the time down by workflow step.
	Stages []StageTime
}

// StageTime is the time spent in one stage of the video workflow.
type StageTime struct {
	Stage string
	// Part, when set, names a part of Stage whose time is inside Stage's
	// (the match step's verification, say).
	Part    string
	Elapsed time.Duration
}

// name is how a report names the stage or part.
func (st StageTime) name() string {
	if st.Part == "" {
		return st.Stage
	}
	return st.Stage + ": " + st.Part
}

// negativeVideos show no product of any catalog: every match on them is false.
var negativeVideos = []string{
	"flickd_virgio_reel_2025-05-22_textonly.mp4",
	"pets_pedestrians_vtest.mp4",
}

func runIngest(ctx context.Context, env *Env, s *Section) error {
	if env.Pipeline == nil {
		return skipf("no pipeline wired in")
	}
	res, err := env.ingestAll(ctx)
	if err != nil {
		return fmt.Errorf("ingest catalog: %w", err)
	}
	names := []string{filepath.Base(env.catalogDir()), filepath.Base(env.lookbookCatalogDir())}
	s.Method = "Each catalog (" + strings.Join(names[:len(res)], ", ") + ") is imported, in turn, into one fresh SQLite database (the on-model one without the products the e2e suite holds out for its unseen set): every image is decoded once, its main item detected and embedded and, from the same pixels, the local features that verification compares video crops with stored (before this release a features stage after the index decoded every image again); then the vectors are indexed and the features stage completes what the embed stage could not. The wall time covers the whole run; the rate until ready leaves the features stage out."
	t := Table{Title: "Per stage", Columns: []string{"catalog", "stage", "seconds", "images/s"}}
	for i, r := range res {
		sec := r.Elapsed.Seconds()
		p := names[i] + ": "
		s.Add(p+"products", float64(r.Products), "")
		s.Add(p+"images", float64(r.Images), "")
		s.Add(p+"wall time", sec, "s")
		if sec > 0 {
			s.Headline(p+"ingestion rate", float64(r.Images)/sec, "images/s")
		}
		var after float64 // stages that run once the products are ready
		for _, st := range r.Stages {
			if st.Stage == "features" {
				after += st.Elapsed.Seconds()
			}
		}
		if after > 0 && sec > after {
			s.Add(p+"ingestion rate until products are ready", float64(r.Images)/(sec-after), "images/s")
		}
		for _, st := range r.Stages {
			d := st.Elapsed.Seconds()
			rate := ""
			if d > 0 {
				rate = f1(float64(r.Images) / d)
			}
			t.Rows = append(t.Rows, []string{names[i], st.Stage, f1(d), rate})
		}
	}
	if len(t.Rows) > 0 {
		s.Tables = append(s.Tables, t)
	}
	return nil
}

// ColdPipeline is a Pipeline that can also run a video in a fresh
// process, for the time a one-off command (vitrine video add) takes with
// the loading of models and catalog state counted.
type ColdPipeline interface {
	// ColdProcess runs the whole video workflow on a file in a fresh
	// process and returns its wall time.
	ColdProcess(ctx context.Context, path string) (time.Duration, error)
}

// coldVideos is how many lookbook reels the e2e suite also runs cold.
const coldVideos = 2

// CandidatePipeline is a Pipeline that can also return a processed
// video's items before the publish decision, each with its confidence
// (Prediction items) and the evidence it was computed from, by item id.
// The e2e suite draws precision-recall curves from them and `vitrine
// bench calibrate` fits the calibration on them.
type CandidatePipeline interface {
	Candidates(ctx context.Context, videoID string) (*score.Prediction, map[string]map[string]float64, error)
}

// evalVideo is one video of an evaluation set with its truth (nil for a
// negative video).
type evalVideo struct {
	path  string
	truth *groundtruth.Video
}

// processed is one video through the pipeline.
type processed struct {
	evalVideo
	shown     *score.Prediction // what a player shows
	cand      *score.Prediction // every candidate item (nil without a CandidatePipeline)
	evidence  map[string]map[string]float64
	elapsedS  float64
	stages    []StageTime
	durationS float64
}

// process runs one video through the pipeline; a nil truth makes it a
// negative video of its own duration.
func process(ctx context.Context, env *Env, v evalVideo) (*processed, error) {
	start := time.Now()
	pred, st, err := env.Pipeline.ProcessVideo(ctx, v.path)
	if err != nil {
		return nil, err
	}
	p := &processed{evalVideo: v, shown: pred.Shown(), elapsedS: time.Since(start).Seconds(), stages: st}
	if cp, ok := env.Pipeline.(CandidatePipeline); ok {
		if p.cand, p.evidence, err = cp.Candidates(ctx, pred.Video.ID); err != nil {
			return nil, fmt.Errorf("candidates of %s: %w", filepath.Base(v.path), err)
		}
	}
	if p.truth == nil {
		fps := pred.Video.FPS
		if fps <= 0 {
			fps = 25
		}
		p.truth = &groundtruth.Video{Schema: groundtruth.Schema, FPS: fps, Frames: int(math.Round(pred.Video.DurationS * fps)), Negative: true}
	}
	p.durationS = p.truth.DurationS()
	return p, nil
}

// curveThresholds are the publish thresholds of the precision-recall table.
var curveThresholds = []float64{0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95}

// setScore accumulates one evaluation set's scores.
type setScore struct {
	shown, cand score.ItemScore
	curve       []score.ItemScore // by curveThresholds, on the candidates
	shots       score.ShotScore
	cond        conditionCounts
	strength    strengthCounts
	misses      [][]string
	videos      int
}

func (s *setScore) add(p *processed) {
	if s.curve == nil {
		s.curve = make([]score.ItemScore, len(curveThresholds))
	}
	s.videos++
	sc := score.Items(p.truth, p.shown, score.ItemOptions{K: 5, TimeTolerance: 1})
	s.shown.Merge(sc)
	var cand *score.ItemScore
	if p.cand != nil {
		c := score.Items(p.truth, p.cand, score.ItemOptions{K: 5, TimeTolerance: 1})
		cand = &c
		s.cand.Merge(c)
		for i, t := range curveThresholds {
			s.curve[i].Merge(score.Items(p.truth, p.cand.AtConfidence(t), score.ItemOptions{K: 5, TimeTolerance: 1}))
		}
	}
	if p.truth.Negative {
		return
	}
	s.cond.add(p.truth, sc)
	s.misses = append(s.misses, missRows(filepath.Base(p.path), sc)...)
	s.shots.Add(score.Shots(score.TruthBoundaries(p.truth), score.PredBoundaries(p.shown, p.truth.FPS), shotTolerance))
	s.strength.add(p.truth, sc, cand)
}

// report adds the set's metrics and tables to a section.
func (s *setScore) report(sec *Section, name string) {
	if s.videos == 0 {
		return
	}
	p := name + ": "
	sec.Add(p+"videos", float64(s.videos), "")
	sec.Add(p+"true items", float64(s.shown.TruthItems), "")
	sec.Headline(p+"published-item precision (right top-1 product while on screen)", s.shown.Precision, "")
	sec.Headline(p+"found@1 (a published item has the product first while it is on screen)", s.shown.Top1, "")
	sec.Headline(p+"found@5", s.shown.Top5, "")
	sec.Headline(p+"false published items per minute", s.shown.FalseMatchesPerMin, "/min")
	sec.Add(p+"published items", float64(s.shown.MatchedItems), "")
	if s.shown.Found > 0 {
		sec.Add(p+"found items with the time span right to within 1 s", float64(s.shown.Timed)/float64(s.shown.Found), "")
	}
	sec.Add(p+"mean box IoU of published boxes on found items", s.shown.MeanBoxIoU, "")
	sec.Add(p+"boxes with IoU >= 0.5", s.shown.BoxIoU50, "")
	if s.cand.TruthItems > 0 {
		sec.Add(p+"candidates (before the publish decision): found@1", s.cand.Top1, "")
		sec.Add(p+"candidates: found@5", s.cand.Top5, "")
		sec.Add(p+"candidates: precision", s.cand.Precision, "")
		t := Table{Title: name + ": precision and recall against the publish threshold (candidates' confidence alone; the published items above also pass the one-product-per-place and hotspot-cap rules)",
			Columns: []string{"threshold", "items", "precision", "found@1", "found@5", "false per minute"}}
		for i, th := range curveThresholds {
			c := s.curve[i]
			t.Rows = append(t.Rows, []string{strconv.FormatFloat(th, 'f', 2, 64), strconv.Itoa(c.MatchedItems), f3(c.Precision), f3(c.Top1), f3(c.Top5), f1(c.FalseMatchesPerMin)})
		}
		sec.Tables = append(sec.Tables, t)
	}
	sec.Add(p+"shot boundaries F1", s.shots.All.F1, "")
}

func runE2E(ctx context.Context, env *Env, s *Section) error {
	if env.Pipeline == nil {
		return skipf("no pipeline wired in")
	}
	if _, err := env.ingestAll(ctx); err != nil {
		return fmt.Errorf("ingest catalogs: %w", err)
	}
	packshots, err := env.generated(ctx)
	if err != nil {
		return fmt.Errorf("generate evaluation set: %w", err)
	}
	lookbooks, err := env.lookbooks(ctx)
	if err != nil {
		return fmt.Errorf("generate lookbook set: %w", err)
	}
	reshots, err := env.reshots(ctx)
	if err != nil {
		return fmt.Errorf("generate re-shot set: %w", err)
	}
	unseen, err := env.unseen(ctx)
	if err != nil {
		return fmt.Errorf("generate unseen set: %w", err)
	}
	s.Method = fmt.Sprintf("Both sample catalogs are imported, the on-model one without the products held out for the unseen set. Every generated video goes through the full video workflow: the packshot set (catalog packshots composited onto footage at known times and places), "+
		"the on-model lookbook set (reels made from the on-model catalog's photos with pan/zoom, split screens, picture-in-picture, grading, cuts, fades and dissolves), "+
		"the re-shot set (reels like the lookbook's, with more photos small over footage, where every photo is first cut to the garment, warped, tilted, relit, covered by blobs, blurred, JPEG-compressed and half mirrored, each at a strength drawn from 0..1; eval/README.md), "+
		"the unseen set (lookbook reels of on-model products held out of the import, one product family in %d: every item published there shows a look-alike of a product the catalog lacks, as on real footage), "+
		"then the negative sample videos (%s; no catalog product). Scores are of the items a player shows (published): precision is the share whose top-1 product is on screen at that time; "+
		"found@1 and found@5 the share of true items that a published item overlapping them in time has at rank 1 or within the top 5.", unseenMod, joinNames(negativeVideos))
	peakReset := resetPeakRSS()
	stages := map[string]time.Duration{}
	parts := map[string]bool{} // stage names that are parts of another stage
	sets := map[string]*setScore{"packshot": {}, "lookbook": {}, "reshot": {}, "unseen": {}, "negative": {}}
	var videoS, procS float64
	warm := map[string][2]float64{} // path: duration, wall time
	per := Table{Title: "Per video", Columns: []string{"set", "video", "duration s", "true items", "published", "right", "found@1", "candidates", "x real time"}}
	var failures []string
	attempted := 0
	run := func(set string, v evalVideo) error {
		attempted++
		p, err := process(ctx, env, v)
		if errors.Is(err, ErrSkip) || ctx.Err() != nil {
			return fmt.Errorf("process %s: %w", filepath.Base(v.path), err)
		}
		if err != nil {
			// One broken video must not hide the others' numbers.
			env.log().WarnContext(ctx, "bench: e2e video failed", "video", filepath.Base(v.path), "err", err)
			failures = append(failures, fmt.Sprintf("%s: %v", filepath.Base(v.path), err))
			per.Rows = append(per.Rows, []string{set, filepath.Base(v.path) + " (failed)", "", "", "", "", "", "", ""})
			return nil
		}
		for _, x := range p.stages {
			stages[x.name()] += x.Elapsed
			if x.Part != "" {
				parts[x.name()] = true
			}
		}
		sets[set].add(p)
		sc := score.Items(p.truth, p.shown, score.ItemOptions{K: 5, TimeTolerance: 1})
		videoS += p.durationS
		procS += p.elapsedS
		warm[v.path] = [2]float64{p.durationS, p.elapsedS}
		cands := "–"
		if p.cand != nil {
			cands = strconv.Itoa(len(p.cand.Items))
		}
		found1 := f3(sc.Top1)
		if p.truth.Negative {
			found1 = "–"
		}
		per.Rows = append(per.Rows, []string{set, filepath.Base(v.path), f1(p.durationS), strconv.Itoa(sc.TruthItems), strconv.Itoa(sc.MatchedItems),
			strconv.Itoa(sc.MatchedItems - sc.FalseMatches), found1, cands, f1(p.durationS / p.elapsedS)})
		return nil
	}
	for _, r := range packshots {
		if err := run("packshot", evalVideo{r.VideoPath, r.Truth}); err != nil {
			return err
		}
	}
	for _, r := range lookbooks {
		if err := run("lookbook", evalVideo{r.VideoPath, r.Truth}); err != nil {
			return err
		}
	}
	for _, r := range reshots {
		if err := run("reshot", evalVideo{r.VideoPath, r.Truth}); err != nil {
			return err
		}
	}
	for _, r := range unseen {
		// No product of theirs is in the catalog: scored as negatives.
		if err := run("unseen", evalVideo{path: r.VideoPath}); err != nil {
			return err
		}
	}
	for _, path := range env.negativePaths() {
		if err := run("negative", evalVideo{path: path}); err != nil {
			return err
		}
	}
	if cp, ok := env.Pipeline.(ColdPipeline); ok {
		if err := coldRuns(ctx, cp, lookbooks, warm, s); err != nil {
			failures = append(failures, err.Error())
		}
	}
	_, seed := env.genParams()
	s.Add("generated sets: first seed", float64(seed), "")
	sets["lookbook"].report(s, "lookbook")
	sets["reshot"].report(s, "reshot")
	sets["reshot"].strength.report(s, "reshot")
	sets["packshot"].report(s, "packshot")
	if un := sets["unseen"]; un.videos > 0 {
		s.Headline("unseen products: false published items per minute", un.shown.FalseMatchesPerMin, "/min")
		s.Add("unseen products: published items", float64(un.shown.MatchedItems), "")
		s.Add("unseen products: candidate items (before the publish decision)", float64(un.cand.MatchedItems), "")
		t := Table{Title: "unseen: false items per minute against the publish threshold (candidates' confidence alone)", Columns: []string{"threshold", "items", "false per minute"}}
		for i, th := range curveThresholds {
			c := un.curve[i]
			t.Rows = append(t.Rows, []string{strconv.FormatFloat(th, 'f', 2, 64), strconv.Itoa(c.MatchedItems), f1(c.FalseMatchesPerMin)})
		}
		s.Tables = append(s.Tables, t)
	}
	if neg := sets["negative"]; neg.videos > 0 {
		s.Headline("negative videos: false published items per minute", neg.shown.FalseMatchesPerMin, "/min")
		s.Add("negative videos: published items", float64(neg.shown.MatchedItems), "")
	}
	if peak := PeakRSS(); peak > 0 && peakReset {
		// ffmpeg runs in child processes, outside this figure; the media
		// package bounds each with an address-space limit.
		s.Add("peak memory of vitrine during the videos (resident, with ONNX Runtime)", float64(peak)/(1<<20), "MiB")
	}
	if procS > 0 {
		s.Headline("end to end speed", videoS/procS, "x real time")
	}
	s.Add("video processed", videoS, "s")
	s.Add("processing wall time", procS, "s")
	if len(stages) > 0 {
		var total time.Duration
		names := make([]string, 0, len(stages))
		for k, v := range stages {
			names = append(names, k)
			if !parts[k] {
				total += v
			}
		}
		// Whole stages by time, each followed by its parts.
		sort.Slice(names, func(i, j int) bool {
			pi, pj := strings.SplitN(names[i], ": ", 2)[0], strings.SplitN(names[j], ": ", 2)[0]
			if pi != pj {
				return stages[pi] > stages[pj]
			}
			if parts[names[i]] != parts[names[j]] {
				return !parts[names[i]]
			}
			return stages[names[i]] > stages[names[j]]
		})
		t := Table{Title: "Per stage (all videos; a stage's parts, such as match: verify, are shares of the whole run inside their stage)", Columns: []string{"stage", "seconds", "share", "x real time"}}
		for _, n := range names {
			d := stages[n].Seconds()
			t.Rows = append(t.Rows, []string{n, f1(d), strconv.FormatFloat(100*d/total.Seconds(), 'f', 1, 64) + " %", f1(videoS / d)})
		}
		s.Tables = append(s.Tables, t)
	}
	s.Tables = append(s.Tables, per)
	for _, name := range []string{"lookbook", "reshot", "packshot"} {
		set := sets[name]
		if set.videos == 0 {
			continue
		}
		s.Tables = append(s.Tables, set.cond.table(name))
		s.Tables = append(s.Tables, Table{Title: name + ": items not found, or found with the span off by more than 1 s",
			Columns: []string{"video", "product", "true span s", "predicted span s", "best rank"}, Rows: set.misses})
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d of %d videos failed, numbers cover the others: %s", len(failures), attempted, strings.Join(failures, "; "))
	}
	return nil
}

// coldRuns runs the first coldVideos lookbook reels again in a fresh
// process each and reports their speed beside the warm runs' of the same
// reels.
func coldRuns(ctx context.Context, cp ColdPipeline, lookbooks []*gen.Result, warm map[string][2]float64, s *Section) error {
	t := Table{Title: "Cold and warm runs of the same reels (cold: vitrine video add in a fresh process on a copy of the installation, opening the models and loading the catalog's index and features; warm: the run above, in this process)",
		Columns: []string{"video", "duration s", "warm s", "warm x real time", "cold s", "cold x real time"}}
	var durS, warmS, coldS float64
	var errs []string
	for _, r := range lookbooks {
		if len(t.Rows) == coldVideos {
			break
		}
		w, ok := warm[r.VideoPath]
		if !ok {
			continue
		}
		d, err := cp.ColdProcess(ctx, r.VideoPath)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err.Error())
			continue
		}
		c := d.Seconds()
		durS, warmS, coldS = durS+w[0], warmS+w[1], coldS+c
		t.Rows = append(t.Rows, []string{filepath.Base(r.VideoPath), f1(w[0]), f1(w[1]), f1(w[0] / w[1]), f1(c), f1(w[0] / c)})
	}
	if coldS > 0 {
		s.Headline("cold vitrine video add speed", durS/coldS, "x real time")
		s.Add("warm speed on the same reels", durS/warmS, "x real time")
		s.Tables = append(s.Tables, t)
	}
	if len(errs) > 0 {
		return fmt.Errorf("cold runs: %s", strings.Join(errs, "; "))
	}
	return nil
}

// missRows lists the true items of one video that were not found or not
// timed, so a report says which products and spans the pipeline got wrong.
func missRows(video string, sc score.ItemScore) [][]string {
	var rows [][]string
	span := func(a, b float64) string { return f1(a) + "–" + f1(b) }
	for _, r := range sc.PerItem {
		if r.Timed {
			continue
		}
		pred, rank := "–", "–"
		if r.Found {
			pred = span(r.PredStartS, r.PredEndS)
		}
		if r.Rank > 0 {
			rank = strconv.Itoa(r.Rank)
		}
		rows = append(rows, []string{video, r.ProductID, span(r.StartS, r.EndS), pred, rank})
	}
	return rows
}

// conditionCounts splits found rates by how hard the true item was.
type conditionCounts struct {
	n, found [4]int
}

var conditionNames = [4]string{"occluded", "not occluded", "small (box height < 30 % of frame)", "large"}

func (c *conditionCounts) add(truth *groundtruth.Video, sc score.ItemScore) {
	for i, r := range sc.PerItem {
		if i >= len(truth.Items) {
			break
		}
		it := truth.Items[i]
		var hs []float64
		for _, b := range it.Boxes {
			hs = append(hs, b.H)
		}
		sort.Float64s(hs)
		keys := []int{1, 3}
		if it.Occluded > 0 {
			keys[0] = 0
		}
		if len(hs) > 0 && hs[len(hs)/2] < 0.3 {
			keys[1] = 2
		}
		for _, k := range keys {
			c.n[k]++
			if r.Found {
				c.found[k]++
			}
		}
	}
}

func (c *conditionCounts) table(set string) Table {
	t := Table{Title: set + ": found@5 by condition", Columns: []string{"condition", "true items", "found", "found rate"}}
	for k, name := range conditionNames {
		rate := "–"
		if c.n[k] > 0 {
			rate = f3(float64(c.found[k]) / float64(c.n[k]))
		}
		t.Rows = append(t.Rows, []string{name, strconv.Itoa(c.n[k]), strconv.Itoa(c.found[k]), rate})
	}
	return t
}

// strengthCounts splits found rates by the strength of each
// transformation a re-shot item went through, in thirds of 0..1.
type strengthCounts struct {
	// by transformation, then third: true items, found at rank 1 and
	// within 5 by published items, and within 5 by candidates.
	n, hit1, hit5, cand5 map[string]*[3]int
	cand                 bool
}

// strengthBin is the third of 0..1 a strength falls in.
func strengthBin(v float64) int { return max(0, min(2, int(v*3))) }

func (c *strengthCounts) add(truth *groundtruth.Video, sc score.ItemScore, cand *score.ItemScore) {
	if c.n == nil {
		c.n, c.hit1, c.hit5, c.cand5 = map[string]*[3]int{}, map[string]*[3]int{}, map[string]*[3]int{}, map[string]*[3]int{}
	}
	if cand != nil {
		c.cand = true
	}
	for i, r := range sc.PerItem {
		if i >= len(truth.Items) {
			break
		}
		for name, v := range truth.Items[i].Strengths {
			if c.n[name] == nil {
				c.n[name], c.hit1[name], c.hit5[name], c.cand5[name] = &[3]int{}, &[3]int{}, &[3]int{}, &[3]int{}
			}
			b := strengthBin(v)
			c.n[name][b]++
			if r.Rank == 1 {
				c.hit1[name][b]++
			}
			if r.Rank >= 1 && r.Rank <= 5 {
				c.hit5[name][b]++
			}
			if cand != nil && i < len(cand.PerItem) && cand.PerItem[i].Rank >= 1 && cand.PerItem[i].Rank <= 5 {
				c.cand5[name][b]++
			}
		}
	}
}

// report adds the found rates by strength as a table and, per
// transformation, the change of found@1 from its weakest to its strongest
// third: the most negative breaks recognition first.
func (c *strengthCounts) report(sec *Section, set string) {
	if len(c.n) == 0 {
		return
	}
	names := slices.Clone(gen.ReshotTransforms)
	for name := range c.n {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	rate := func(hit, n int) string {
		if n == 0 {
			return "–"
		}
		return f3(float64(hit) / float64(n))
	}
	t := Table{Title: set + ": found rates against each transformation's strength (thirds of 0..1: low < 0.33 <= mid < 0.67 <= high; every item went through all of them at once)",
		Columns: []string{"transformation", "strength", "true items", "found@1", "found@5", "candidates found@5"}}
	type drop struct {
		name  string
		d, se float64
	}
	var drops []drop
	for _, name := range names {
		n := c.n[name]
		if n == nil {
			continue
		}
		labels := []string{"low", "mid", "high"}
		if name == gen.ReshotMirror {
			labels = []string{"no", "", "yes"}
		}
		for b, l := range labels {
			if l == "" {
				continue
			}
			cand := "–"
			if c.cand {
				cand = rate(c.cand5[name][b], n[b])
			}
			t.Rows = append(t.Rows, []string{name, l, strconv.Itoa(n[b]), rate(c.hit1[name][b], n[b]), rate(c.hit5[name][b], n[b]), cand})
		}
		if n[0] > 0 && n[2] > 0 {
			lo, hi := float64(c.hit1[name][0])/float64(n[0]), float64(c.hit1[name][2])/float64(n[2])
			// One standard error of the difference of two proportions:
			// with a few reels, thirds hold a dozen or two items each.
			se := math.Sqrt(lo*(1-lo)/float64(n[0]) + hi*(1-hi)/float64(n[2]))
			sec.Add(set+": found@1 change from low to high "+name, hi-lo, "")
			drops = append(drops, drop{name, hi - lo, se})
		}
	}
	sec.Tables = append(sec.Tables, t)
	if len(drops) > 0 {
		sort.SliceStable(drops, func(i, j int) bool { return drops[i].d < drops[j].d })
		var order []string
		for _, d := range drops {
			order = append(order, fmt.Sprintf("%s %+.2f ±%.2f", d.name, d.d, d.se))
		}
		sec.Method += " Re-shot found@1 from the weakest to the strongest third of each transformation (± one standard error), steepest fall first: " + strings.Join(order, ", ") + "."
	}
}

func joinNames(ns []string) string {
	out := ""
	for i, n := range ns {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}
