package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/eval/gen"
)

// Suite fills one section of a report.
type Suite struct {
	Name  string
	Title string
	Run   func(ctx context.Context, env *Env, s *Section) error
}

// ErrSkip, returned (possibly wrapped) by a suite, marks its section as
// skipped rather than failed: a component or input it needs is missing.
var ErrSkip = errors.New("skipped")

func skipf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSkip}, args...)...)
}

// Env is what suites run against. Components left nil make the suites
// that need them report "skipped".
type Env struct {
	Log *slog.Logger
	// SamplesDir holds catalog/ and videos/ (the bundled sample data).
	SamplesDir string
	// CatalogDir is the catalog (products.csv + images) to ingest and to
	// draw generated products from; default SamplesDir/catalog.
	CatalogDir string
	// ModelsDir holds the ONNX models (hashed into the report).
	ModelsDir string
	// WorkDir is scratch space for generated videos and databases.
	WorkDir string
	// Versions are merged into the report (e.g. onnxruntime, vitrine).
	Versions map[string]string

	// GenSeed and GenVideos choose the generated evaluation set
	// (defaults 1 and 5).
	GenSeed   uint64
	GenVideos int
	// LookbookCatalogDir is the on-model catalog the lookbook set is made
	// from; it is imported beside CatalogDir. Default
	// SamplesDir/catalog_virgio; "-" leaves the lookbook set out.
	LookbookCatalogDir string
	// LookbookVideos is the size of the lookbook set (default 3), from
	// GenSeed on.
	LookbookVideos int
	// ReshotVideos is the size of the re-shot set (default 3; negative
	// leaves it out), from GenSeed on: lookbook-like reels with every photo
	// re-shot. It needs the on-model catalog too.
	ReshotVideos int
	// UnseenVideos is the size of the unseen set (default 2; negative
	// leaves it out and imports the whole on-model catalog): lookbook reels
	// of on-model products held out of the import, from GenSeed+500 on.
	// Every item published on them is a look-alike of a product the
	// catalog lacks (unseen.go).
	UnseenVideos int
	// LongVideoS is the length of the scale suite's long 1080p video in
	// seconds (default 600; negative leaves it out).
	LongVideoS float64
	// ShotSetVideos and ShotSetStills size the harder shot set of the shots
	// suite: edited reels and pan/zoom-only videos (defaults 8 and 3).
	ShotSetVideos, ShotSetStills int

	Shots    ShotDetector
	Pipeline Pipeline
	API      APIFactory
	// Live runs live streams for the live suite.
	Live LiveStreamer
	// ANN tunes the ann suite; zero values take its defaults.
	ANN ANNOptions

	genOnce sync.Once
	genSet  []*gen.Result
	genErr  error

	lookOnce sync.Once
	lookSet  []*gen.Result
	lookErr  error

	reshotOnce sync.Once
	reshotSet  []*gen.Result
	reshotErr  error

	splitOnce sync.Once
	split     catalogSplit
	splitErr  error

	unseenOnce sync.Once
	unseenSet  []*gen.Result
	unseenErr  error

	shotSetOnce sync.Once
	shotSetRes  []*gen.ShotSetResult
	shotSetErr  error

	ingestOnce sync.Once
	ingested   IngestResult
	ingestErr  error

	lookIngestOnce sync.Once
	lookIngested   IngestResult
	lookIngestErr  error
}

func (e *Env) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

func (e *Env) catalogDir() string {
	if e.CatalogDir != "" {
		return e.CatalogDir
	}
	return filepath.Join(e.SamplesDir, "catalog")
}

// generated returns the generated evaluation set, writing it on first use.
func (e *Env) generated(ctx context.Context) ([]*gen.Result, error) {
	e.genOnce.Do(func() {
		n, seed := e.genParams()
		cfg := gen.Config{
			CatalogDir:  e.catalogDir(),
			Backgrounds: gen.SampleBackgrounds(e.SamplesDir),
			Seed:        seed,
			Logger:      e.log(),
		}
		e.genSet, e.genErr = gen.GenerateSet(ctx, cfg, filepath.Join(e.WorkDir, "generated"), n)
	})
	return e.genSet, e.genErr
}

