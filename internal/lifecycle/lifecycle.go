// Package lifecycle applies retention to what vitrine stores: the local
// decrypted working copies of source videos, catalog import batches, old
// vector index snapshots and, when configured, original videos (deleted or
// moved to an archive store, the counterpart of S3 lifecycle tiering).
// Report describes the storage by class and what the policy would remove;
// Apply does it.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Blobs is the part of the blob store (internal/blob.Store) lifecycle uses.
type Blobs interface {
	List(ctx context.Context, prefix string) ([]string, error)
	Attributes(ctx context.Context, key string) (Attrs, error)
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Put(ctx context.Context, key string, r io.Reader, contentType string) error
	Delete(ctx context.Context, key string) error
}

// Attrs are the attributes lifecycle needs of an object.
type Attrs struct {
	Size        int64
	ContentType string
	ModTime     time.Time
}

// Policy says what to remove. Zero durations keep a class forever.
type Policy struct {
	// WorkFiles: local copies of source videos made for ffmpeg (plaintext
	// even when blobs are encrypted); re-made from the blob when needed.
	WorkFiles time.Duration
	// Batches: catalog import inputs stored for their workflow.
	Batches time.Duration
	// KeepSnapshots: how many of the newest vector index snapshots to keep
	// (0 keeps all).
	KeepSnapshots int
	// Originals: uploaded source videos. Without them the video cannot be
	// played from vitrine or analysed again (re-matching still works).
	Originals time.Duration
	// Archive, when set, receives expired originals (same key) instead of
	// their deletion.
	Archive Blobs
}

// Class names, in report order.
const (
	ClassOriginals  = "originals"
	ClassThumbnails = "thumbnails"
	ClassImages     = "product images"
	ClassBatches    = "import batches"
	ClassSnapshots  = "index snapshots"
	ClassWork       = "work files (local)"
	ClassOther      = "other"
)

var classOrder = []string{ClassOriginals, ClassThumbnails, ClassImages, ClassBatches, ClassSnapshots, ClassWork, ClassOther}

// Classify names the class of a blob key.
func Classify(key string) string {
	switch {
	case strings.HasPrefix(key, "videos/") && strings.HasSuffix(key, "/source"):
		return ClassOriginals
	case strings.HasPrefix(key, "videos/") && strings.Contains(key, "/shots/"):
		return ClassThumbnails
	case strings.HasPrefix(key, "catalog/images/"):
		return ClassImages
	case strings.HasPrefix(key, "catalog/batches/"):
		return ClassBatches
	case strings.HasPrefix(key, "index/"):
		return ClassSnapshots
	}
	return ClassOther
}

// ClassReport sums one class.
type ClassReport struct {
	Class   string `json:"class"`
	Objects int    `json:"objects"`
	Bytes   int64  `json:"bytes"`
	// Expired objects are what the policy removes (or moves).
	Expired      int   `json:"expired"`
	ExpiredBytes int64 `json:"expired_bytes"`
}

// Report is the state of the storage and what the policy does to it.
type Report struct {
	Classes []ClassReport `json:"classes"`
	// Removed and Moved count what Apply did (zero for a dry run).
	Removed int `json:"removed"`
	Moved   int `json:"moved"`
	// Expired lists what the policy selects: blob keys, and work files as
	// "work:<relative path>".
	Expired []string `json:"expired,omitempty"`
}

type item struct {
	key, class string
	size       int64
	mod        time.Time
	path       string // work files
}

