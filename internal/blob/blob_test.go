package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/blob/blobtest"
)

func open(t *testing.T, u string) *Store {
	t.Helper()
	s, err := Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// backends returns a fresh store URL per backend: a directory, file:// and
// a bucket on the test S3 server (skipped when there is none).
func backends() []struct {
	name string
	url  func(t *testing.T) string
} {
	return []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"dir", func(t *testing.T) string { return filepath.Join(t.TempDir(), "blobs") }},
		{"file", func(t *testing.T) string { return "file://" + filepath.Join(t.TempDir(), "blobs") }},
		{"s3", func(t *testing.T) string { return blobtest.S3URL(t) }},
	}
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := open(t, b.url(t))
			data := bytes.Repeat([]byte("vitrine"), 1000)
			if err := s.Put(ctx, "videos/1/original.mp4", bytes.NewReader(data), "video/mp4"); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, "videos/2/a.jpg", strings.NewReader("x"), "image/jpeg"); err != nil {
				t.Fatal(err)
			}
			r, err := s.Get(ctx, "videos/1/original.mp4")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			r.Close()
			if !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, want %d", len(got), len(data))
			}
			a, err := s.Attributes(ctx, "videos/1/original.mp4")
			if err != nil || a.Size != int64(len(data)) || a.ContentType != "video/mp4" {
				t.Fatalf("attributes %+v, %v", a, err)
			}
			keys, err := s.List(ctx, "videos/")
			if err != nil || len(keys) != 2 || keys[0] != "videos/1/original.mp4" || keys[1] != "videos/2/a.jpg" {
				t.Fatalf("list %v, %v", keys, err)
			}
			if ok, err := s.Exists(ctx, "videos/2/a.jpg"); !ok || err != nil {
				t.Fatalf("exists %v %v", ok, err)
			}
			if err := s.Delete(ctx, "videos/2/a.jpg"); err != nil {
				t.Fatal(err)
			}
			if ok, _ := s.Exists(ctx, "videos/2/a.jpg"); ok {
				t.Fatal("exists after delete")
			}
			if _, err := s.Get(ctx, "videos/2/a.jpg"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("get deleted: %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, "nope"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("delete missing: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestKeyValidation(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := open(t, filepath.Join(root, "b"))
	bad := []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a\x00b", "x.attrs", strings.Repeat("k", 2000)}
	for _, k := range bad {
		if err := s.Put(ctx, k, strings.NewReader("x"), ""); err == nil {
			t.Errorf("put %q: no error", k)
		}
		if _, err := s.Get(ctx, k); err == nil {
			t.Errorf("get %q: no error", k)
		}
	}
	// Nothing escaped the bucket directory.
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("files outside the bucket: %v", entries)
	}
	if err := CheckKey("videos/1/frames/000001.jpg"); err != nil {
		t.Errorf("good key refused: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"", "gs://bucket", "ftp://x"} {
		if _, err := Open(ctx, u); err == nil {
			t.Errorf("Open(%q): no error", u)
		}
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, []byte("x"), 0o600)
	if _, err := Open(ctx, filepath.Join(f, "sub")); err == nil {
		t.Error("Open under a regular file: no error")
	}
}

// TestOpenS3URL checks that s3:// URLs reach the S3 driver; it opens a bucket
// on a loopback endpoint without talking to it (round trips against a real
// S3-compatible server belong to the scale-out tests).
func TestOpenS3URL(t *testing.T) {
	s, err := Open(context.Background(), "s3://media?endpoint=http://127.0.0.1:1&region=us-east-1&use_path_style=true")
	if err != nil {
		t.Fatalf("open s3 URL: %v", err)
	}
	defer s.Close()
	if s.URL() == "" {
		t.Error("URL not kept")
	}
	if _, err := Open(context.Background(), "s3://media?bogus_option=1"); err == nil {
		t.Error("s3 URL with an unknown option accepted")
	}
}

// TestFailedPutLeavesNothing checks on every backend that a Put whose reader
// fails midway (beyond one S3 part) is aborted: no partial object appears.
func TestFailedPutLeavesNothing(t *testing.T) {
	ctx := context.Background()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := open(t, b.url(t))
			boom := errors.New("disk read error")
			r := io.MultiReader(io.LimitReader(rand.Reader, s3PartSize+1000), errReader{boom})
			if err := s.Put(ctx, "videos/broken/original.mp4", r, "video/mp4"); !errors.Is(err, boom) {
				t.Fatalf("put with a failing reader: %v, want the reader's error", err)
			}
			if ok, err := s.Exists(ctx, "videos/broken/original.mp4"); ok || err != nil {
				t.Errorf("partial object visible: exists=%v err=%v", ok, err)
			}
		})
	}
}