// lookbookCatalogDir returns the on-model catalog, or "" for none.
func (e *Env) lookbookCatalogDir() string {
	switch e.LookbookCatalogDir {
	case "-":
		return ""
	case "":
		d := filepath.Join(e.SamplesDir, "catalog_virgio")
		if _, err := os.Stat(filepath.Join(d, "products.csv")); err != nil {
			return ""
		}
		return d
	}
	return e.LookbookCatalogDir
}

// onModel returns the on-model catalog split into the products the bench
// imports and those it holds out for the unseen set, writing the split on
// first use; both are "" without an on-model catalog, and unseen is ""
// when the unseen set is left out or the catalog is too small to split.
func (e *Env) onModel() (catalogSplit, error) {
	e.splitOnce.Do(func() {
		dir := e.lookbookCatalogDir()
		switch {
		case dir == "":
		case e.UnseenVideos < 0:
			e.split = catalogSplit{seen: dir}
		default:
			_, seed := e.genParams()
			e.split, e.splitErr = splitCatalog(dir, filepath.Join(e.WorkDir, "catalogs"), seed)
		}
	})
	return e.split, e.splitErr
}

// lookbooks returns the generated lookbook set, writing it on first use;
// none without an on-model catalog.
func (e *Env) lookbooks(ctx context.Context) ([]*gen.Result, error) {
	e.lookOnce.Do(func() {
		split, err := e.onModel()
		dir := split.seen
		if err != nil || dir == "" {
			e.lookErr = err
			return
		}
		n := e.LookbookVideos
		if n <= 0 {
			n = 3
		}
		e.lookSet, e.lookErr = gen.LookbookSet(ctx, e.reelConfig(dir), filepath.Join(e.WorkDir, "lookbook"), n)
	})
	return e.lookSet, e.lookErr
}

// reshots returns the generated re-shot set, writing it on first use;
// none without an on-model catalog.
func (e *Env) reshots(ctx context.Context) ([]*gen.Result, error) {
	e.reshotOnce.Do(func() {
		split, err := e.onModel()
		dir := split.seen
		n := e.ReshotVideos
		if n == 0 {
			n = 3
		}
		if err != nil || dir == "" || n < 0 {
			e.reshotErr = err
			return
		}
		e.reshotSet, e.reshotErr = gen.ReshotSet(ctx, e.reelConfig(dir), filepath.Join(e.WorkDir, "reshot"), n)
	})
	return e.reshotSet, e.reshotErr
}

// unseen returns the generated unseen set, writing it on first use: none
// without a split on-model catalog.
func (e *Env) unseen(ctx context.Context) ([]*gen.Result, error) {
	e.unseenOnce.Do(func() {
		split, err := e.onModel()
		n := e.UnseenVideos
		if n == 0 {
			n = 2
		}
		if err != nil || split.unseen == "" || n < 0 {
			e.unseenErr = err
			return
		}
		cfg := e.reelConfig(split.unseen)
		cfg.Seed += unseenSeedOffset
		e.unseenSet, e.unseenErr = gen.LookbookSet(ctx, cfg, filepath.Join(e.WorkDir, "unseen"), n)
	})
	return e.unseenSet, e.unseenErr
}

// reelConfig configures the lookbook and re-shot reels of the on-model
// catalog in dir, from the generated sets' first seed.
func (e *Env) reelConfig(dir string) gen.LookbookConfig {
	_, seed := e.genParams()
	return gen.LookbookConfig{
		CatalogDir:  dir,
		Backgrounds: gen.SampleBackgrounds(e.SamplesDir),
		Seed:        seed,
		Logger:      e.log(),
	}
}

