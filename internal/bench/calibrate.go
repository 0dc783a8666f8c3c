package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
	"github.com/vitrine-dev/vitrine/eval/score"
	"github.com/vitrine-dev/vitrine/internal/confidence"
)

// CalibrateOptions tunes Calibrate. Zero fields take defaults.
type CalibrateOptions struct {
	// Seed is the first seed of the generated videos; default 1001, apart
	// from the report's seeds so the report measures held-out videos.
	Seed uint64
	// Packshots and Lookbooks are the sizes of the two generated sets
	// (defaults 8 and 6).
	Packshots, Lookbooks int
	// Reshots is the size of the re-shot set, so the fit sees products
	// shown unlike their catalog photos (default 4; negative: none).
	Reshots int
	// Unseen is the size of the unseen set (default 3; negative: none, and
	// the whole on-model catalog is imported): lookbook reels of products
	// held out of the import, so the fit sees look-alikes of products the
	// catalog lacks, as on real footage, and learns not to trust them.
	Unseen int
	// Fit tunes the fit; Inputs default to confidence.DefaultInputs.
	Fit confidence.FitOptions
	// Extra samples join the generated ones (reviewers' decisions, say).
	Extra []confidence.Sample
	// Progress, when set, is told about each video done.
	Progress func(done, total int, video string)
	// Live fits the calibration of live streams instead: every video is
	// replayed through the live analyser (the pipeline must be a
	// LiveReplayer) and each of its decisions is a sample.
	Live bool
}

// LiveReplayer replays a video file through the live analyser, as a
// stream of it would be analysed with no frame dropped, for CalibrateOptions.Live.
type LiveReplayer interface {
	ReplayLive(ctx context.Context, path string) ([]LiveDecision, error)
}

// LiveDecision is one decision of the live analyser: its item's product
// and time span at stream time T, and the evidence of its confidence.
type LiveDecision struct {
	T            float64
	ProductID    string
	StartS, EndS float64
	Features     map[string]float64
}

// Calibration is the outcome of Calibrate.
type Calibration struct {
	Model   *confidence.Model
	Samples []confidence.Sample
	Videos  int
}

