package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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

	mu       sync.Mutex
	seen     map[string]fileState
	inflight map[string]bool
	wg       sync.WaitGroup
}

type fileState struct {
	size  int64
	mod   time.Time
	since time.Time
}

// Run scans the inbox until ctx is done, then waits for files in flight.
func (ib *Inbox) Run(ctx context.Context) error {
	if ib.Poll <= 0 {
		ib.Poll = time.Second
	}
	if ib.Stable <= 0 {
		ib.Stable = time.Second
	}
	if ib.Log == nil {
		ib.Log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{ib.Dir, filepath.Join(ib.Dir, "processed"), filepath.Join(ib.Dir, "failed")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("catalog: inbox: %w", err)
		}
	}
	ib.seen = map[string]fileState{}
	ib.inflight = map[string]bool{}
	t := time.NewTicker(ib.Poll)
	defer t.Stop()
	defer ib.wg.Wait()
	for {
		if err := ib.scan(ctx); err != nil {
			ib.Log.Warn("catalog: inbox scan", "dir", ib.Dir, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (ib *Inbox) scan(ctx context.Context) error {
	entries, err := os.ReadDir(ib.Dir)
	if err != nil {
		return err
	}
	now := time.Now()
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		if _, err := FormatOf(name); err != nil {
			continue
		}
		path := filepath.Join(ib.Dir, name)
		present[path] = true
		info, err := e.Info()
		if err != nil {
			continue
		}
		ib.mu.Lock()
		busy := ib.inflight[path]
		prev, ok := ib.seen[path]
		cur := fileState{size: info.Size(), mod: info.ModTime(), since: now}
		if ok && prev.size == cur.size && prev.mod.Equal(cur.mod) {
			cur.since = prev.since
		}
		ib.seen[path] = cur
		ready := !busy && now.Sub(cur.since) >= ib.Stable
		if ready {
			ib.inflight[path] = true
		}
		ib.mu.Unlock()
		if ready {
			ib.wg.Add(1)
			go ib.process(ctx, path)
		}
	}
	ib.mu.Lock()
	for p := range ib.seen {
		if !present[p] {
			delete(ib.seen, p)
		}
	}
	ib.mu.Unlock()
	return nil
}

func (ib *Inbox) process(ctx context.Context, path string) {
	defer ib.wg.Done()
	defer func() {
		ib.mu.Lock()
		delete(ib.inflight, path)
		delete(ib.seen, path)
		ib.mu.Unlock()
	}()
	log := ib.Log.With("file", filepath.Base(path))
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
	if ctx.Err() != nil {
		return // shutting down: the file stays and is picked up next start
	}
	dest := "processed"
	if err != nil {
		dest = "failed"
		log.Warn("catalog: inbox file failed", "err", err)
	} else {
		log.Info("catalog: inbox file ingested", "batch", s.Batch, "added", s.Added, "updated", s.Updated,
			"unchanged", s.Unchanged, "failed", s.Failed)
	}
	target := filepath.Join(ib.Dir, dest, time.Now().UTC().Format("20060102T150405Z")+"-"+filepath.Base(path))
	if mvErr := os.Rename(path, target); mvErr != nil {
		log.Error("catalog: inbox: move file", "to", target, "err", mvErr)
		return
	}
	if err != nil {
		_ = os.WriteFile(target+".error.txt", []byte(err.Error()+"\n"), 0o640)
	}
}
