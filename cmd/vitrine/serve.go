package main

import (
	"context"
	"fmt"
	"net"

	"github.com/vitrine-dev/vitrine/internal/api"
	"github.com/vitrine-dev/vitrine/internal/app"
)

func init() {
	register("serve", "run the HTTP API and the workflow workers", func() command { return &serveCmd{} })
}

type serveCmd struct{}

func (c *serveCmd) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("serve", "serve [flags]",
		"Runs the HTTP API (/v1, /healthz, /readyz, /metrics, /openapi.yaml) and\n"+
			"executes workflow steps (--workers) on the embedded default or the\n"+
			"configured database. On first start with no API key it prints a bootstrap\n"+
			"admin key once (or installs VITRINE_ADMIN_KEY). Stops gracefully on\n"+
			"SIGINT/SIGTERM. With --db postgres://… and --blob s3://… many serve and\n"+
			"worker nodes share one installation; --workers=0 makes an API-only node.\n"+
			"--pprof ADDR serves Go's runtime profiles (/debug/pprof/) on a separate\n"+
			"listener, for example 127.0.0.1:6060.")
	load := withConfig(fs)
	pprofAddr := fs.String("pprof", "", "serve runtime profiles (/debug/pprof/) on this separate address (host:port); off when empty")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	a, err := openApp(ctx, load, app.Options{RequireLock: true})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer a.Close(ctx)
	secret, err := a.Keys.Bootstrap(ctx, a.Config.AdminKey)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if secret != "" {
		fmt.Fprintf(stderr, "vitrine: bootstrap admin API key (shown once, store it now): %s\n", secret)
	}
	lm, err := a.NewLive()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv, err := api.New(api.Deps{Config: a.Config, DB: a.DB, Blob: a.Blob, Runner: a.Runner, Keys: a.Keys, Catalog: a.Catalog, Live: lm, Logger: a.Log, Registry: a.Registry})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	ln, err := net.Listen("tcp", a.Config.Addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", a.Config.Addr, err)
	}
	if *pprofAddr != "" {
		at, err := servePprof(ctx, *pprofAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("serve: %w", err)
		}
		fmt.Fprintf(stderr, "vitrine: runtime profiles at http://%s/debug/pprof/\n", at)
	}
	if err := a.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	a.PrewarmVideo()
	if a.Shared {
		go warmCatalog(ctx, a)
	}
	// CSV/JSONL files dropped into the catalog inbox are ingested.
	inboxCtx, stopInbox := context.WithCancel(ctx)
	inboxDone := make(chan struct{})
	go func() {
		defer close(inboxDone)
		if err := a.RunCatalogInbox(inboxCtx); err != nil {
			a.Log.Error("catalog inbox stopped", "err", err)
		}
	}()
	// The catalog_feeds setting's shop feeds are synced on a schedule.
	feedsDone := make(chan struct{})
	go func() {
		defer close(feedsDone)
		if err := a.RunCatalogFeeds(inboxCtx); err != nil {
			a.Log.Error("catalog feeds stopped", "err", err)
		}
	}()
	// Videos dropped into the video inbox are analysed; catalog changes
	// re-match published videos when enabled.
	videoDone := make(chan struct{})
	go func() {
		defer close(videoDone)
		if err := a.RunVideoWatchers(inboxCtx); err != nil {
			a.Log.Error("video watchers stopped", "err", err)
		}
	}()
	// Retention runs in the process that owns the embedded install; on a
	// shared database 'vitrine storage apply' runs from one place.
	retentionDone := make(chan struct{})
	go func() {
		defer close(retentionDone)
		if a.Owner && !a.Shared && a.Config.RetentionInterval > 0 {
			runRetention(inboxCtx, a, a.Config.RetentionInterval)
		}
	}()
	// Live streams run on nodes that run steps; a restarted server resumes
	// the streams it left running.
	liveDone := make(chan struct{})
	go func() {
		defer close(liveDone)
		if a.RunsLive() {
			lm.Run(inboxCtx)
		}
	}()
	waitInbox := func() {
		stopInbox()
		<-inboxDone
		<-feedsDone
		<-videoDone
		<-retentionDone
		<-liveDone
	}
	defer waitInbox()
	fmt.Fprintf(stderr, "vitrine: listening on http://%s (data dir %s, %d workers)\n", ln.Addr(), a.Config.DataDir, a.Config.Workers)
	fmt.Fprintf(stderr, "vitrine: operator console at http://%s/console/ (sign in with an API key)\n", ln.Addr())
	if err := srv.Serve(ctx, ln); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	a.Log.Info("shutting down: waiting for running steps", "timeout", a.Config.ShutdownTimeout)
	waitInbox()
	return a.Close(ctx)
}
