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
		return catvision.Open(ctx, vision.Options{ModelsDir: a.ModelsDir(), RuntimeLib: a.Config.ORTLib, Logger: a.Log})
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
