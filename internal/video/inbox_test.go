package video

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestInbox(t *testing.T) {
	samples := testenv.Samples(t)
	e := newEnv(t, envOptions{})
	dir := filepath.Join(t.TempDir(), "inbox")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(samples, "videos", "pyscenedetect_goldeneye_cuts.mp4"))
	if err != nil {
		t.Skipf("sample video missing: %v", err)
	}
	// A file still being written (.part) is not picked up.
	if err := os.WriteFile(filepath.Join(dir, "clip.mp4.part"), data[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "clip.mp4"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.mp4"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ib := &Inbox{Dir: dir, Svc: e.svc, Poll: 20 * time.Millisecond, Stable: 50 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- ib.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, e1 := os.Stat(filepath.Join(dir, "processed", "clip.mp4"))
		_, e2 := os.Stat(filepath.Join(dir, "failed", "empty.mp4"))
		if e1 == nil && e2 == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox did not process the files (%v, %v)", e1, e2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	note, err := os.ReadFile(filepath.Join(dir, "failed", "empty.mp4.error.txt"))
	if err != nil || !strings.Contains(string(note), "empty") {
		t.Fatalf("error note %q, %v", note, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "clip.mp4.part")); err != nil {
		t.Fatalf("partial file was touched: %v", err)
	}
	vs, err := e.svc.List(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Source != "clip.mp4" || vs[0].SizeBytes != int64(len(data)) || vs[0].WorkflowID == 0 {
		t.Fatalf("videos = %+v", vs)
	}
}
