package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/bench"
	"github.com/vitrine-dev/vitrine/internal/confidence"
)

// benchCalibrate refits the confidence calibration (internal/confidence)
// on generated videos and writes the model file.
func benchCalibrate(ctx context.Context, args []string) error {
	fs := newFlagSet("bench calibrate", "bench calibrate [flags]",
		"Runs generated packshot videos, on-model lookbook reels, re-shot reels and reels of on-model products\n"+
			"held out of the import (seeds apart from the report's) and the negative sample videos through the pipeline in a scratch installation, labels every\n"+
			"candidate item against the ground truth and fits the confidence calibration: the probability\n"+
			"that an item's product is right, and the publish and review thresholds. Writes the model file\n"+
			"(the one vitrine ships is internal/confidence/calibration.json; an install can point\n"+
			"confidence_model at its own).")
	load := withConfig(fs)
	out := fs.String("write", "", "model file to write (default internal/confidence/calibration.json, with --live live_calibration.json)")
	liveFit := fs.Bool("live", false, "fit the calibration of live streams: replay every video through the live analyser (no frame dropped) and label each decision it takes when it matches a track")
	samples := fs.String("samples", defaultSamplesDir(), "sample data directory (catalog/, catalog_virgio/ and videos/)")
	catalog := fs.String("catalog", "", "packshot catalog directory; default <samples>/catalog")
	lookCat := fs.String("lookbook-catalog", "", "on-model catalog directory; default <samples>/catalog_virgio")
	work := fs.String("work", "", "scratch directory (default: a temporary directory, removed afterwards)")
	seed := fs.Uint64("seed", 1001, "first seed of the generated videos")
	packshots := fs.Int("packshots", 8, "generated packshot videos")
	lookbooks := fs.Int("lookbooks", 6, "generated lookbook reels")
	reshots := fs.Int("reshots", 4, "generated re-shot reels (lookbook-like reels with every photo warped, relit, covered, …); 0 for none")
	unseen := fs.Int("unseen", 3, "reels of on-model products held out of the import (every item on them is wrong); 0 for none, importing the whole catalog")
	target := fs.Float64("precision", 0.95, "published-item precision the publish threshold is chosen for")
	samplesOut := fs.String("samples-out", "", "also write the labelled samples the fit saw (JSON lines: features, right, group; gzip-compressed when the name ends in .gz)")
	reviews := fs.Bool("reviews", false, "also learn from the review decisions (approve, reject, replace) stored in this installation (--data-dir)")
	var from []string
	fs.Func("from", "refit from labelled samples a run wrote with --samples-out (JSON lines, .gz read compressed) instead of running videos; repeat to join several runs (internal/confidence/training has those of the shipped fit)", func(v string) error {
		from = append(from, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench calibrate: unexpected argument %q", fs.Arg(0))
	}
	if *target <= 0 || *target >= 1 {
		return fmt.Errorf("bench calibrate: --precision must be in (0, 1)")
	}
	if *liveFit && *reviews {
		return fmt.Errorf("bench calibrate: --reviews holds videos' items, not a live analyser's decisions: not with --live")
	}
	if *out == "" {
		name := "calibration.json"
		if *liveFit {
			name = "live_calibration.json"
		}
		*out = filepath.Join("internal", "confidence", name)
	}
	// A calibration run takes minutes of video analysis: a file that
	// cannot be written fails it now, not once the work is done.
	for _, p := range []string{*out, *samplesOut} {
		if err := writableDir(p); err != nil {
			return fmt.Errorf("bench calibrate: %w", err)
		}
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	log := app.NewLogger(cfg, stderr)
	var extra []confidence.Sample
	if *reviews {
		a, err := app.Open(ctx, cfg, log, app.Options{})
		if err != nil {
			return err
		}
		extra, err = a.Video.ReviewSamples(ctx)
		a.Close(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "calibrate: %d reviewed items\n", len(extra))
	}
	if len(from) > 0 {
		return refitFrom(from, extra, *target, *out, *samplesOut, *liveFit)
	}
	workDir, catDir, cleanup, err := benchDirs("bench calibrate", *samples, *work, *catalog)
	if err != nil {
		return err
	}
	defer cleanup()
	ba := newBenchApp(cfg, workDir, catDir)
	defer ba.Close(context.WithoutCancel(ctx))
	env := &bench.Env{Log: log, SamplesDir: *samples, CatalogDir: *catalog, LookbookCatalogDir: *lookCat, WorkDir: workDir, Pipeline: ba}
	var bar *progressbar.ProgressBar
	res, err := bench.Calibrate(ctx, env, bench.CalibrateOptions{
		Seed: *seed, Packshots: *packshots, Lookbooks: *lookbooks, Reshots: setSize(*reshots), Unseen: setSize(*unseen), Extra: extra,
		Fit: confidence.FitOptions{TargetPrecision: *target}, Live: *liveFit,
		Progress: func(done, total int, video string) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("videos"),
					progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionSetPredictTime(true))
			}
			bar.Set(done)
		},
	})
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	// The samples first: they are what the run cost, and a model can be
	// refitted from them (--from).
	if *samplesOut != "" {
		if err := writeSamples(*samplesOut, res.Samples); err != nil {
			return err
		}
	}
	if err := writeModel(res.Model, *out); err != nil {
		return err
	}
	reportFit(res.Model, res.Videos, "videos")
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// refitFrom fits the calibration (of live streams when live) on the
// samples in files (and extra) without running any video.
func refitFrom(files []string, extra []confidence.Sample, target float64, out, samplesOut string, live bool) error {
	var samples []confidence.Sample
	names := make([]string, len(files))
	for i, p := range files {
		s, err := confidence.LoadSamples(p)
		if err != nil {
			return fmt.Errorf("bench calibrate: %s: %w", p, err)
		}
		samples = append(samples, s...)
		names[i] = filepath.Base(p)
	}
	n := len(samples)
	samples = append(samples, extra...)
	what := "labelled samples"
	if live {
		what = "labelled live analyser decisions"
	}
	m, err := confidence.Fit(samples, confidence.FitOptions{
		Inputs:          confidence.DefaultInputs,
		TargetPrecision: target,
		Version:         time.Now().UTC().Format("2006-01-02T1504Z") + "-refit",
		Note: fmt.Sprintf("refitted by vitrine bench calibrate from %d %s in %s and %d reviewed items",
			n, what, strings.Join(names, ", "), len(extra)),
	})
	if err != nil {
		return fmt.Errorf("bench calibrate: %w", err)
	}
	if err := writeModel(m, out); err != nil {
		return err
	}
	if samplesOut != "" {
		if err := writeSamples(samplesOut, samples); err != nil {
			return err
		}
	}
	reportFit(m, len(files), "files")
	return nil
}

// writableDir checks that a file can be created in the directory path is
// to be written in, by creating and removing a temporary file there; an
// empty path is no file.
func writableDir(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".vitrine-calibrate-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// writeModel writes a fitted model file.
func writeModel(m *confidence.Model, path string) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("bench calibrate: %w", err)
	}
	return nil
}

// reportFit prints what a fit did.
func reportFit(m *confidence.Model, sources int, what string) {
	f := m.Fit
	fmt.Fprintf(stdout, "calibration %s: %d candidate items (%d right) from %d %s\n", m.Version, f.Samples, f.Positives, sources, what)
	fmt.Fprintf(stdout, "publish at %.3f, review at %.3f; held-out precision %.3f, recall %.3f, log loss %.3f\n", m.PublishAt, m.ReviewAt, f.Precision, f.Recall, f.LogLoss)
}

// writeSamples writes calibration samples as JSON lines, gzip-compressed
// when the name ends in .gz.
func writeSamples(path string, samples []confidence.Sample) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench calibrate: %w", err)
	}
	var w io.Writer = f
	var z *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		z = gzip.NewWriter(f)
		w = z
	}
	err = confidence.WriteSamples(w, samples)
	if z != nil && err == nil {
		err = z.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bench calibrate: %w", err)
	}
	return nil
}
