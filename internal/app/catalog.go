package app

import (
	"context"
	"path/filepath"
	"time"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/catalog/catvision"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// newCatalog builds the installation's catalog service; its models and
// vector index load on first use.
func newCatalog(a *App) *catalog.Service {
	f := fetch.New(fetch.Config{
		MaxBytes:     catalog.DefaultMaxImageBytes,
		Timeout:      30 * time.Second,
		AllowedTypes: []string{"image/"},
		AllowPrivate: a.Config.FetchAllowPrivate,
		UserAgent:    "vitrine-catalog",
	})
	open := func(ctx context.Context) (*catalog.Models, error) {
		if err := a.checkModels(); err != nil {
			return nil, err
		}
		m, err := catvision.Open(ctx, vision.Options{ModelsDir: a.ModelsDir(), RuntimeLib: a.Config.ORTLib, Logger: a.Log,
			Runs: catalog.DefaultEmbedWorkers})
		if err == nil && a.Config.GalleryViews {
			m.Views = catvision.Views{}
		}
		return m, err
	}
	return catalog.NewService(a.DB, a.Blob, f, open, a.Log)
}

// CatalogInbox is the watched directory whose CSV/JSONL drops are ingested.
func (a *App) CatalogInbox() string {
	return filepath.Join(a.Config.DataDir, "inbox", "catalog")
}

// RunCatalogInbox watches the catalog inbox until ctx is done; only the
// process that runs steps should call it.
func (a *App) RunCatalogInbox(ctx context.Context) error {
	ib := &catalog.Inbox{Dir: a.CatalogInbox(), Ingester: a.Catalog.InputOnly(), Runner: a.Runner, Log: a.Log}
	return ib.Run(ctx)
}

// FeedSyncer returns a syncer of shop feeds into the catalog: downloads go
// to <data-dir>/feeds and each import is a catalog workflow, run by this
// process or by the server that owns the data directory. in is the
// ingester whose index learns of removed products (the loaded one in a
// server), or Catalog.InputOnly().
func (a *App) FeedSyncer(in *catalog.Ingester) *catalog.Syncer {
	return &catalog.Syncer{
		Ingester: in,
		Dir:      filepath.Join(a.Config.DataDir, "feeds"),
		Import: func(ctx context.Context, path string) (catalog.Summary, error) {
			batch, wf, err := a.Catalog.EnqueueFile(ctx, a.Runner, path)
			if err != nil {
				return catalog.Summary{}, err
			}
			return a.Catalog.Wait(ctx, a.Runner, batch, wf, nil)
		},
	}
}

// RunCatalogFeeds syncs the catalog_feeds setting's feeds at once and then
// every catalog_feed_interval until ctx is done; a feed that fails is
// logged and tried again at the next round. Only the process that runs
// steps should call it.
func (a *App) RunCatalogFeeds(ctx context.Context) error {
	feeds := a.Config.Feeds()
	if len(feeds) == 0 {
		return nil
	}
	tick := time.NewTicker(a.Config.CatalogFeedInterval)
	defer tick.Stop()
	for {
		in, err := a.Catalog.Ingester(ctx)
		if err != nil {
			a.Log.WarnContext(ctx, "catalog feeds: syncing without the index", "err", err)
			in = a.Catalog.InputOnly()
		}
		s := a.FeedSyncer(in)
		s.Every = a.Config.CatalogFeedInterval
		for _, f := range feeds {
			r, err := s.Sync(ctx, f)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				a.Log.ErrorContext(ctx, "catalog feed sync failed", "feed", f, "err", err)
			case r.NotModified:
				a.Log.InfoContext(ctx, "catalog feed not modified", "feed", f)
			default:
				a.Log.InfoContext(ctx, "catalog feed synced", "feed", f, "batch", r.Import.Batch, "added", r.Import.Added,
					"updated", r.Import.Updated, "unchanged", r.Import.Unchanged, "failed", r.Import.Failed, "removed", len(r.Removed))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
