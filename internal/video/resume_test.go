package video

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// TestRetryResumesWithoutRedoingWork fails the detect step (models not
// loadable yet), then retries the workflow: finished steps are not run
// again, and re-running steps replaces their rows instead of adding to them.
func TestRetryResumesWithoutRedoingWork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the models on a sample video")
	}
	samples := testenv.Samples(t)
	m := loadModels(t)
	var available atomic.Bool
	var loads atomic.Int32
	e := newEnv(t, envOptions{tweak: func(d *Deps) {
		d.LoadModels = func(ctx context.Context) (*Models, error) {
			loads.Add(1)
			if !available.Load() {
				return nil, errors.New("models are being installed")
			}
			return &Models{Detector: m.vision.Detector, Embedder: m.vision.Embedder, Appearance: m.vision.Appearance, Garments: m.vision.Garments,
				DetectorName: "det", EmbedderName: "emb", AppearanceName: "app"}, nil
		}
		d.Catalog = nil
	}})
	ctx := context.Background()
	v, wf := e.addFile(t, filepath.Join(samples, "videos", "videoavatars_person_turntable.mp4"))
	if wf.State != jobs.StateFailed || wf.Steps[4].Name != StepDetect || wf.Steps[4].State != jobs.StateFailed {
		t.Fatalf("first run: %+v", wf.Steps)
	}
	runs := func() map[string]int {
		out := map[string]int{}
		rs, err := e.runner.StepRuns(ctx, wf.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			out[wf.Steps[r.Index].Name]++
		}
		return out
	}
	before := runs()
	if before[StepDecode] != 1 {
		t.Fatalf("decode ran %d times in the first run", before[StepDecode])
	}

	// Models arrive; matching still has no catalog, so the retried run now
	// fails at match, after detect, track and embed stored their output.
	available.Store(true)
	if err := e.runner.Retry(ctx, wf.ID); err != nil {
		t.Fatal(err)
	}
	wf = e.wait(t, wf.ID)
	after := runs()
	for _, s := range []string{StepProbe, StepDecode, StepShots, StepSample} {
		if after[s] != before[s] {
			t.Errorf("step %s ran again on retry (%d -> %d runs)", s, before[s], after[s])
		}
	}
	if wf.Steps[7].Name != StepMatch || wf.Steps[7].State != jobs.StateFailed || wf.Steps[6].State != jobs.StateSucceeded {
		t.Fatalf("retried run: %+v", wf.Steps)
	}
	count := func(table string) int {
		var n int
		if err := e.db.Read.QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE video_id = ?`, v.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	dets, tracks, embs := count("video_detections"), count("video_tracks"), count("video_track_embeddings")
	if dets == 0 || tracks == 0 || embs == 0 {
		t.Fatalf("stored %d detections, %d tracks, %d embeddings", dets, tracks, embs)
	}

	// Running detect, track and embed again (as after a crash) replaces
	// their rows.
	if _, err := e.db.Write.Exec(`UPDATE workflow_steps SET state = 'pending' WHERE workflow_id = ? AND idx >= 4`, wf.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Write.Exec(`UPDATE workflows SET state = 'failed' WHERE id = ?`, wf.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.runner.Retry(ctx, wf.ID); err != nil {
		t.Fatal(err)
	}
	e.wait(t, wf.ID)
	if again := runs(); again[StepDetect] != after[StepDetect]+1 || again[StepDecode] != before[StepDecode] {
		t.Fatalf("third run: detect %d -> %d runs, decode %d -> %d", after[StepDetect], again[StepDetect], before[StepDecode], again[StepDecode])
	}
	if d, tr, em := count("video_detections"), count("video_tracks"), count("video_track_embeddings"); d != dets || tr != tracks || em != embs {
		t.Fatalf("re-run changed row counts: detections %d -> %d, tracks %d -> %d, embeddings %d -> %d", dets, d, tracks, tr, embs, em)
	}
	if n := loads.Load(); n < 2 {
		t.Errorf("models loaded %d times", n)
	}
}

// TestMissingRuntimeFailsAtOnce checks that a missing ONNX Runtime library
// fails the workflow at its first attempt with the message that says how to
// install it, instead of retrying what no retry can fix.
func TestMissingRuntimeFailsAtOnce(t *testing.T) {
	samples := testenv.Samples(t)
	var loads atomic.Int32
	e := newEnv(t, envOptions{tweak: func(d *Deps) {
		d.LoadModels = func(ctx context.Context) (*Models, error) {
			loads.Add(1)
			return nil, fmt.Errorf("vision: looked in 13 places: %w", vision.ErrRuntimeMissing)
		}
	}})
	_, wf := e.addFile(t, filepath.Join(samples, "videos", "videoavatars_person_turntable.mp4"))
	if wf.State != jobs.StateFailed {
		t.Fatalf("workflow %s, want failed", wf.State)
	}
	if n := loads.Load(); n != 1 {
		t.Errorf("models loaded %d times, want 1 (no retries)", n)
	}
	if !strings.Contains(wf.Error, "VITRINE_ORT_LIB") {
		t.Errorf("workflow error %q does not say how to install the library", wf.Error)
	}
}
