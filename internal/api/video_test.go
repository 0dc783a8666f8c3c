package api

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/video"
)

// videoEnv is a server whose runner executes the real video workflow. No
// models are configured, so analysis stops at the detect step with a clear
// error after probe, decode, shots and sample have stored their output.
type videoEnv struct {
	*env
	svc *video.Service
}

func newVideoEnv(t *testing.T, maxUpload int64) *videoEnv {
	t.Helper()
	testenv.NeedFFmpeg(t)
	ctx := context.Background()
	dir := t.TempDir()
	cfg := testConfig(t, dir, nil)
	cfg.MaxUploadBytes = maxUpload
	db := testDB(t, dir)
	bs := testBlobs(t, dir)
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 1, PollInterval: 20 * time.Millisecond, Exclusive: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := video.New(video.Config{WorkDir: filepath.Join(dir, "work")}, video.Deps{DB: db, Blobs: bs, Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Register(r); err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	e := newKeyedEnv(t, db, r)
	e.serve(t, Deps{Config: cfg, DB: db, Blob: bs, Runner: r, Keys: e.keys})
	return &videoEnv{env: e, svc: svc}
}

func sampleVideo(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testenv.SampleVideo(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVideoRoutes(t *testing.T) {
	data := sampleVideo(t, "pyscenedetect_goldeneye_cuts.mp4")
	e := newVideoEnv(t, int64(len(data))+1)

	// Too large for the limit: refused before anything is stored.
	big := strings.Repeat("x", len(data)+2)
	if st, eb, _ := e.do(t, "POST", "/v1/videos?name=big.mp4", e.ingest, big); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize upload: %d %+v", st, eb)
	}
	// A read key cannot upload.
	if st, _, _ := e.do(t, "POST", "/v1/videos", e.read, string(data)); st != http.StatusForbidden {
		t.Fatalf("read-key upload: %d", st)
	}
	st, eb, raw := e.do(t, "POST", "/v1/videos?name=goldeneye.mp4", e.ingest, string(data))
	if st != http.StatusAccepted {
		t.Fatalf("upload: %d %+v", st, eb)
	}
	var v video.Video
	if err := json.Unmarshal(raw, &v); err != nil || v.ID == "" || v.WorkflowID == 0 || v.SizeBytes != int64(len(data)) {
		t.Fatalf("upload answer %s: %v", raw, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := e.runner.Wait(ctx, v.WorkflowID, nil); err != nil {
		t.Fatal(err)
	}

	// The workflow shows every step: the first four succeeded, detect
	// failed for want of models, the rest never ran.
	st, _, raw = e.do(t, "GET", "/v1/videos/"+v.ID+"/workflow", e.read, "")
	var wf jobs.Workflow
	if st != 200 || json.Unmarshal(raw, &wf) != nil || len(wf.Steps) != 10 {
		t.Fatalf("workflow: %d %s", st, raw)
	}
	for i, s := range wf.Steps {
		want := jobs.StateSucceeded
		switch {
		case s.Name == video.StepDetect:
			want = jobs.StateFailed
			if !strings.Contains(s.Error, "models") || s.StartedAt == nil || s.FinishedAt == nil {
				t.Errorf("detect step = %+v", s)
			}
		case i > 4:
			want = jobs.StatePending
		}
		if s.State != want {
			t.Errorf("step %s is %s, want %s", s.Name, s.State, want)
		}
	}
	st, _, raw = e.do(t, "GET", "/v1/videos/"+v.ID, e.read, "")
	var got video.Video
	if st != 200 || json.Unmarshal(raw, &got) != nil || got.State != video.StateFailed || got.Width != 1280 || !strings.Contains(got.Error, "detect") {
		t.Fatalf("get video: %d %s", st, raw)
	}
	// Shots were stored before the failure: two golden cuts, three shots.
	st, _, raw = e.do(t, "GET", "/v1/videos/"+v.ID+"/shots", e.read, "")
	var shots struct{ Shots []video.Shot }
	if st != 200 || json.Unmarshal(raw, &shots) != nil || len(shots.Shots) != 3 || shots.Shots[1].Transition != "cut" {
		t.Fatalf("shots: %d %s", st, raw)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/videos/"+v.ID+"/shots?format=edl", nil)
	req.Header.Set("Authorization", "Bearer "+e.read)
	resp, _, edl := send(t, req)
	if resp.StatusCode != 200 || strings.Count(string(edl), "AX       V     C") != 3 {
		t.Fatalf("EDL: %d %s", resp.StatusCode, edl)
	}
	for _, p := range []string{"/shoppable", "/vtt", "/shots/0/thumbnail"} {
		if st, eb, _ := e.do(t, "GET", "/v1/videos/"+v.ID+p, e.read, ""); st != http.StatusNotFound {
			t.Errorf("GET %s before publish: %d %+v", p, st, eb)
		}
	}
	if st, _, _ := e.do(t, "POST", "/v1/videos/"+v.ID+"/rematch", e.ingest, ""); st != http.StatusConflict {
		t.Errorf("rematch of a failed video: %d, want 409", st)
	}
	if st, _, _ := e.do(t, "GET", "/v1/videos/v_unknown", e.read, ""); st != http.StatusNotFound {
		t.Errorf("unknown video: %d", st)
	}
	if st, _, _ := e.do(t, "GET", "/v1/videos/"+v.ID+"/shots/x/thumbnail", e.read, ""); st != http.StatusBadRequest {
		t.Errorf("bad shot number: %d", st)
	}
	st, _, raw = e.do(t, "GET", "/v1/videos", e.read, "")
	var list struct{ Videos []video.Video }
	if st != 200 || json.Unmarshal(raw, &list) != nil || len(list.Videos) != 1 || list.Videos[0].ID != v.ID {
		t.Fatalf("list: %d %s", st, raw)
	}
}
