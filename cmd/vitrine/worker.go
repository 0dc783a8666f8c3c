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
			"directory, so run either serve or worker there.")
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
	a.Log.Info("worker started", "workers", a.Config.Workers, "data_dir", a.Config.DataDir)
	<-ctx.Done()
	a.Log.Info("worker stopping: waiting for running steps", "timeout", a.Config.ShutdownTimeout)
	return a.Close(ctx)
}
