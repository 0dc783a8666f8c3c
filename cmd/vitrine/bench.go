package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vitrine-dev/vitrine/eval/gen"
	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/bench"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/shots"
	"github.com/vitrine-dev/vitrine/internal/shots/shoteval"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

func init() {
	register("bench", "measure accuracy and speed; write bench/REPORT.md and bench/report.json", func() command { return &benchCmd{} })
}

type benchCmd struct{}

// defaultSamplesDir is $VITRINE_SAMPLES, else ../shared/data.
func defaultSamplesDir() string {
	if d := os.Getenv("VITRINE_SAMPLES"); d != "" {
		return d
	}
	return filepath.Join("..", "shared", "data")
}

func (c *benchCmd) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "gen" {
		return benchGen(ctx, args[1:])
	}
	if len(args) > 0 && args[0] == "calibrate" {
		return benchCalibrate(ctx, args[1:])
	}
	var names []string
	for _, s := range bench.Suites() {
		names = append(names, s.Name)
	}
	fs := newFlagSet("bench", "bench [flags] [suite…]",
		"Runs the chosen suites ("+strings.Join(names, ", ")+"; all by default) against a catalog and video\n"+
			"set (the bundled samples by default) and writes a Markdown report and a JSON file.\n"+
			"'vitrine bench gen' writes a labelled evaluation set without running anything else.")
	load := withConfig(fs)
	out := fs.String("out", "bench", "directory for REPORT.md and report.json")
	samples := fs.String("samples", defaultSamplesDir(), "sample data directory (catalog/ and videos/)")
	catalog := fs.String("catalog", "", "catalog directory (products.csv + images); default <samples>/catalog")
	work := fs.String("work", "", "scratch directory for generated videos and databases (default: a temporary directory, removed afterwards)")
	seed := fs.Uint64("seed", 1, "seed of the generated evaluation set")
	videos := fs.Int("videos", 5, "number of generated evaluation videos")
	reshots := fs.Int("reshots", 3, "re-shot reels in the e2e suite (lookbook-like reels with every photo warped, relit, covered, …); 0 for none")
	unseen := fs.Int("unseen", 2, "reels of on-model products held out of the import in the e2e suite (every item published on them is false); 0 for none, importing the whole catalog")
	annN := fs.Int("ann-n", 20000, "vectors in the ANN measurement")
	longMin := fs.Float64("long-minutes", 10, "length of the scale suite's long 1080p video, made from the sample videos; 0 for none")
	// Suites may come before or after flags.
	var suites []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		suites = append(suites, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	selected, err := bench.Select(suites)
	if err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg, stderr)
	workDir, catDir, cleanup, err := benchDirs("bench", *samples, *work, *catalog)
	if err != nil {
		return err
	}
	defer cleanup()
	ba := newBenchApp(cfg, workDir, catDir)
	defer ba.Close(context.WithoutCancel(ctx))
	env := &bench.Env{
		Log:          log,
		SamplesDir:   *samples,
		CatalogDir:   *catalog,
		ModelsDir:    cfg.ModelsDir,
		WorkDir:      workDir,
		Versions:     map[string]string{"vitrine": version},
		GenSeed:      *seed,
		GenVideos:    *videos,
		ReshotVideos: setSize(*reshots),
		UnseenVideos: setSize(*unseen),
		LongVideoS:   longVideoS(*longMin),
		ANN:          bench.ANNOptions{N: *annN},
		Shots:        shotDetector{},
		Pipeline:     ba,
		API:          ba.API,
		Live:         ba,
	}
	if err := vision.InitRuntime(cfg.ORTLib); err == nil {
		env.Versions["onnxruntime"] = ort.GetVersion()
		env.Versions["onnxruntime int8 kernels"] = vision.Int8Kernels()
	}
	rep, err := bench.Run(ctx, env, selected)
	if err != nil {
		return err
	}
	if err := rep.WriteFiles(*out); err != nil {
		return err
	}
	failed := 0
	for _, s := range rep.Sections {
		fmt.Fprintf(stdout, "%-7s %-8s %s\n", s.Name, s.Status, s.Note)
		if s.Status == bench.StatusFailed {
			failed++
		}
	}
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(*out, "REPORT.md"))
	if failed > 0 {
		return fmt.Errorf("bench: %d suite(s) failed (see the report)", failed)
	}
	return nil
}

// benchDirs checks the sample data directory and returns the scratch
// directory (work, or a temporary one that cleanup removes) and the
// packshot catalog (catalog, or <samples>/catalog).
func benchDirs(cmd, samples, work, catalog string) (workDir, catDir string, cleanup func(), err error) {
	if _, err := os.Stat(samples); err != nil {
		return "", "", nil, fmt.Errorf("%s: sample data: %w (set --samples or VITRINE_SAMPLES)", cmd, err)
	}
	workDir, cleanup = work, func() {}
	if workDir == "" {
		d, err := os.MkdirTemp("", "vitrine-"+strings.ReplaceAll(cmd, " ", "-")+"-")
		if err != nil {
			return "", "", nil, fmt.Errorf("%s: scratch directory: %w", cmd, err)
		}
		workDir, cleanup = d, func() { os.RemoveAll(d) }
	}
	catDir = catalog
	if catDir == "" {
		catDir = filepath.Join(samples, "catalog")
	}
	return workDir, catDir, cleanup, nil
}