// Run reports the storage of blobs and workDir under p at now and, when
// apply is true, removes (or archives) what expired. Errors on single
// objects stop the run: a retention pass is re-run safely.
func Run(ctx context.Context, blobs Blobs, workDir string, p Policy, now time.Time, apply bool) (Report, error) {
	items, err := scan(ctx, blobs, workDir)
	if err != nil {
		return Report{}, err
	}
	expired := selectExpired(items, p, now)
	byClass := map[string]*ClassReport{}
	for _, c := range classOrder {
		byClass[c] = &ClassReport{Class: c}
	}
	for i, it := range items {
		c := byClass[it.class]
		c.Objects++
		c.Bytes += it.size
		if expired[i] {
			c.Expired++
			c.ExpiredBytes += it.size
		}
	}
	var rep Report
	for _, c := range classOrder {
		rep.Classes = append(rep.Classes, *byClass[c])
	}
	for i, it := range items {
		if !expired[i] {
			continue
		}
		if it.path != "" {
			rel, _ := filepath.Rel(workDir, it.path)
			rep.Expired = append(rep.Expired, "work:"+filepath.ToSlash(rel))
		} else {
			rep.Expired = append(rep.Expired, it.key)
		}
		if !apply {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		switch {
		case it.path != "":
			if err := os.Remove(it.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return rep, fmt.Errorf("lifecycle: remove work file: %w", err)
			}
			os.Remove(filepath.Dir(it.path)) // the per-video dir, when now empty
			rep.Removed++
		case it.class == ClassOriginals && p.Archive != nil:
			if err := move(ctx, blobs, p.Archive, it.key); err != nil {
				return rep, err
			}
			rep.Moved++
		default:
			if err := blobs.Delete(ctx, it.key); err != nil {
				return rep, fmt.Errorf("lifecycle: delete %s: %w", it.key, err)
			}
			rep.Removed++
		}
	}
	return rep, nil
}

// move copies key to the archive, checks the size, then deletes the original.
func move(ctx context.Context, from, to Blobs, key string) error {
	a, err := from.Attributes(ctx, key)
	if err != nil {
		return fmt.Errorf("lifecycle: archive %s: %w", key, err)
	}
	r, err := from.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("lifecycle: archive %s: %w", key, err)
	}
	err = to.Put(ctx, key, r, a.ContentType)
	r.Close()
	if err != nil {
		return fmt.Errorf("lifecycle: archive %s: %w", key, err)
	}
	b, err := to.Attributes(ctx, key)
	if err != nil || b.Size != a.Size {
		return fmt.Errorf("lifecycle: archive %s: copy has %d bytes, want %d (%v)", key, b.Size, a.Size, err)
	}
	if err := from.Delete(ctx, key); err != nil {
		return fmt.Errorf("lifecycle: archive %s: delete original: %w", key, err)
	}
	return nil
}

func scan(ctx context.Context, blobs Blobs, workDir string) ([]item, error) {
	keys, err := blobs.List(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("lifecycle: list blobs: %w", err)
	}
	var items []item
	for _, k := range keys {
		a, err := blobs.Attributes(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("lifecycle: %s: %w", k, err)
		}
		items = append(items, item{key: k, class: Classify(k), size: a.Size, mod: a.ModTime})
	}
	if workDir == "" {
		return items, nil
	}
	err = filepath.WalkDir(workDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		// Age from the last access by the pipeline (mtime is the copy time).
		items = append(items, item{class: ClassWork, size: info.Size(), mod: info.ModTime(), path: p})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lifecycle: scan work dir: %w", err)
	}
	return items, nil
}

func selectExpired(items []item, p Policy, now time.Time) []bool {
	out := make([]bool, len(items))
	older := func(it item, d time.Duration) bool { return d > 0 && now.Sub(it.mod) > d }
	var snaps []int
	for i, it := range items {
		switch it.class {
		case ClassWork:
			out[i] = older(it, p.WorkFiles)
		case ClassBatches:
			out[i] = older(it, p.Batches)
		case ClassOriginals:
			out[i] = older(it, p.Originals)
		case ClassSnapshots:
			snaps = append(snaps, i)
		}
	}
	if p.KeepSnapshots > 0 && len(snaps) > p.KeepSnapshots {
		// Newest by version number in the key, then by time.
		sort.Slice(snaps, func(a, b int) bool {
			va, vb := snapVersion(items[snaps[a]].key), snapVersion(items[snaps[b]].key)
			if va != vb {
				return va > vb
			}
			return items[snaps[a]].mod.After(items[snaps[b]].mod)
		})
		for _, i := range snaps[p.KeepSnapshots:] {
			out[i] = true
		}
	}
	return out
}

func snapVersion(key string) int64 {
	base := key[strings.LastIndexByte(key, '/')+1:]
	base = base[strings.LastIndexByte(base, '-')+1:]
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	v, err := strconv.ParseInt(base, 10, 64)
	if err != nil {
		return -1
	}
	return v
}
