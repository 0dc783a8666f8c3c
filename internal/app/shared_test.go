package app

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/blob/blobtest"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/selftest"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

// TestSharedNodes opens three nodes on one PostgreSQL database and S3
// bucket, as serve, worker and a CLI command would: no data-dir lock, the
// serve/worker nodes run steps, the CLI only enqueues, and a workflow
// enqueued by the CLI node runs on a worker node.
func TestSharedNodes(t *testing.T) {
	ctx := context.Background()
	dsn, bucket := storetest.PostgresDSN(t), blobtest.S3URL(t)
	open := func(opts Options, workers int) *App {
		t.Helper()
		cfg := testConfig(t, t.TempDir())
		cfg.DB, cfg.Blob, cfg.Workers = dsn, bucket, workers
		a, err := Open(ctx, cfg, NewLogger(cfg, io.Discard), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close(ctx) })
		return a
	}
	api := open(Options{RequireLock: true}, 0)
	worker := open(Options{RequireLock: true}, 1)
	cli := open(Options{RunSteps: true}, 2)
	if !api.Shared || !api.Owner || !worker.Owner || cli.Owner {
		t.Fatalf("shared %v; owners: api %v worker %v cli %v (want true, true, false)", api.Shared, api.Owner, worker.Owner, cli.Owner)
	}
	for _, a := range []*App{api, worker, cli} {
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	id, err := cli.Runner.Enqueue(ctx, selftest.Kind, "shared", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	w, err := cli.Runner.Wait(wctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The selftest's model steps fail without models; its database and
	// blob steps must have run on the worker node.
	for _, s := range w.Steps {
		if (s.Name == "database" || s.Name == "blob") && s.State != jobs.StateSucceeded {
			t.Errorf("step %s: %s (%s)", s.Name, s.State, s.Error)
		}
	}
}