// shotSet returns the harder shot set, writing it on first use: edited
// reels from the on-model catalog (the packshot catalog when there is
// none), then the pan/zoom-only videos.
func (e *Env) shotSet(ctx context.Context) ([]*gen.ShotSetResult, error) {
	e.shotSetOnce.Do(func() {
		dir := e.lookbookCatalogDir()
		if dir == "" {
			dir = e.catalogDir()
		}
		n, stills := e.shotSetSize()
		_, seed := e.genParams()
		cfg := gen.ShotSetConfig{CatalogDir: dir, Seed: seed + shotSetSeedOffset}
		e.shotSetRes, e.shotSetErr = gen.ShotSetSeries(ctx, cfg, filepath.Join(e.WorkDir, "shotset"), n, stills, shotSetStillS)
	})
	return e.shotSetRes, e.shotSetErr
}

// shotSetSeedOffset moves the shot set's seeds away from those the shot
// detector was tuned on (1-8, 101-108, 201-208, 1001-1008), so the suite
// measures it on videos it has not seen.
const shotSetSeedOffset = 2000

// shotSetStillS is the length of each pan/zoom-only video of the shot set.
const shotSetStillS = 40

func (e *Env) shotSetSize() (videos, stills int) {
	videos, stills = e.ShotSetVideos, e.ShotSetStills
	if videos <= 0 {
		videos = 8
	}
	if stills <= 0 {
		stills = 3
	}
	return videos, stills
}

// negativePaths returns the negative sample videos that exist.
func (e *Env) negativePaths() []string {
	var out []string
	for _, name := range negativeVideos {
		path := filepath.Join(e.SamplesDir, "videos", name)
		if _, err := os.Stat(path); err == nil {
			out = append(out, path)
		}
	}
	return out
}

// genParams returns the size and first seed of the generated set.
func (e *Env) genParams() (n int, seed uint64) {
	n, seed = e.GenVideos, e.GenSeed
	if n <= 0 {
		n = 5
	}
	if seed == 0 {
		seed = 1
	}
	return n, seed
}

// ingest ingests the catalog once through the pipeline.
func (e *Env) ingest(ctx context.Context) (IngestResult, error) {
	e.ingestOnce.Do(func() {
		start := time.Now()
		e.ingested, e.ingestErr = e.Pipeline.IngestCatalog(ctx, e.catalogDir())
		if e.ingested.Elapsed == 0 {
			e.ingested.Elapsed = time.Since(start)
		}
	})
	return e.ingested, e.ingestErr
}

// ingestAll ingests the catalog and the on-model catalog (when there is
// one) once each and returns their results in that order.
func (e *Env) ingestAll(ctx context.Context) ([]IngestResult, error) {
	first, err := e.ingest(ctx)
	if err != nil {
		return nil, err
	}
	out := []IngestResult{first}
	split, err := e.onModel()
	if err != nil {
		return nil, err
	}
	dir := split.seen
	if dir == "" || dir == e.catalogDir() {
		return out, nil
	}
	e.lookIngestOnce.Do(func() {
		start := time.Now()
		e.lookIngested, e.lookIngestErr = e.Pipeline.IngestCatalog(ctx, dir)
		if e.lookIngested.Elapsed == 0 {
			e.lookIngested.Elapsed = time.Since(start)
		}
	})
	if e.lookIngestErr != nil {
		return nil, e.lookIngestErr
	}
	return append(out, e.lookIngested), nil
}

