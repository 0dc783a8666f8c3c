// Package inbox watches a directory for files dropped into it. A file is
// handed over once its size and modification time have stayed the same
// for Stable, so a file still being copied is never read half-written;
// after it is handled it moves to processed/, or to failed/ with a
// .error.txt note beside it when its handler failed.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrKeep, wrapped in a handler's error, leaves the file where it is to be
// tried again once it has been stable for another Stable.
var ErrKeep = errors.New("inbox: keep the file for a later try")

// Watcher scans Dir every Poll and hands each accepted file that has been
// stable for Stable to Handle.
type Watcher struct {
	Dir string
	// Name prefixes log messages and errors ("catalog: inbox").
	Name string
	// Accept says whether an entry is a file for this inbox. Hidden files
	// (a leading ".") are never taken.
	Accept func(fs.DirEntry) bool
	// Handle handles one file by path; its error decides processed/ or
	// failed/ (see ErrKeep). When ctx is done after Handle returns, the
	// file stays for the next start.
	Handle func(ctx context.Context, path string) error
	// Parallel handles each ready file in its own goroutine; otherwise one
	// at a time, within the scan.
	Parallel bool
	// Stamp prefixes moved files with the UTC time of the move
	// ("20060102T150405Z-name"), so that a name can come again.
	Stamp bool
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
func (w *Watcher) Run(ctx context.Context) error {
	if w.Handle == nil || w.Accept == nil {
		return fmt.Errorf("%s: watcher needs Accept and Handle", w.Name)
	}
	if w.Poll <= 0 {
		w.Poll = time.Second
	}
	if w.Stable <= 0 {
		w.Stable = time.Second
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{w.Dir, filepath.Join(w.Dir, "processed"), filepath.Join(w.Dir, "failed")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("%s: %w", w.Name, err)
		}
	}
	w.seen = map[string]fileState{}
	w.inflight = map[string]bool{}
	t := time.NewTicker(w.Poll)
	defer t.Stop()
	defer w.wg.Wait()
	for {
		if err := w.scan(ctx); err != nil {
			w.Log.Warn(w.Name+": scan", "dir", w.Dir, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (w *Watcher) scan(ctx context.Context) error {
	entries, err := os.ReadDir(w.Dir)
	if err != nil {
		return err
	}
	now := time.Now()
	present := map[string]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !w.Accept(e) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		path := filepath.Join(w.Dir, e.Name())
		present[path] = true
		w.mu.Lock()
		busy := w.inflight[path]
		prev, ok := w.seen[path]
		cur := fileState{size: info.Size(), mod: info.ModTime(), since: now}
		if ok && prev.size == cur.size && prev.mod.Equal(cur.mod) {
			cur.since = prev.since
		}
		w.seen[path] = cur
		ready := !busy && now.Sub(cur.since) >= w.Stable
		if ready {
			w.inflight[path] = true
		}
		w.mu.Unlock()
		if !ready {
			continue
		}
		w.wg.Add(1)
		if w.Parallel {
			go w.process(ctx, path)
		} else {
			w.process(ctx, path)
		}
	}
	w.mu.Lock()
	for p := range w.seen {
		if !present[p] {
			delete(w.seen, p)
		}
	}
	w.mu.Unlock()
	return nil
}

func (w *Watcher) process(ctx context.Context, path string) {
	defer w.wg.Done()
	defer func() {
		w.mu.Lock()
		delete(w.inflight, path)
		delete(w.seen, path)
		w.mu.Unlock()
	}()
	err := w.Handle(ctx, path)
	if ctx.Err() != nil || errors.Is(err, ErrKeep) {
		return // shutting down or asked to: the file stays for a later try
	}
	dest := "processed"
	if err != nil {
		dest = "failed"
	}
	name := filepath.Base(path)
	if w.Stamp {
		name = time.Now().UTC().Format("20060102T150405Z") + "-" + name
	}
	target := filepath.Join(w.Dir, dest, name)
	if mvErr := os.Rename(path, target); mvErr != nil {
		w.Log.Error(w.Name+": move file", "file", path, "to", target, "err", mvErr)
		return
	}
	if err != nil {
		if werr := os.WriteFile(target+".error.txt", []byte(err.Error()+"\n"), 0o640); werr != nil {
			w.Log.Warn(w.Name+": write error note", "file", target, "err", werr)
		}
	}
}
