package main

import (
	"context"
	"fmt"

	"github.com/vitrine-dev/vitrine/internal/app"
)

func init() {
	register("worker", "execute workflow steps without serving HTTP", func() command { return &workerCmd{} })
}

type workerCmd struct{}

func (c *workerCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("worker", "worker [flags]",
		"Executes workflow steps (--workers at a time) until SIGINT/SIGTERM, without\n"+
			"the HTTP API. On the embedded SQLite default one process owns the data\n"+
			"directory, so run either serve or worker there. With --db postgres://… and\n"+
			"--blob s3://… any number of workers (and serve --workers=0 API nodes) share\n"+
			"the queue; a step of a worker that dies is run again elsewhere once its\n"+
			"step timeout has passed (see deploy/README.md).")
	load := withConfig(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := openApp(ctx, load, app.Options{RequireLock: true})
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer a.Close(ctx)
	if a.Config.Workers < 1 {
		return fmt.Errorf("worker: --workers must be at least 1")
	}
	if err := a.Start(ctx); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	a.PrewarmVideo()
	if a.Shared {
		// The match step searches this node's catalog index replica: build
		// it now and start following other nodes' catalog changes.
		go warmCatalog(ctx, a)
	}
	a.Log.Info("worker started", "workers", a.Config.Workers, "data_dir", a.Config.DataDir, "shared", a.Shared)
	<-ctx.Done()
	a.Log.Info("worker stopping: waiting for running steps", "timeout", a.Config.ShutdownTimeout)
	return a.Close(ctx)
}

// warmCatalog loads the catalog models and index replica in the background
// (scale-out nodes), so the first search or match does not pay for it.
func warmCatalog(ctx context.Context, a *app.App) {
	if a.Catalog == nil {
		return
	}
	if _, err := a.Catalog.Searcher(ctx); err != nil && ctx.Err() == nil {
		a.Log.Warn("catalog index replica not loaded at start (it loads on first use)", "err", err)
	}
}