// redact replaces the scratch and sample directories in a section's
// notes and tables with placeholders, so a report names no machine paths.
func (e *Env) redact(s *Section) {
	var pairs []string
	for _, p := range []struct{ dir, name string }{{e.WorkDir, "<work>"}, {e.SamplesDir, "<samples>"}} {
		if p.dir == "" {
			continue
		}
		if abs, err := filepath.Abs(p.dir); err == nil && abs != p.dir {
			pairs = append(pairs, abs, p.name)
		}
		pairs = append(pairs, p.dir, p.name)
	}
	if len(pairs) == 0 {
		return
	}
	r := strings.NewReplacer(pairs...)
	s.Note = r.Replace(s.Note)
	for i := range s.Tables {
		for j := range s.Tables[i].Rows {
			for k := range s.Tables[i].Rows[j] {
				s.Tables[i].Rows[j][k] = r.Replace(s.Tables[i].Rows[j][k])
			}
		}
	}
}

// Suites lists every suite in report order.
func Suites() []Suite {
	return []Suite{
		{Name: "shots", Title: "Shot boundaries", Run: runShots},
		{Name: "ann", Title: "ANN index vs brute force", Run: runANN},
		{Name: "ingest", Title: "Catalog ingestion", Run: runIngest},
		{Name: "e2e", Title: "End to end: accuracy and speed", Run: runE2E},
		{Name: "scale", Title: "Speed at scale: 720p reels, two at once, a long 1080p video", Run: runScale},
		{Name: "api", Title: "API under bounded loopback load", Run: runAPI},
		{Name: "live", Title: "Live streams: latency to viewers", Run: runLive},
	}
}

// Select returns the named suites in report order; no names selects all.
func Select(names []string) ([]Suite, error) {
	all := Suites()
	if len(names) == 0 {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []Suite
	for _, s := range all {
		if want[s.Name] {
			out = append(out, s)
			delete(want, s.Name)
		}
	}
	if len(want) > 0 {
		var known []string
		for _, s := range all {
			known = append(known, s.Name)
		}
		var bad []string
		for n := range want {
			bad = append(bad, n)
		}
		return nil, fmt.Errorf("bench: unknown suite %s (known: %s)", strings.Join(bad, ", "), strings.Join(known, ", "))
	}
	return out, nil
}

// Run runs the suites against env and returns the report. A failing or
// skipped suite is recorded in its section; Run itself fails only when
// ctx ends.
func Run(ctx context.Context, env *Env, suites []Suite) (*Report, error) {
	start := time.Now()
	r := &Report{
		Schema:   Schema,
		Started:  start.UTC().Truncate(time.Second),
		Machine:  DetectMachine(),
		Versions: ToolVersions(ctx),
		Data:     map[string]string{},
	}
	for k, v := range env.Versions {
		r.Versions[k] = v
	}
	if env.ModelsDir != "" {
		if ms, err := HashModels(env.ModelsDir); err == nil {
			r.Models = ms
		} else {
			env.log().WarnContext(ctx, "bench: models not hashed", "err", err)
		}
	}
	if env.SamplesDir != "" {
		r.Data["catalog"] = filepath.Base(env.catalogDir())
		r.Data["videos"] = "sample videos (" + filepath.Base(env.SamplesDir) + "/videos)"
	}
	for _, su := range suites {
		if err := ctx.Err(); err != nil {
			return r, fmt.Errorf("bench: %w", err)
		}
		sec := &Section{Name: su.Name, Title: su.Title, Status: StatusOK, Metrics: []Metric{}}
		env.log().InfoContext(ctx, "bench: suite start", "suite", su.Name)
		t0 := time.Now()
		err := su.Run(ctx, env, sec)
		sec.ElapsedS = time.Since(t0).Seconds()
		switch {
		case errors.Is(err, ErrSkip):
			sec.Status = StatusSkipped
			sec.Note = err.Error()
		case err != nil:
			sec.Status = StatusFailed
			sec.Note = err.Error()
		}
		env.redact(sec)
		env.log().InfoContext(ctx, "bench: suite done", "suite", su.Name, "status", sec.Status, "elapsed", time.Since(t0).Round(time.Millisecond), "note", sec.Note)
		r.Sections = append(r.Sections, sec)
	}
	r.DurationS = time.Since(start).Seconds()
	return r, nil
}
