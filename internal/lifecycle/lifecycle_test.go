package lifecycle

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/blob"
)

// store adapts blob.Store to Blobs, as cmd/vitrine does.
type store struct{ *blob.Store }

func (s store) Attributes(ctx context.Context, key string) (Attrs, error) {
	a, err := s.Store.Attributes(ctx, key)
	return Attrs{Size: a.Size, ContentType: a.ContentType, ModTime: a.ModTime}, err
}

func openStore(t *testing.T) (store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := blob.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return store{s}, dir
}

func TestClassify(t *testing.T) {
	tests := map[string]string{
		"videos/v_1/source":       ClassOriginals,
		"videos/v_1/shots/3.jpg":  ClassThumbnails,
		"catalog/images/abc":      ClassImages,
		"catalog/batches/7.jsonl": ClassBatches,
		"index/catalog-12.hnsw":   ClassSnapshots,
		"selftest/1-x":            ClassOther,
		"videos/v_1/sourcecode":   ClassOther,
	}
	for k, want := range tests {
		if got := Classify(k); got != want {
			t.Errorf("Classify(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	archive, _ := openStore(t)
	work := t.TempDir()
	now := time.Now()
	put := func(key string, age time.Duration) {
		if err := s.Put(ctx, key, bytes.NewReader(bytes.Repeat([]byte("x"), 100)), "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
		mt := now.Add(-age)
		os.Chtimes(filepath.Join(dir, filepath.FromSlash(key)), mt, mt)
	}
	put("videos/v_old/source", 40*24*time.Hour)
	put("videos/v_new/source", time.Hour)
	put("videos/v_old/shots/0.jpg", 40*24*time.Hour)
	put("catalog/images/sha1", 400*24*time.Hour)
	put("catalog/batches/1.jsonl", 10*24*time.Hour)
	put("catalog/batches/2.jsonl", time.Hour)
	for v := 1; v <= 5; v++ {
		put("index/catalog-"+string(rune('0'+v))+".hnsw", time.Duration(6-v)*time.Hour)
	}
	os.MkdirAll(filepath.Join(work, "v_old"), 0o750)
	os.MkdirAll(filepath.Join(work, "v_new"), 0o750)
	os.WriteFile(filepath.Join(work, "v_old", "source"), []byte("plaintext copy"), 0o640)
	os.WriteFile(filepath.Join(work, "v_new", "source"), []byte("plaintext copy"), 0o640)
	old := now.Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(work, "v_old", "source"), old, old)

	p := Policy{WorkFiles: 24 * time.Hour, Batches: 7 * 24 * time.Hour, KeepSnapshots: 2, Originals: 30 * 24 * time.Hour, Archive: archive}
	want := []string{"catalog/batches/1.jsonl", "index/catalog-1.hnsw", "index/catalog-2.hnsw", "index/catalog-3.hnsw", "videos/v_old/source", "work:v_old/source"}

	dry, err := Run(ctx, s, work, p, now, false)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(dry.Expired))
	if !slices.Equal(got, want) || dry.Removed != 0 || dry.Moved != 0 {
		t.Fatalf("dry run selects %v (removed %d), want %v", got, dry.Removed, want)
	}
	for _, c := range dry.Classes {
		if c.Class == ClassSnapshots && (c.Objects != 5 || c.Expired != 3 || c.ExpiredBytes != 300) {
			t.Errorf("snapshot class %+v", c)
		}
	}
	if keys, _ := s.List(ctx, ""); len(keys) != 11 {
		t.Fatalf("dry run removed objects: %d left", len(keys))
	}

	rep, err := Run(ctx, s, work, p, now, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 5 || rep.Moved != 1 {
		t.Errorf("removed %d, moved %d; want 5 and 1", rep.Removed, rep.Moved)
	}
	keys, _ := s.List(ctx, "")
	wantLeft := []string{"catalog/batches/2.jsonl", "catalog/images/sha1", "index/catalog-4.hnsw", "index/catalog-5.hnsw", "videos/v_new/source", "videos/v_old/shots/0.jpg"}
	if !slices.Equal(keys, wantLeft) {
		t.Errorf("left %v, want %v", keys, wantLeft)
	}
	r, err := archive.Get(ctx, "videos/v_old/source")
	if err != nil {
		t.Fatalf("archived original: %v", err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if len(b) != 100 {
		t.Errorf("archived original has %d bytes", len(b))
	}
	if _, err := os.Stat(filepath.Join(work, "v_old")); !os.IsNotExist(err) {
		t.Errorf("expired work dir still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(work, "v_new", "source")); err != nil {
		t.Errorf("fresh work file removed: %v", err)
	}
	// A second pass finds nothing more.
	if again, err := Run(ctx, s, work, p, now, true); err != nil || len(again.Expired) != 0 {
		t.Errorf("second pass: %v %v", again.Expired, err)
	}
	// The zero policy keeps everything.
	if none, err := Run(ctx, s, work, Policy{}, now.Add(1000*24*time.Hour), false); err != nil || len(none.Expired) != 0 {
		t.Errorf("zero policy expires %v (%v)", none.Expired, err)
	}
}
