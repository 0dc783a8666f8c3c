package video

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/inbox"
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

// Run watches the inbox until ctx is done.
func (ib *Inbox) Run(ctx context.Context) error {
	log := ib.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &inbox.Watcher{
		Dir: ib.Dir, Name: "video inbox", Poll: ib.Poll, Stable: ib.Stable, Log: log,
		Accept: func(e fs.DirEntry) bool {
			name := e.Name()
			return e.Type().IsRegular() && !strings.HasSuffix(name, ".part") && !strings.HasSuffix(name, ".tmp")
		},
		Handle: func(ctx context.Context, path string) error { return ib.add(ctx, log, path) },
	}
	return w.Run(ctx)
}

func (ib *Inbox) add(ctx context.Context, log *slog.Logger, path string) error {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		log.Warn("video inbox: open", "file", path, "err", err)
		return fmt.Errorf("%w: %w", inbox.ErrKeep, err)
	}
	v, err := ib.Svc.Add(ctx, f, name, ib.MaxBytes)
	f.Close()
	switch {
	case ctx.Err() != nil:
	case err != nil:
		log.Warn("video inbox: refused", "file", name, "err", err)
	default:
		log.Info("video inbox: added", "file", name, "video", v.ID, "workflow", v.WorkflowID)
	}
	return err
}
