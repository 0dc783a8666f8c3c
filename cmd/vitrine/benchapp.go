package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/eval/gen"
	"github.com/vitrine-dev/vitrine/eval/score"
	"github.com/vitrine-dev/vitrine/internal/api"
	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/bench"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/jobs"
)

// benchApp is a fresh installation in the bench's scratch directory that
// the pipeline and API suites run against, so a bench never touches the
// user's data.
type benchApp struct {
	cfg config.Config
	// catalogDir is the catalog the API suite asks about.
	catalogDir string
	// exe is the vitrine binary ColdProcess runs (default: this one).
	exe  string
	once sync.Once
	a    *app.App
	err  error
}

func newBenchApp(cfg *config.Config, workDir, catalogDir string) *benchApp {
	c := *cfg
	c.DataDir = filepath.Join(workDir, "data")
	c.DB = filepath.Join(c.DataDir, "vitrine.db")
	c.Blob = filepath.Join(c.DataDir, "blobs")
	// The API suite measures the server, not the per-key rate limiter.
	c.RateAPIKey, c.RatePublicIP, c.RatePublicKey = 0, 0, 0
	// The live suite streams from a loopback HTTP server.
	c.FetchAllowPrivate = true
	return &benchApp{cfg: c, catalogDir: catalogDir}
}

func (b *benchApp) open(ctx context.Context) (*app.App, error) {
	b.once.Do(func() {
		a, err := app.Open(ctx, &b.cfg, app.NewLogger(&b.cfg, stderr), app.Options{RunSteps: true})
		if err != nil {
			b.err = err
			return
		}
		if err := a.Start(ctx); err != nil {
			a.Close(ctx)
			b.err = err
			return
		}
		b.a = a
	})
	return b.a, b.err
}

func (b *benchApp) Close(ctx context.Context) error {
	if b.a == nil {
		return nil
	}
	return b.a.Close(ctx)
}

