package video

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// smallCatalog writes a products.csv with the first n products of the
// sample catalog, with copies of their images, into a temporary directory.
func smallCatalog(t *testing.T, samples string, n int) string {
	t.Helper()
	src := filepath.Join(samples, "catalog")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(src, "products.csv"))
	if err != nil {
		t.Skipf("sample catalog missing: %v", err)
	}
	defer f.Close()
	var out bytes.Buffer
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan() && i <= n; i++ {
		line := sc.Text()
		if i > 0 {
			id, _, _ := strings.Cut(line, ",")
			img, err := os.ReadFile(filepath.Join(src, "images", id+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "images", id+".jpg"), img, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out.WriteString(line + "\n")
	}
	p := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// hookServer records signed webhook deliveries and fails the first one.
type hookServer struct {
	mu     sync.Mutex
	calls  int
	bodies [][]byte
	valid  []bool
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.calls == 1 {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	h.bodies = append(h.bodies, b)
	h.valid = append(h.valid, VerifySignature([]byte("s3cret"), r.Header.Get(HeaderTimestamp), b, r.Header.Get(HeaderSignature)))
}

func TestWorkflowOnSampleVideo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the models on a sample video")
	}
	samples := testenv.Samples(t)
	hooks := &hookServer{}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	cfg := Config{WebhookURL: srv.URL, WebhookSecret: "s3cret", WebhookBackoff: 10 * time.Millisecond}
	e := newEnv(t, envOptions{models: true, catalog: smallCatalog(t, samples, 60), cfg: cfg})
	ctx := context.Background()

	v, wf := e.addFile(t, filepath.Join(samples, "videos", "videoavatars_person_turntable.mp4"))
	if wf.State != jobs.StateSucceeded {
		t.Fatalf("workflow %s: %+v", wf.State, wf.Steps)
	}
	want := []string{StepProbe, StepDecode, StepShots, StepSample, StepDetect, StepTrack, StepEmbed, StepMatch, StepAssemble, StepPublish}
	if len(wf.Steps) != len(want) {
		t.Fatalf("steps = %+v", wf.Steps)
	}
	for i, s := range wf.Steps {
		if s.Name != want[i] || s.State != jobs.StateSucceeded || s.StartedAt == nil || s.FinishedAt == nil {
			t.Errorf("step %d = %+v", i, s)
		}
	}
	if got, err := e.svc.Workflow(ctx, v.ID); err != nil || got.ID != wf.ID {
		t.Fatalf("Workflow(%s) = %+v, %v", v.ID, got, err)
	}
	got, err := e.svc.Get(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateReady || got.Width != 630 || got.Height != 630 || got.DurationS < 8 || got.DocVersion != 1 || got.ReadyAt == nil {
		t.Fatalf("video = %+v", got)
	}

	// One shot (a single turntable take) with a JPEG keyframe thumbnail.
	shots, err := e.svc.Shots(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(shots) != 1 || shots[0].Transition != shoppable.TransitionNone {
		t.Fatalf("shots = %+v", shots)
	}
	rc, err := e.svc.Thumbnail(ctx, v.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jpeg.Decode(rc); err != nil {
		t.Fatalf("thumbnail is not a JPEG: %v", err)
	}
	rc.Close()

	// Sampling respects the 2 frames/s cap; the man is tracked as one
	// person: his garment regions form few long tracks, not one per frame.
	var frames, tracks, longest int
	e.db.Read.QueryRow(`SELECT COUNT(*) FROM video_frames WHERE video_id = ?`, v.ID).Scan(&frames)
	e.db.Read.QueryRow(`SELECT COUNT(*), MAX(n_dets) FROM video_tracks WHERE video_id = ? AND label <> ''`, v.ID).Scan(&tracks, &longest)
	if frames < 14 || frames > 17 {
		t.Errorf("sampled %d frames from 8.2 s, want about 2 per second", frames)
	}
	if tracks == 0 || longest < frames*3/4 {
		t.Errorf("%d tracks, longest %d detections over %d frames: the person is not followed", tracks, longest, frames)
	}

	doc, vtt, err := e.svc.Shoppable(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	d, err := shoppable.Parse(doc)
	if err != nil {
		t.Fatalf("shoppable document: %v\n%s", err, doc)
	}
	if d.Version != 1 || d.Video.ID != v.ID || len(d.Shots) != 1 || d.Shots[0].Keyframe == "" || d.Models.Detector == "" || d.Models.Embedder == "" {
		t.Fatalf("document = %+v", d)
	}
	cues, err := shoppable.ParseVTT(bytes.NewReader(vtt))
	if err != nil {
		t.Fatal(err)
	}
	if len(cues) != len(d.Items) {
		t.Fatalf("%d cues for %d items", len(cues), len(d.Items))
	}

	// Re-match reuses the stored track embeddings: three steps, no decode,
	// detections untouched, a new document version.
	var detsBefore int
	e.db.Read.QueryRow(`SELECT COUNT(*) FROM video_detections WHERE video_id = ?`, v.ID).Scan(&detsBefore)
	wfID, err := e.svc.Rematch(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	rw := e.wait(t, wfID)
	if rw.State != jobs.StateSucceeded || len(rw.Steps) != 3 || rw.Steps[0].Name != StepMatch {
		t.Fatalf("rematch workflow = %+v", rw)
	}
	var detsAfter int
	e.db.Read.QueryRow(`SELECT COUNT(*) FROM video_detections WHERE video_id = ?`, v.ID).Scan(&detsAfter)
	if detsAfter != detsBefore {
		t.Errorf("rematch changed detections: %d -> %d", detsBefore, detsAfter)
	}
	doc2, _, err := e.svc.Shoppable(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := shoppable.Parse(doc2)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Version != 2 || len(d2.Items) != len(d.Items) {
		t.Fatalf("after rematch: version %d with %d items (before: %d items)", d2.Version, len(d2.Items), len(d.Items))
	}

	// Two publishes; the first delivery was refused once and retried.
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	if hooks.calls != 3 || len(hooks.bodies) != 2 {
		t.Fatalf("webhook calls = %d, delivered %d", hooks.calls, len(hooks.bodies))
	}
	for i, b := range hooks.bodies {
		var ev WebhookEvent
		if err := json.Unmarshal(b, &ev); err != nil || !hooks.valid[i] || ev.VideoID != v.ID || ev.Version != i+1 || ev.Event != "video.published" {
			t.Errorf("delivery %d: %s (signature valid %v, err %v)", i, b, hooks.valid[i], err)
		}
	}
	var attempts int
	e.db.Read.QueryRow(`SELECT attempts FROM video_webhook_deliveries WHERE video_id = ? AND version = 1`, v.ID).Scan(&attempts)
	if attempts != 2 {
		t.Errorf("first delivery took %d attempts, want 2", attempts)
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"event":"video.published"}`)
	sig := Sign([]byte("k"), "1700000000", body)
	tests := []struct {
		name, secret, ts, sig string
		body                  []byte
		want                  bool
	}{
		{"valid", "k", "1700000000", sig, body, true},
		{"wrong secret", "x", "1700000000", sig, body, false},
		{"replayed timestamp", "k", "1700000001", sig, body, false},
		{"tampered body", "k", "1700000000", sig, []byte(`{"event":"x"}`), false},
		{"empty signature", "k", "1700000000", "", body, false},
	}
	for _, tc := range tests {
		if got := VerifySignature([]byte(tc.secret), tc.ts, tc.body, tc.sig); got != tc.want {
			t.Errorf("%s: VerifySignature = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Errorf("signature format %q", sig)
	}
}
