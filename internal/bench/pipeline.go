package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

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
	Stage   string
	Elapsed time.Duration
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
	res, err := env.ingest(ctx)
	if err != nil {
		return fmt.Errorf("ingest catalog: %w", err)
	}
	sec := res.Elapsed.Seconds()
	s.Method = "The catalog (" + filepath.Base(env.catalogDir()) + ") is imported into a fresh SQLite database, every image is decoded, the main item detected and embedded, and the vectors indexed; the wall time covers the whole run."
	s.Add("products", float64(res.Products), "")
	s.Add("images", float64(res.Images), "")
	s.Add("wall time", sec, "s")
	if sec > 0 {
		s.Headline("ingestion rate", float64(res.Images)/sec, "images/s")
	}
	if len(res.Stages) > 0 {
		t := Table{Title: "Per stage", Columns: []string{"stage", "seconds", "images/s"}}
		for _, st := range res.Stages {
			d := st.Elapsed.Seconds()
			rate := ""
			if d > 0 {
				rate = f1(float64(res.Images) / d)
			}
			t.Rows = append(t.Rows, []string{st.Stage, f1(d), rate})
		}
		s.Tables = append(s.Tables, t)
	}
	return nil
}

func runE2E(ctx context.Context, env *Env, s *Section) error {
	if env.Pipeline == nil {
		return skipf("no pipeline wired in")
	}
	if _, err := env.ingest(ctx); err != nil {
		return fmt.Errorf("ingest catalog: %w", err)
	}
	set, err := env.generated(ctx)
	if err != nil {
		return fmt.Errorf("generate evaluation set: %w", err)
	}
	s.Method = fmt.Sprintf("Every generated video (products of the catalog composited at known times and places) and the negative sample videos (%s; no catalog product) "+
		"go through the full video workflow. An item is found when a predicted item overlapping it in time has the right product in its top %d; "+
		"false matches are predicted items whose top-1 product is not on screen at that time.", joinNames(negativeVideos), 5)
	peakReset := resetPeakRSS()
	stages := map[string]time.Duration{}
	var items, negItems score.ItemScore
	var shots score.ShotScore
	var videoS, procS float64
	per := Table{Title: "Per video", Columns: []string{"video", "duration s", "true items", "found", "within 1 s", "top-1", "false matches", "x real time"}}
	var failures []string
	attempted := 0
	var cond conditionCounts
	misses := Table{Title: "Items not found, or found with the span off by more than 1 s (generated videos)",
		Columns: []string{"video", "product", "true span s", "predicted span s", "best rank"}}
	run := func(path string, truth *groundtruth.Video, neg bool) error {
		attempted++
		start := time.Now()
		pred, st, err := env.Pipeline.ProcessVideo(ctx, path)
		if errors.Is(err, ErrSkip) || ctx.Err() != nil {
			return fmt.Errorf("process %s: %w", filepath.Base(path), err)
		}
		if err != nil {
			// One broken video must not hide the others' numbers.
			env.log().WarnContext(ctx, "bench: e2e video failed", "video", filepath.Base(path), "err", err)
			failures = append(failures, fmt.Sprintf("%s: %v", filepath.Base(path), err))
			per.Rows = append(per.Rows, []string{filepath.Base(path) + " (failed)", "", "", "", "", "", "", ""})
			return nil
		}
		el := time.Since(start).Seconds()
		for _, x := range st {
			stages[x.Stage] += x.Elapsed
		}
		if truth == nil {
			fps := pred.Video.FPS
			if fps <= 0 {
				fps = 25
			}
			truth = &groundtruth.Video{Schema: groundtruth.Schema, FPS: fps, Frames: int(math.Round(pred.Video.DurationS * fps)), Negative: true}
		}
		sc := score.Items(truth, pred, score.ItemOptions{K: 5, TimeTolerance: 1})
		if neg {
			negItems.Merge(sc)
		} else {
			cond.add(truth, sc)
			items.Merge(sc)
			misses.Rows = append(misses.Rows, missRows(filepath.Base(path), sc)...)
			shots.Add(score.Shots(score.TruthBoundaries(truth), score.PredBoundaries(pred, truth.FPS), shotTolerance))
		}
		d := truth.DurationS()
		videoS += d
		procS += el
		found, timed, top1 := strconv.Itoa(sc.Found), strconv.Itoa(sc.Timed), f3(sc.Top1)
		if neg {
			found, timed, top1 = "–", "–", "–"
		}
		per.Rows = append(per.Rows, []string{filepath.Base(path), f1(d), strconv.Itoa(sc.TruthItems), found, timed, top1,
			strconv.Itoa(sc.FalseMatches), f1(d / el)})
		return nil
	}
	for _, r := range set {
		if err := run(r.VideoPath, r.Truth, false); err != nil {
			return err
		}
	}
	negs := 0
	for _, name := range negativeVideos {
		path := filepath.Join(env.SamplesDir, "videos", name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		n := len(failures)
		if err := run(path, nil, true); err != nil {
			return err
		}
		if len(failures) == n {
			negs++
		}
	}
	s.Add("generated videos", float64(len(set)), "")
	_, seed := env.genParams()
	s.Add("generated set: first seed", float64(seed), "")
	s.Add("true items", float64(items.TruthItems), "")
	s.Headline("items found (right product in top 5 while on screen)", items.FoundRate, "")
	s.Headline("items found with their time span right to within 1 s", items.TimedRate, "")
	s.Headline("retrieval top-1", items.Top1, "")
	s.Add("retrieval top-5", items.Top5, "")
	s.Add("retrieval top-10", items.Top10, "")
	s.Add("mean time IoU of found items", items.MeanTimeIoU, "")
	s.Add("mean box IoU", items.MeanBoxIoU, "")
	s.Add("boxes with IoU >= 0.5", items.BoxIoU50, "")
	s.Add("false matches per minute (generated)", items.FalseMatchesPerMin, "/min")
	if negs > 0 {
		s.Headline("false matches per minute (negative videos)", negItems.FalseMatchesPerMin, "/min")
	}
	s.Add("shot boundaries F1 (generated)", shots.All.F1, "")
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
			total += v
		}
		sort.Slice(names, func(i, j int) bool { return stages[names[i]] > stages[names[j]] })
		t := Table{Title: "Per stage (all videos)", Columns: []string{"stage", "seconds", "share", "x real time"}}
		for _, n := range names {
			d := stages[n].Seconds()
			t.Rows = append(t.Rows, []string{n, f1(d), strconv.FormatFloat(100*d/total.Seconds(), 'f', 1, 64) + " %", f1(videoS / d)})
		}
		s.Tables = append(s.Tables, t)
	}
	s.Tables = append(s.Tables, per, cond.table(), misses)
	if len(failures) > 0 {
		return fmt.Errorf("%d of %d videos failed, numbers cover the others: %s", len(failures), attempted, strings.Join(failures, "; "))
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

func (c *conditionCounts) table() Table {
	t := Table{Title: "Found rate by condition (generated videos)", Columns: []string{"condition", "true items", "found", "found rate"}}
	for k, name := range conditionNames {
		rate := "–"
		if c.n[k] > 0 {
			rate = f3(float64(c.found[k]) / float64(c.n[k]))
		}
		t.Rows = append(t.Rows, []string{name, strconv.Itoa(c.n[k]), strconv.Itoa(c.found[k]), rate})
	}
	return t
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
