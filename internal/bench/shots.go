package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vitrine-dev/vitrine/eval/score"
)

// ShotDetector finds the shot boundaries of a video file.
type ShotDetector interface {
	DetectShots(ctx context.Context, path string) ([]DetectedBoundary, error)
}

// DetectedBoundary is the start of a new shot. Kind is "cut" or a gradual
// transition ("fade", "dissolve", "gradual").
type DetectedBoundary struct {
	TimeS float64
	Kind  string
}

// goldenVideo is a sample video with published shot boundaries.
type goldenVideo struct {
	file     string
	fps      float64
	duration float64
	truth    []score.Boundary
	source   string
}

// shotGoldens are reference boundaries for two of the sample clips:
// goldeneye's cuts from PySceneDetect's goldens (videos/psd_goldens; every
// content detector agrees), and testvideo's scene starts from its goldens
// (frames 201 and 382) with the spans of the fades measured from the mean
// luma (out from 6.0 s, in until 8.0 s; out from 11.04 s, in until 14.11
// s), plus the rock-to-texture dissolve over 17.65-18.62 s that the goldens
// leave out.
var shotGoldens = []goldenVideo{
	{
		file: "pyscenedetect_goldeneye_cuts.mp4", fps: 24000.0 / 1001, duration: 10,
		truth:  score.CutBoundaries([]int{90, 210}),
		source: "goldeneye-vfr-drop3.mp4.ContentDetector.default.json",
	},
	{
		file: "pyscenedetect_testvideo_fades.mp4", fps: 30000.0 / 1001, duration: 24,
		truth: []score.Boundary{
			{Frame: 201, Lo: 180, Hi: 240, Kind: score.KindGradual},
			{Frame: 382, Lo: 331, Hi: 423, Kind: score.KindGradual},
			{Frame: 544, Lo: 529, Hi: 558, Kind: score.KindGradual},
		},
		source: "testvideo_scenes.csv + measured fades and dissolve",
	},
}

// shotTolerance is the frame tolerance of the shot scores.
const shotTolerance = 2

func toBoundaries(ds []DetectedBoundary, fps float64) []score.Boundary {
	p := &score.Prediction{Shots: []score.PredShot{{StartS: 0}}}
	for _, d := range ds {
		p.Shots = append(p.Shots, score.PredShot{StartS: d.TimeS, Transition: d.Kind})
	}
	return score.PredBoundaries(p, fps)
}

func runShots(ctx context.Context, env *Env, s *Section) error {
	if env.Shots == nil {
		return skipf("no shot detector wired in")
	}
	s.Method = fmt.Sprintf("The shot detector runs on every video of the generated set (exact boundaries) and on the PySceneDetect clips with published goldens. "+
		"A detected boundary matches a true one within its transition span ± %d frames; cuts and gradual transitions are scored against their own kind, and \"all\" ignores the kind.", shotTolerance)
	set, err := env.generated(ctx)
	if err != nil {
		return fmt.Errorf("generate evaluation set: %w", err)
	}
	per := Table{Title: "Per video", Columns: []string{"video", "true cuts", "true gradual", "detected", "cut F1", "gradual F1", "all F1", "x real time"}}
	var gen, golden score.ShotScore
	var videoS, detectS float64
	for _, r := range set {
		start := time.Now()
		ds, err := env.Shots.DetectShots(ctx, r.VideoPath)
		if err != nil {
			return fmt.Errorf("detect shots in %s: %w", filepath.Base(r.VideoPath), err)
		}
		el := time.Since(start).Seconds()
		truth := score.TruthBoundaries(r.Truth)
		sc := score.Shots(truth, toBoundaries(ds, r.Truth.FPS), shotTolerance)
		gen.Add(sc)
		videoS += r.Truth.DurationS()
		detectS += el
		per.Rows = append(per.Rows, []string{filepath.Base(r.VideoPath), strconv.Itoa(sc.Cut.TP + sc.Cut.FN), strconv.Itoa(sc.Gradual.TP + sc.Gradual.FN),
			strconv.Itoa(len(ds)), f3(sc.Cut.F1), f3(sc.Gradual.F1), f3(sc.All.F1), f1(r.Truth.DurationS() / el)})
	}
	goldens := 0
	for _, g := range shotGoldens {
		path := filepath.Join(env.SamplesDir, "videos", g.file)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		start := time.Now()
		ds, err := env.Shots.DetectShots(ctx, path)
		if err != nil {
			return fmt.Errorf("detect shots in %s: %w", g.file, err)
		}
		el := time.Since(start).Seconds()
		sc := score.Shots(g.truth, toBoundaries(ds, g.fps), shotTolerance)
		golden.Add(sc)
		goldens++
		videoS += g.duration
		detectS += el
		per.Rows = append(per.Rows, []string{g.file + " (golden)", strconv.Itoa(sc.Cut.TP + sc.Cut.FN), strconv.Itoa(sc.Gradual.TP + sc.Gradual.FN),
			strconv.Itoa(len(ds)), f3(sc.Cut.F1), f3(sc.Gradual.F1), f3(sc.All.F1), f1(g.duration / el)})
	}
	s.Add("generated videos", float64(len(set)), "")
	_, seed := env.genParams()
	s.Add("generated set: first seed", float64(seed), "")
	s.Headline("generated: cut F1", gen.Cut.F1, "")
	s.Add("generated: cut precision", gen.Cut.Precision, "")
	s.Add("generated: cut recall", gen.Cut.Recall, "")
	s.Headline("generated: gradual F1", gen.Gradual.F1, "")
	s.Add("generated: gradual precision", gen.Gradual.Precision, "")
	s.Add("generated: gradual recall", gen.Gradual.Recall, "")
	s.Add("generated: all boundaries F1", gen.All.F1, "")
	if goldens > 0 {
		s.Add("PySceneDetect goldens: videos", float64(goldens), "")
		s.Headline("PySceneDetect goldens: all boundaries F1", golden.All.F1, "")
		s.Add("PySceneDetect goldens: cut F1", golden.Cut.F1, "")
		s.Add("PySceneDetect goldens: gradual F1", golden.Gradual.F1, "")
	}
	if detectS > 0 {
		s.Headline("detection speed", videoS/detectS, "x real time")
	}
	s.Tables = append(s.Tables, per)
	return nil
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f3(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
