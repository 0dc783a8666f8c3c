package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/catalog"
)

func (c *catalogCmd) syncCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("catalog sync", "catalog sync URL|FILE [--json]",
		"Brings the catalog in step with a shop feed (Merchant Center XML or text\n"+
			"feed, Shopify CSV, JSON-LD, or vitrine's CSV/JSONL) at a URL or in a file.\n"+
			"The feed is downloaded only when it changed (ETag / Last-Modified, then\n"+
			"its sha256) and imported as a batch: unchanged products are left alone,\n"+
			"a price or availability change costs no embedding, and products the\n"+
			"previous sync imported that the feed no longer lists are marked removed\n"+
			"(out of stock, attribute removed_from_feed) until the feed lists them\n"+
			"again. Run it from cron (or a systemd timer) to keep a catalog in sync.")
	load := withConfig(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("catalog sync: want exactly one URL or FILE")
	}
	a, err := openApp(ctx, quietForBar(load, true), app.Options{RunSteps: true})
	if err != nil {
		return fmt.Errorf("catalog sync: %w", err)
	}
	defer a.Close(ctx)
	if err := a.Start(ctx); err != nil {
		return fmt.Errorf("catalog sync: %w", err)
	}
	s := &catalog.Syncer{
		Ingester: a.Catalog.InputOnly(),
		Dir:      filepath.Join(a.Config.DataDir, "feeds"),
		// The import is a catalog workflow, run by this process or by the
		// server that owns the data directory.
		Import: func(ctx context.Context, path string) (catalog.Summary, error) {
			batch, wf, err := a.Catalog.EnqueueFile(ctx, a.Runner, path)
			if err != nil {
				return catalog.Summary{}, err
			}
			return a.Catalog.Wait(ctx, a.Runner, batch, wf, nil)
		},
	}
	r, err := s.Sync(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(r)
	}
	if r.NotModified {
		fmt.Fprintf(stdout, "%s: not modified since the last sync\n", pos[0])
		return nil
	}
	i := r.Import
	fmt.Fprintf(stdout, "batch %d %s: %d rows: %d added, %d updated, %d unchanged, %d failed; %d removed (catalog version %d)\n",
		i.Batch, i.Outcome, i.Total, i.Added, i.Updated, i.Unchanged, i.Failed, len(r.Removed), i.Version)
	for _, e := range i.Errors {
		fmt.Fprintf(stdout, "  row %d %s: %s\n", e.Line, e.ProductID, e.Reason)
	}
	if len(r.Removed) > 0 {
		fmt.Fprintf(stdout, "  removed: %s\n", strings.Join(r.Removed, ", "))
	}
	return nil
}
