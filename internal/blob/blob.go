// Package blob stores media, frames and snapshots by key in a directory (the
// embedded default) or an S3-compatible bucket, chosen by URL. It is a thin,
// key-checking layer over gocloud.dev/blob; consumers declare their own small
// interfaces over the methods they call.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"

	"github.com/vitrine-dev/vitrine/internal/crypt"
)

// ErrNotFound is returned (wrapped) when a key does not exist.
var ErrNotFound = errors.New("blob: not found")

// Store is an open blob store.
type Store struct {
	bucket *gcblob.Bucket
	url    string
	// kr, when set, encrypts every object written (see crypt.go).
	kr *crypt.Keyring
}

// Attributes describe a stored object.
type Attributes struct {
	Size        int64
	ContentType string
	ModTime     time.Time
}

// openS3 is set by s3.go when the binary is built with S3 support.
var openS3 func(ctx context.Context, u string) (*gcblob.Bucket, error)

// Open opens the store named by u: a plain directory path or file://DIR (the
// directory is created), or s3://bucket?endpoint=…&region=…&use_path_style=true.
func Open(ctx context.Context, u string) (*Store, error) {
	switch {
	case u == "":
		return nil, errors.New("blob: open: empty URL")
	case strings.HasPrefix(u, "s3://"):
		if openS3 == nil {
			return nil, fmt.Errorf("blob: open %s: S3 support is not built into this binary", u)
		}
		b, err := openS3(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("blob: open %s: %w", u, err)
		}
		return &Store{bucket: b, url: u}, nil
	case strings.Contains(u, "://") && !strings.HasPrefix(u, "file://"):
		return nil, fmt.Errorf("blob: open %s: unsupported scheme (want a directory, file:// or s3://)", u)
	}
	dir := u
	if strings.HasPrefix(u, "file://") {
		pu, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("blob: open %s: %w", u, err)
		}
		dir = pu.Path
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", u, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", u, err)
	}
	// NoTempDir: the data dir may be on another mount than os.TempDir, where
	// the final rename would fail.
	b, err := fileblob.OpenBucket(abs, &fileblob.Options{NoTempDir: true, DirFileMode: 0o750})
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", u, err)
	}
	return &Store{bucket: b, url: u}, nil
}

// URL is the URL the store was opened from.
func (s *Store) URL() string { return s.url }

// Close releases the store.
func (s *Store) Close() error { return s.bucket.Close() }

// CheckKey reports whether key is a safe object key: relative, slash
// separated, no empty, "." or ".." segments, no backslashes or control bytes.
func CheckKey(key string) error {
	if key == "" {
		return errors.New("blob: empty key")
	}
	if len(key) > 1024 {
		return fmt.Errorf("blob: key of %d bytes is too long", len(key))
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("blob: key %q is absolute", key)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("blob: key %q has a forbidden character", key)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "", ".", "..":
			return fmt.Errorf("blob: key %q has an empty, '.' or '..' segment", key)
		}
		// fileblob keeps attributes in <name>.attrs side files.
		if strings.HasSuffix(seg, ".attrs") {
			return fmt.Errorf("blob: key %q ends a segment in the reserved suffix .attrs", key)
		}
	}
	return nil
}

// Put stores r under key, replacing any previous object. The object becomes
// visible only when fully written.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, contentType string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	opts := &gcblob.WriterOptions{ContentType: contentType}
	if s.kr != nil {
		opts.Metadata = map[string]string{encMetaKey: encMetaValue}
	}
	if strings.HasPrefix(s.url, "s3://") {
		// Objects larger than one part go up as a multipart upload, parts
		// sent in parallel; a failed upload is aborted, never half visible.
		opts.BufferSize, opts.MaxConcurrency = s3PartSize, s3PartConcurrency
	}
	// Cancelling the writer's context before Close aborts the write; a
	// plain Close would publish the partial object.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, key, opts)
	if err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := s.write(w, r); err != nil {
		cancel()
		w.Close()
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	return nil
}

// Get opens the object at key for reading; the caller closes it.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, wrap("get", key, err)
	}
	return s.decrypt(key, r)
}

// Delete removes key. Deleting a missing key returns ErrNotFound.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := s.bucket.Delete(ctx, key); err != nil {
		return wrap("delete", key, err)
	}
	return nil
}

// Exists reports whether key exists.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	if err := CheckKey(key); err != nil {
		return false, err
	}
	ok, err := s.bucket.Exists(ctx, key)
	if err != nil {
		return false, wrap("exists", key, err)
	}
	return ok, nil
}

// Attributes returns size, content type and modification time of key.
func (s *Store) Attributes(ctx context.Context, key string) (Attributes, error) {
	if err := CheckKey(key); err != nil {
		return Attributes{}, err
	}
	a, err := s.bucket.Attributes(ctx, key)
	if err != nil {
		return Attributes{}, wrap("attributes", key, err)
	}
	size := a.Size
	if a.Metadata[encMetaKey] == encMetaValue {
		if size, err = crypt.PlainSize(a.Size); err != nil {
			return Attributes{}, fmt.Errorf("blob: attributes %s: %w", key, err)
		}
	}
	return Attributes{Size: size, ContentType: a.ContentType, ModTime: a.ModTime}, nil
}

// List returns the keys starting with prefix, in lexical order.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	it := s.bucket.List(&gcblob.ListOptions{Prefix: prefix})
	var keys []string
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return keys, nil
		}
		if err != nil {
			return nil, fmt.Errorf("blob: list %q: %w", prefix, err)
		}
		keys = append(keys, obj.Key)
	}
}

func wrap(op, key string, err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("blob: %s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("blob: %s %s: %w", op, key, err)
}