// stageTimes reads the time each step of a finished workflow took.
func stageTimes(ctx context.Context, r *jobs.Runner, id int64) ([]bench.StageTime, error) {
	wf, err := r.Workflow(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []bench.StageTime
	for _, st := range wf.Steps {
		if st.StartedAt == nil || st.FinishedAt == nil {
			continue
		}
		out = append(out, bench.StageTime{Stage: st.Name, Elapsed: st.FinishedAt.Sub(*st.StartedAt)})
		// A step that reports its parts' timings (the match step) adds
		// them as parts of its stage.
		var o struct {
			Timings map[string]float64 `json:"timings"`
		}
		if len(st.Output) > 0 && json.Unmarshal(st.Output, &o) == nil {
			for _, part := range slices.Sorted(maps.Keys(o.Timings)) {
				out = append(out, bench.StageTime{Stage: st.Name, Part: part, Elapsed: time.Duration(o.Timings[part] * float64(time.Second))})
			}
		}
	}
	return out, nil
}

// IngestCatalog imports dir/products.csv through the catalog workflow.
func (b *benchApp) IngestCatalog(ctx context.Context, dir string) (bench.IngestResult, error) {
	a, err := b.open(ctx)
	if err != nil {
		return bench.IngestResult{}, err
	}
	start := time.Now()
	batch, wf, err := a.Catalog.EnqueueFile(ctx, a.Runner, filepath.Join(dir, "products.csv"))
	if err != nil {
		return bench.IngestResult{}, err
	}
	sum, err := a.Catalog.Wait(ctx, a.Runner, batch, wf, nil)
	if err != nil {
		return bench.IngestResult{}, err
	}
	res := bench.IngestResult{Products: sum.Total, Images: sum.Total - sum.Failed, Elapsed: time.Since(start)}
	if res.Stages, err = stageTimes(ctx, a.Runner, wf); err != nil {
		return res, err
	}
	return res, nil
}

// ProcessVideo uploads a file, waits for its analysis workflow and returns
// the shoppable document with the time of each step.
func (b *benchApp) ProcessVideo(ctx context.Context, path string) (*score.Prediction, []bench.StageTime, error) {
	a, err := b.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	v, err := a.Video.Add(ctx, f, filepath.Base(path), 0)
	if err != nil {
		return nil, nil, err
	}
	wf, err := a.Runner.Wait(ctx, v.WorkflowID, nil)
	if err != nil {
		return nil, nil, err
	}
	if wf.State != jobs.StateSucceeded {
		return nil, nil, fmt.Errorf("video workflow %d %s: %s", wf.ID, wf.State, wf.Error)
	}
	doc, _, err := a.Video.Shoppable(ctx, v.ID)
	if err != nil {
		return nil, nil, err
	}
	pred, err := score.DecodePrediction(bytes.NewReader(doc))
	if err != nil {
		return nil, nil, err
	}
	st, err := stageTimes(ctx, a.Runner, wf.ID)
	return pred, st, err
}

// ColdProcess runs `vitrine video add` on path in a fresh process against
// a copy of the installation (its database copied with VACUUM INTO, the
// catalog's blobs and index snapshots read in place), so the time includes
// what a one-off command pays: opening the models and loading the
// catalog's index and derived state. The bench's own process keeps the
// data directory's lock, so the copy is what lets the child run the
// workflow itself.
func (b *benchApp) ColdProcess(ctx context.Context, path string) (time.Duration, error) {
	a, err := b.open(ctx)
	if err != nil {
		return 0, err
	}
	dir := filepath.Join(filepath.Dir(b.cfg.DataDir), "cold")
	if err := os.RemoveAll(dir); err != nil {
		return 0, err
	}
	blobs := filepath.Join(dir, "blobs")
	if err := os.MkdirAll(blobs, 0o750); err != nil {
		return 0, err
	}
	db := filepath.Join(dir, "vitrine.db")
	if _, err := a.DB.Write.ExecContext(ctx, `VACUUM INTO ?`, db); err != nil {
		return 0, fmt.Errorf("cold run: copy the database: %w", err)
	}
	for _, sub := range []string{"catalog", "index"} {
		if err := os.Symlink(filepath.Join(b.cfg.Blob, sub), filepath.Join(blobs, sub)); err != nil {
			return 0, fmt.Errorf("cold run: %w", err)
		}
	}
	exe := b.exe
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return 0, fmt.Errorf("cold run: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, exe, "video", "add", "--data-dir", dir, "--db", db, "--blob", blobs,
		"--models", b.cfg.ModelsDir, "--log-level", "warn", path)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("cold run of %s: %w: %s", filepath.Base(path), err, lastLines(stderr.String(), 3))
	}
	return time.Since(start), nil
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// API serves the installation's HTTP API with a read key.
func (b *benchApp) API(ctx context.Context) (bench.APITarget, func(), error) {
	a, err := b.open(ctx)
	if err != nil {
		return bench.APITarget{}, nil, err
	}
	srv, err := api.New(api.Deps{Config: a.Config, DB: a.DB, Blob: a.Blob, Runner: a.Runner, Keys: a.Keys, Catalog: a.Catalog, Logger: a.Log, Registry: a.Registry})
	if err != nil {
		return bench.APITarget{}, nil, err
	}
	secret, _, err := a.Keys.Create(ctx, apikey.ScopeRead, "bench")
	if err != nil {
		return bench.APITarget{}, nil, fmt.Errorf("create read key: %w", err)
	}
	auth := http.Header{"Authorization": {"Bearer " + secret}}
	reqs := []bench.APIRequest{
		{Name: "GET /healthz", Path: "/healthz"},
		{Name: "GET /v1/workflows", Path: "/v1/workflows?limit=20", Header: auth},
	}
	if products, err := gen.LoadCatalog(b.catalogDir); err == nil {
		id := url.PathEscape(products[len(products)/2].ID)
		reqs = append(reqs,
			bench.APIRequest{Name: "GET /v1/catalog/products/{id}", Path: "/v1/catalog/products/" + id, Header: auth},
			bench.APIRequest{Name: "GET /v1/catalog/search?q=…", Path: "/v1/catalog/search?q=blue+shirt", Header: auth},
			bench.APIRequest{Name: "GET /v1/catalog/products/{id}/similar", Path: "/v1/catalog/products/" + id + "/similar", Header: auth},
		)
	}
	return bench.APITarget{Handler: srv.Handler(), Requests: reqs}, nil, nil
}

var _ bench.Pipeline = (*benchApp)(nil)

// Candidates returns a processed video's items before the publish
// decision, with their evidence.
func (b *benchApp) Candidates(ctx context.Context, videoID string) (*score.Prediction, map[string]map[string]float64, error) {
	a, err := b.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	doc, feats, err := a.Video.Candidates(ctx, videoID)
	if err != nil {
		return nil, nil, err
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	pred, err := score.DecodePrediction(bytes.NewReader(js))
	if err != nil {
		return nil, nil, err
	}
	ev := make(map[string]map[string]float64, len(feats))
	for id, f := range feats {
		ev[id] = f
	}
	return pred, ev, nil
}

var _ bench.CandidatePipeline = (*benchApp)(nil)
