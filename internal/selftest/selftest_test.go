package selftest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

func deps(t *testing.T) (Deps, *jobs.Runner) {
	t.Helper()
	models := testenv.Models(t)
	if _, err := vision.FindRuntimeLibrary(""); err != nil {
		t.Skipf("ONNX Runtime library not found (.deps/onnxruntime/libonnxruntime.so.1 or VITRINE_ORT_LIB): %v", err)
	}
	testenv.NeedFFmpeg(t)
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := blob.Open(ctx, filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 1, PollInterval: 20 * time.Millisecond, RetryBase: 10 * time.Millisecond, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	return Deps{DB: db, Blob: b, ModelsDir: models}, r
}

func run(t *testing.T, d Deps, r *jobs.Runner) *jobs.Workflow {
	t.Helper()
	ctx := context.Background()
	if err := r.Register(Definition(d)); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	id, err := r.Enqueue(ctx, Kind, "installation", Input{StepDelay: "1ms"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	w, err := r.Wait(wctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestSelftestPasses(t *testing.T) {
	d, r := deps(t)
	w := run(t, d, r)
	if w.State != jobs.StateSucceeded {
		t.Fatalf("selftest %s: %s", w.State, w.Error)
	}
	if len(w.Steps) != len(Steps) {
		t.Fatalf("%d steps", len(w.Steps))
	}
	logs, _ := r.Logs(context.Background(), w.ID, 0, 0)
	var msgs []string
	for _, l := range logs {
		msgs = append(msgs, l.Msg)
	}
	joined := strings.Join(msgs, "|")
	for _, want := range []string{"database round trip ok", "blob round trip ok", "ffmpeg found", "ffprobe found", "ONNX Runtime loaded", "model verified"} {
		if !strings.Contains(joined, want) {
			t.Errorf("logs lack %q: %v", want, msgs)
		}
	}
}

func TestSelftestNamesMissingModels(t *testing.T) {
	d, r := deps(t)
	d.ModelsDir = filepath.Join(t.TempDir(), "no-models")
	w := run(t, d, r)
	last := w.Steps[len(w.Steps)-1]
	if w.State != jobs.StateFailed || last.Name != "models" || last.State != jobs.StateFailed {
		t.Fatalf("workflow %s, last step %+v", w.State, last)
	}
	if !strings.Contains(last.Error, "no-models is missing") || !strings.Contains(last.Error, "vitrine models install") {
		t.Errorf("error %q does not say what is missing and how to fix it", last.Error)
	}
	for _, s := range w.Steps[:len(w.Steps)-1] {
		if s.State != jobs.StateSucceeded {
			t.Errorf("step %s %s", s.Name, s.State)
		}
	}
}