// Calibrate runs generated packshot, lookbook and re-shot videos, reels of
// products held out of the catalog and the negative sample videos through
// the pipeline, labels every candidate item (right when its top-1 product
// is a true item overlapping it in time; every candidate on a negative
// video or a held-out product's reel is wrong) and fits the confidence
// calibration on them.
func Calibrate(ctx context.Context, env *Env, opt CalibrateOptions) (*Calibration, error) {
	if env.Pipeline == nil {
		return nil, errors.New("calibrate: no pipeline")
	}
	replay, ok := env.Pipeline.(LiveReplayer)
	switch {
	case opt.Live && !ok:
		return nil, errors.New("calibrate: the pipeline does not replay live streams")
	case !opt.Live:
		if _, ok := env.Pipeline.(CandidatePipeline); !ok {
			return nil, errors.New("calibrate: the pipeline does not return candidates")
		}
	}
	if opt.Seed == 0 {
		opt.Seed = 1001
	}
	if opt.Packshots <= 0 {
		opt.Packshots = 8
	}
	if opt.Lookbooks <= 0 {
		opt.Lookbooks = 6
	}
	if opt.Reshots == 0 {
		opt.Reshots = 4
	}
	if opt.Unseen == 0 {
		opt.Unseen = 3
	}
	if len(opt.Fit.Inputs) == 0 {
		opt.Fit.Inputs = confidence.DefaultInputs
	}
	e := &Env{Log: env.Log, SamplesDir: env.SamplesDir, CatalogDir: env.CatalogDir, LookbookCatalogDir: env.LookbookCatalogDir,
		WorkDir: env.WorkDir, Pipeline: env.Pipeline, GenSeed: opt.Seed, GenVideos: opt.Packshots, LookbookVideos: opt.Lookbooks, ReshotVideos: opt.Reshots, UnseenVideos: opt.Unseen}
	if _, err := e.ingestAll(ctx); err != nil {
		return nil, fmt.Errorf("calibrate: ingest: %w", err)
	}
	packshots, err := e.generated(ctx)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	lookbooks, err := e.lookbooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	reshots, err := e.reshots(ctx)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	unseen, err := e.unseen(ctx)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	var vs []evalVideo
	for _, r := range slices.Concat(packshots, lookbooks, reshots) {
		vs = append(vs, evalVideo{r.VideoPath, r.Truth})
	}
	for _, r := range unseen {
		// No product of theirs is in the catalog: every candidate is wrong.
		vs = append(vs, evalVideo{path: r.VideoPath})
	}
	for _, p := range e.negativePaths() {
		vs = append(vs, evalVideo{path: p})
	}
	out := &Calibration{}
	for i, v := range vs {
		name := filepath.Base(v.path)
		if opt.Live {
			ds, err := replay.ReplayLive(ctx, v.path)
			if err != nil {
				return nil, fmt.Errorf("calibrate: %s: %w", name, err)
			}
			out.Samples = append(out.Samples, LabelLive(v.truth, ds, name)...)
		} else {
			p, err := process(ctx, e, v)
			if err != nil {
				return nil, fmt.Errorf("calibrate: %s: %w", name, err)
			}
			out.Samples = append(out.Samples, Label(p.truth, p.cand, p.evidence, name)...)
		}
		out.Videos++
		if opt.Progress != nil {
			opt.Progress(i+1, len(vs), name)
		}
	}
	out.Samples = append(out.Samples, opt.Extra...)
	if opt.Fit.Version == "" {
		// To the minute: two fits of one day stay apart.
		opt.Fit.Version = time.Now().UTC().Format("2006-01-02T1504Z") + fmt.Sprintf("-seed%d", opt.Seed)
	}
	if opt.Fit.Note == "" {
		what := "candidate items"
		if opt.Live {
			what = "live analyser decisions (each time a stream's track was matched)"
		}
		opt.Fit.Note = fmt.Sprintf("fitted by vitrine bench calibrate on %d generated packshot videos, %d lookbook reels, %d re-shot reels and %d reels of products held out of the catalog from seed %d, and %d negative sample videos, and %d reviewed items: %d %s",
			len(packshots), len(lookbooks), len(reshots), len(unseen), opt.Seed, len(e.negativePaths()), len(opt.Extra), len(out.Samples), what)
	}
	m, err := confidence.Fit(out.Samples, opt.Fit)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	out.Model = m
	return out, nil
}

// Label turns the candidate items of one video into labelled samples: an
// item is right when its top-1 product is a true item overlapping it in
// time. Items without evidence or without a match are left out.
func Label(truth *groundtruth.Video, cand *score.Prediction, evidence map[string]map[string]float64, group string) []confidence.Sample {
	if cand == nil {
		return nil
	}
	var out []confidence.Sample
	for _, it := range cand.Items {
		f, ok := evidence[it.ID]
		if !ok || len(it.Matches) == 0 {
			continue
		}
		right := false
		for _, t := range truth.Items {
			if t.ProductID == it.Matches[0].ProductID && overlaps(t.StartS, t.EndS, it.StartS, it.EndS) {
				right = true
				break
			}
		}
		out = append(out, confidence.Sample{Features: f, Right: right, Group: group})
	}
	return out
}

// LabelLive turns the live analyser's decisions over one video into
// labelled samples: a decision is right when its product is a true item
// overlapping its item's span. truth nil means no product of the video is
// in the catalog: every decision is wrong.
func LabelLive(truth *groundtruth.Video, ds []LiveDecision, group string) []confidence.Sample {
	out := make([]confidence.Sample, 0, len(ds))
	for _, d := range ds {
		right := false
		if truth != nil {
			for _, t := range truth.Items {
				if t.ProductID == d.ProductID && overlaps(t.StartS, t.EndS, d.StartS, d.EndS) {
					right = true
					break
				}
			}
		}
		out = append(out, confidence.Sample{Features: d.Features, Right: right, Group: group})
	}
	return out
}

// overlaps reports whether a predicted span [p0, p1] meets the true span
// [t0, t1), as the item scorer counts it: a single-frame prediction counts
// when its instant lies inside.
func overlaps(t0, t1, p0, p1 float64) bool {
	if p1 <= p0 {
		return t0 <= p0 && p0 < t1
	}
	return min(t1, p1) > max(t0, p0)
}
