package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/app"
	"github.com/vitrine-dev/vitrine/internal/catalog"
)

func (c *catalogCmd) syncCmd(ctx context.Context, args []string) error {
	fs := newFlagSet("catalog sync", "catalog sync URL|FILE [--every 6h] [--json]",
		"Brings the catalog in step with a shop feed (Merchant Center XML or text\n"+
			"feed, Shopify CSV, JSON-LD, or vitrine's CSV/JSONL) at a URL or in a file.\n"+
			"The feed is downloaded only when it changed (ETag / Last-Modified, then\n"+
			"its sha256) and imported as a batch: unchanged products are left alone,\n"+
			"a price or availability change costs no embedding, and products the\n"+
			"previous sync imported that the feed no longer lists are marked removed\n"+
			"(out of stock, attribute removed_from_feed) until the feed lists them\n"+
			"again. --every repeats it; the server syncs the feeds of its\n"+
			"catalog_feeds setting the same way.")
	load := withConfig(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	every := fs.Duration("every", 0, "sync again at this interval until interrupted (0: once); `vitrine serve` does the same for the catalog_feeds setting")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *every != 0 && *every < time.Minute {
		return fmt.Errorf("catalog sync: --every %v: want at least a minute", *every)
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
	s := a.FeedSyncer(a.Catalog.InputOnly())
	s.Every = *every
	for {
		r, err := s.Sync(ctx, pos[0])
		if err != nil && (*every == 0 || ctx.Err() != nil) {
			return err
		}
		if err != nil {
			fmt.Fprintf(stderr, "vitrine: %v (trying again in %v)\n", err, *every)
		} else if err := printSync(pos[0], r, *asJSON); err != nil {
			return err
		}
		if *every == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}

func printSync(source string, r catalog.SyncResult, asJSON bool) error {
	if asJSON {
		return printJSON(r)
	}
	if r.NotModified {
		fmt.Fprintf(stdout, "%s: not modified since the last sync\n", source)
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
