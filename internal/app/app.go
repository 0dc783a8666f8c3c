// Package app wires vitrine's parts together from a Config: data-dir lock,
// database, blob store, workflow runner with every registered workflow, API
// keys and metrics. The serve, worker and CLI commands all start here, so a
// workflow registered once runs the same from the API and the CLI.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/config"
	"github.com/vitrine-dev/vitrine/internal/crypt"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/modelfiles"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/video"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// ErrLocked means another vitrine process owns the data directory.
var ErrLocked = errors.New("another vitrine process (serve or worker) is using this data directory")

// App is an opened vitrine installation.
type App struct {
	Config   *config.Config
	Log      *slog.Logger
	DB       *store.DB
	Blob     *blob.Store
	Runner   *jobs.Runner
	Keys     *apikey.Store
	Registry *prometheus.Registry
	// Keyring holds the key-encryption keys of encryption at rest (nil
	// when none is configured).
	Keyring *crypt.Keyring
	// Catalog is the product catalog (models load on first use).
	Catalog *catalog.Service
	// Video analyses videos (models load on first use).
	Video *video.Service
	// Owner is true when this process may run workflow steps: it holds the
	// data-dir lock (embedded SQLite), or it is a serve/worker node on a
	// shared PostgreSQL database. Otherwise it only enqueues and reads.
	Owner bool
	// Shared is true on a PostgreSQL database that many nodes share
	// (scale-out): no data-dir lock, River's rescuer handles crashed nodes
	// and each node's catalog index replica follows the others' changes.
	Shared bool

	lock      *os.File
	closeOnce sync.Once
	closeErr  error
	// bg is the lifetime of background work (index replica following).
	bg     context.Context
	stopBg context.CancelFunc
	bgWG   sync.WaitGroup
}

// Options say what the command needs.
type Options struct {
	// RequireLock fails with ErrLocked when another process owns the data dir
	// (serve, worker).
	RequireLock bool
	// RunSteps takes the lock when it is free, so that this process runs
	// the workflows it starts (CLI commands that wait for a workflow).
	// Commands with neither option never take the lock. On a shared
	// PostgreSQL database only RequireLock commands (serve, worker) run
	// steps; CLI commands enqueue and wait for the worker nodes.
	RunSteps bool
}

// Open opens everything cfg names and registers the workflows. Call Start
// to run steps (only when Owner), and Close at the end.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (*App, error) {
	a := &App{Config: cfg, Log: log, Registry: prometheus.NewRegistry(), Shared: !isSQLite(cfg.DB)}
	a.bg, a.stopBg = context.WithCancel(context.WithoutCancel(ctx))
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("app: create data dir %s: %w", cfg.DataDir, err)
	}
	ok := false
	defer func() {
		if !ok {
			a.Close(context.Background())
		}
	}()
	if isSQLite(cfg.DB) && (opts.RequireLock || opts.RunSteps) {
		f, err := lockFile(cfg.LockFile())
		switch {
		case errors.Is(err, ErrLocked) && opts.RequireLock:
			return nil, fmt.Errorf("app: %s: %w", cfg.DataDir, ErrLocked)
		case errors.Is(err, ErrLocked):
		case err != nil:
			return nil, err
		default:
			a.lock, a.Owner = f, true
		}
	}
	if a.Shared {
		a.Owner = opts.RequireLock
	}
	var err error
	if a.DB, err = store.Open(ctx, cfg.DB); err != nil {
		return nil, err
	}
	kr, err := crypt.LoadKeyring(cfg.KEK, cfg.KEKFile)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	a.Keyring = kr
	if a.Blob, err = blob.OpenWith(ctx, cfg.Blob, blob.Options{Keyring: kr}); err != nil {
		return nil, err
	}
	workers := cfg.Workers
	if !a.Owner {
		workers = 0
	}
	a.Runner, err = jobs.New(ctx, a.DB, jobs.Options{
		Workers:      workers,
		MaxAttempts:  cfg.MaxAttempts,
		RetryBase:    cfg.RetryBase,
		RetryMax:     cfg.RetryMax,
		StepTimeout:  cfg.StepTimeout,
		RescueAfter:  cfg.RescueAfter,
		PollInterval: cfg.PollInterval,
		Exclusive:    a.Owner && !a.Shared,
		Logger:       log,
		Metrics:      a.Registry,
	})
	if err != nil {
		return nil, err
	}
	a.Keys = apikey.New(a.DB)
	for _, reg := range workflows {
		if err := reg(a); err != nil {
			return nil, fmt.Errorf("app: register workflows: %w", err)
		}
	}
	if a.Shared && a.Catalog != nil {
		a.Catalog.OnIndex = a.followIndex
	}
	ok = true
	return a, nil
}

