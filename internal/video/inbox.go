package video

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Inbox watches a directory: each video file dropped into it is uploaded
// with Add once its size and modification time have stayed the same for
// Stable, then moved to processed/ (or to failed/ next to a .error.txt
// note when it was refused). Hidden files and names ending in .part or
// .tmp are left alone while they are being written.
type Inbox struct {
	Dir string
	Svc *Service
	// MaxBytes caps one file (0: no cap).
	MaxBytes int64
	// Poll is the scan interval and Stable the quiet time a file needs
	// (both default to one second).
	Poll, Stable time.Duration
	Log          *slog.Logger
}

type seenFile struct {
	size  int64
	mod   time.Time
	since time.Time
}

// Run watches the inbox until ctx is done.
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
			return fmt.Errorf("video inbox: %w", err)
		}
	}
	seen := map[string]seenFile{}
	t := time.NewTicker(ib.Poll)
	defer t.Stop()
	for {
		ib.scan(ctx, seen)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (ib *Inbox) scan(ctx context.Context, seen map[string]seenFile) {
	entries, err := os.ReadDir(ib.Dir)
	if err != nil {
		ib.Log.Warn("video inbox: scan", "dir", ib.Dir, "err", err)
		return
	}
	now := time.Now()
	present := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".part") || strings.HasSuffix(name, ".tmp") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		present[name] = true
		st, ok := seen[name]
		if !ok || st.size != info.Size() || !st.mod.Equal(info.ModTime()) {
			seen[name] = seenFile{size: info.Size(), mod: info.ModTime(), since: now}
			continue
		}
		if now.Sub(st.since) < ib.Stable {
			continue
		}
		delete(seen, name)
		ib.process(ctx, name)
	}
	for name := range seen {
		if !present[name] {
			delete(seen, name)
		}
	}
}

func (ib *Inbox) process(ctx context.Context, name string) {
	path := filepath.Join(ib.Dir, name)
	f, err := os.Open(path)
	if err != nil {
		ib.Log.Warn("video inbox: open", "file", path, "err", err)
		return
	}
	v, err := ib.Svc.Add(ctx, f, name, ib.MaxBytes)
	f.Close()
	if ctx.Err() != nil {
		return // shutting down: the file stays for the next start
	}
	dest := filepath.Join(ib.Dir, "processed", name)
	if err != nil {
		dest = filepath.Join(ib.Dir, "failed", name)
		if werr := os.WriteFile(dest+".error.txt", []byte(err.Error()+"\n"), 0o640); werr != nil {
			ib.Log.Warn("video inbox: write error note", "file", dest, "err", werr)
		}
		ib.Log.Warn("video inbox: refused", "file", name, "err", err)
	} else {
		ib.Log.Info("video inbox: added", "file", name, "video", v.ID, "workflow", v.WorkflowID)
	}
	if err := os.Rename(path, dest); err != nil {
		ib.Log.Warn("video inbox: move", "file", path, "err", err)
	}
}