// longVideoS turns --long-minutes into bench.Env.LongVideoS (0 minutes: none).
func longVideoS(minutes float64) float64 {
	if minutes <= 0 {
		return -1
	}
	return minutes * 60
}

// shotDetector runs the shot detector on decoded frames of a file.
type shotDetector struct{}

func (shotDetector) DetectShots(ctx context.Context, path string) (bench.ShotDetection, error) {
	r, info, err := shoteval.Detect(ctx, path, shots.Config{}, media.FrameOptions{SkipLoopFilter: true}) // as the video decode step
	if err != nil {
		return bench.ShotDetection{}, err
	}
	out := bench.ShotDetection{DurationS: r.Duration, Width: info.DisplayW, Height: info.DisplayH}
	for _, b := range r.Boundaries {
		out.Boundaries = append(out.Boundaries, bench.DetectedBoundary{TimeS: b.Time, Kind: string(b.Transition)})
	}
	return out, nil
}

func benchGen(ctx context.Context, args []string) error {
	fs := newFlagSet("bench gen", "bench gen [flags]",
		"Writes labelled evaluation videos and their ground truth (schema\n"+
			"vitrine.groundtruth/v1; see eval/README.md): packshots composited onto\n"+
			"footage (gen-<seed>.mp4, gen-<seed>.gt.json), vertical on-model\n"+
			"lookbook reels (lookbook-<seed>.mp4, lookbook-<seed>.gt.json), the\n"+
			"lookbook-like reels with every photo re-shot: warped, tilted, relit, covered,\n"+
			"blurred, compressed, half mirrored (reshot-<seed>.mp4, reshot-<seed>.gt.json),\n"+
			"or the harder shot-boundary set (shotset-<seed>.mp4, shotset-<seed>.gt.json).\n"+
			"The same seed always gives the same videos.")
	out := fs.String("out", "eval-set", "output directory")
	set := fs.String("set", "packshot", "kind of video: packshot, lookbook, reshot or shots")
	samples := fs.String("samples", defaultSamplesDir(), "sample data directory (catalog/, catalog_virgio/ and videos/)")
	catalog := fs.String("catalog", "", "catalog directory (products.csv + images); default <samples>/catalog, or <samples>/catalog_virgio for the other sets")
	seed := fs.Uint64("seed", 1, "seed of the first video; the others use seed+1, seed+2, …")
	count := fs.Int("count", 3, "number of videos")
	nShots := fs.Int("shots", 0, "shots per video (default 6 for packshot, 14 for shots)")
	width := fs.Int("width", 0, "frame width (default 640 for packshot, 540 for the vertical sets)")
	height := fs.Int("height", 0, "frame height (default 360 for packshot, 960 for the vertical sets)")
	fps := fs.Int("fps", 25, "frame rate")
	crf := fs.Int("crf", 26, "H.264 constant rate factor (compression)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench gen: unexpected argument %q", fs.Arg(0))
	}
	if *count < 1 {
		return fmt.Errorf("bench gen: --count must be at least 1")
	}
	cat := *catalog
	var (
		results []*gen.Result
		err     error
	)
	switch *set {
	case "packshot":
		if cat == "" {
			cat = filepath.Join(*samples, "catalog")
		}
		cfg := gen.Config{
			CatalogDir: cat, Backgrounds: gen.SampleBackgrounds(*samples),
			Seed: *seed, Width: *width, Height: *height, FPS: *fps, Shots: *nShots, CRF: *crf,
		}
		results, err = gen.GenerateSet(ctx, cfg, *out, *count)
	case "lookbook", "reshot":
		if cat == "" {
			cat = filepath.Join(*samples, "catalog_virgio")
		}
		cfg := gen.LookbookConfig{
			CatalogDir: cat, Backgrounds: gen.SampleBackgrounds(*samples),
			Seed: *seed, Width: *width, Height: *height, FPS: *fps, CRF: *crf,
		}
		if *set == "reshot" {
			results, err = gen.ReshotSet(ctx, cfg, *out, *count)
		} else {
			results, err = gen.LookbookSet(ctx, cfg, *out, *count)
		}
	case "shots":
		if cat == "" {
			cat = filepath.Join(*samples, "catalog_virgio")
		}
		cfg := gen.ShotSetConfig{CatalogDir: cat, Seed: *seed, Width: *width, Height: *height, FPS: *fps, Shots: *nShots, CRF: *crf}
		set, err := gen.ShotSetSeries(ctx, cfg, *out, *count, 0, 0)
		if err != nil {
			return err
		}
		for _, r := range set {
			fmt.Fprintf(stdout, "%s  %d frames, %d shots, %d events  %s\n", r.VideoPath, r.Truth.Frames, len(r.Truth.Shots), len(r.Events), r.TruthPath)
		}
		return nil
	default:
		return fmt.Errorf("bench gen: --set %q: want packshot, lookbook, reshot or shots", *set)
	}
	if err != nil {
		return err
	}
	for _, r := range results {
		fmt.Fprintf(stdout, "%s  %d frames, %d shots, %d items  %s\n", r.VideoPath, r.Truth.Frames, len(r.Truth.Shots), len(r.Truth.Items), r.TruthPath)
	}
	return nil
}

// setSize turns a set-size flag into a bench size: a flag of 0 (or less)
// asks for none, which the bench spells -1 (its zero takes the default).
func setSize(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