func isSQLite(dsn string) bool {
	return !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://")
}

// lockFile takes an exclusive, non-blocking flock; the kernel drops it when
// the process dies, so a killed server never leaves a stale lock.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("app: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("app: lock %s: %w", path, err)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return f, nil
}

// Start runs workflow steps in this process when it owns the data dir;
// otherwise it only readies the runner for enqueueing.
func (a *App) Start(ctx context.Context) error { return a.Runner.Start(ctx) }

// Close stops the runner (waiting up to the shutdown timeout for running
// steps) and closes everything.
func (a *App) Close(ctx context.Context) error {
	a.closeOnce.Do(func() { a.closeErr = a.close(ctx) })
	return a.closeErr
}

// PrewarmVideo loads the video analysis models and the catalog's match
// state in the background (video.Service.Prewarm) when this process runs
// workflow steps, so the first video's steps do not wait for them.
func (a *App) PrewarmVideo() {
	if a.Video == nil || !a.Owner || a.Config.Workers <= 0 {
		return
	}
	a.bgWG.Add(1)
	go func() {
		defer a.bgWG.Done()
		start := time.Now()
		if err := a.Video.Prewarm(a.bg); err != nil {
			a.Log.Debug("video prewarm: the steps load on first use", "err", err)
			return
		}
		a.Log.Debug("video prewarm: models and catalog loaded", "took", time.Since(start).Round(time.Millisecond))
	}()
}

// followIndex keeps a loaded catalog index replica current with the other
// nodes' changes until the App closes.
func (a *App) followIndex(ix *catalog.Index) {
	a.bgWG.Add(1)
	go func() {
		defer a.bgWG.Done()
		if err := ix.Follow(a.bg); err != nil {
			a.Log.Error("catalog index replica stopped following", "err", err)
		}
	}()
}

func (a *App) close(ctx context.Context) error {
	var errs []error
	if a.stopBg != nil {
		a.stopBg()
		a.bgWG.Wait()
	}
	if a.Runner != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Config.ShutdownTimeout)
		errs = append(errs, a.Runner.Stop(sctx))
		cancel()
	}
	if a.Catalog != nil {
		errs = append(errs, a.Catalog.Close())
	}
	if a.Blob != nil {
		errs = append(errs, a.Blob.Close())
	}
	if a.DB != nil {
		errs = append(errs, a.DB.Close())
	}
	if a.lock != nil {
		errs = append(errs, a.lock.Close())
	}
	return errors.Join(errs...)
}

// NewLogger returns the process logger configured by cfg, writing to w.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	o := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// checkModels verifies the default model set in the models directory, so
// that a missing or corrupt file fails with one error that names the
// command fixing it. A directory with its own manifest (vision.ManifestFile)
// lists other models, which vision checks when it loads them.
func (a *App) checkModels() error {
	dir := a.ModelsDir()
	if _, err := os.Stat(filepath.Join(dir, vision.ManifestFile)); err == nil {
		return nil
	}
	return modelfiles.Check(dir)
}

// ModelsDir is the configured models directory as an absolute path.
func (a *App) ModelsDir() string {
	p, err := filepath.Abs(a.Config.ModelsDir)
	if err != nil {
		return a.Config.ModelsDir
	}
	return p
}
