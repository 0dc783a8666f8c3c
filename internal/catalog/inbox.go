package catalog

import (
	"context"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/inbox"
	"github.com/vitrine-dev/vitrine/internal/jobs"
)

// Inbox watches a directory and ingests every CSV/JSONL file dropped into
// it (image paths in the file resolve against the inbox directory). A file
// is picked up once its size and modification time have been stable for
// Stable, so a file still being copied is never read half-written; writers
// that can should write elsewhere and rename into place. When its batch
// ends the file moves to processed/ (or to failed/ with a .error.txt
// beside it on a file-level error), prefixed with the batch time.
type Inbox struct {
	Dir      string
	Ingester *Ingester
	// Runner runs the workflow; nil imports in the watcher's goroutine.
	Runner *jobs.Runner
	// Poll is the scan interval and Stable the quiet time a file needs
	// (both default to one second).
	Poll, Stable time.Duration
	Log          *slog.Logger
}

// Run scans the inbox until ctx is done, then waits for files in flight.
func (ib *Inbox) Run(ctx context.Context) error {
	log := ib.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &inbox.Watcher{
		Dir: ib.Dir, Name: "catalog: inbox", Parallel: true, Stamp: true,
		Poll: ib.Poll, Stable: ib.Stable, Log: log,
		Accept: func(e fs.DirEntry) bool {
			// .txt is a Merchant Center text feed on import, but in a
			// watched directory it is more likely a note: drop feeds
			// there as .tsv.
			_, err := FormatOf(e.Name())
			return !e.IsDir() && err == nil && !strings.EqualFold(filepath.Ext(e.Name()), ".txt")
		},
		Handle: func(ctx context.Context, path string) error { return ib.ingest(ctx, log, path) },
	}
	return w.Run(ctx)
}

func (ib *Inbox) ingest(ctx context.Context, log *slog.Logger, path string) error {
	log = log.With("file", filepath.Base(path))
	log.Info("catalog: inbox file picked up")
	var s Summary
	var err error
	if ib.Runner != nil {
		var batch, wf int64
		if batch, wf, err = ib.Ingester.EnqueueFile(ctx, ib.Runner, path); err == nil {
			s, err = ib.Ingester.Wait(ctx, ib.Runner, batch, wf, nil)
		}
	} else {
		s, err = ib.Ingester.ImportFile(ctx, path, nil)
	}
	switch {
	case ctx.Err() != nil:
	case err != nil:
		log.Warn("catalog: inbox file failed", "err", err)
	default:
		log.Info("catalog: inbox file ingested", "batch", s.Batch, "added", s.Added, "updated", s.Updated,
			"unchanged", s.Unchanged, "failed", s.Failed)
	}
	return err
}
