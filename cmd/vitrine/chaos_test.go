package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/store"
)

// normalizeDoc drops what legitimately differs between two runs of the
// same video: its id, the document version and generation time.
func normalizeDoc(t *testing.T, raw []byte, videoID string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(raw), videoID, "VIDEO")), &v); err != nil {
		t.Fatalf("document is not JSON: %v\n%.300s", err, raw)
	}
	var strip func(any)
	strip = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for _, k := range []string{"generated_at", "version", "doc_version", "published_at", "created_at", "updated_at"} {
				delete(x, k)
			}
			for _, c := range x {
				strip(c)
			}
		case []any:
			for _, c := range x {
				strip(c)
			}
		}
	}
	strip(v)
	return v
}

// TestChaosKill runs the video pipeline on several short clips while
// `vitrine serve` is killed with SIGKILL at random points (a seeded RNG,
// at least 20 kills, more clips uploaded whenever the work runs out so
// that kills land on running steps), restarting it each time. Every workflow must
// complete with each step succeeding exactly once, and every shoppable
// document must equal the one of an undisturbed run.
func TestChaosKill(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test skipped in -short mode")
	}
	const kills = 20
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("VITRINE_CHAOS_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("chaos seed %d (VITRINE_CHAOS_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 10))

	admin, _ := apikey.Generate()
	env := cleanEnv(append(sharedEnv(t), "VITRINE_ADMIN_KEY="+admin, "VITRINE_POLL_INTERVAL=50ms",
		"VITRINE_RETRY_BASE=100ms", "VITRINE_RETRY_MAX=500ms", "VITRINE_MAX_ATTEMPTS=50")...)
	clips := []string{
		sampleClip(t, "videoavatars_person_turntable.mp4", "6"),
		sampleClip(t, "pyscenedetect_goldeneye_cuts.mp4", "6"),
		sampleClip(t, "flickd_virgio_reel_2025-05-27.mp4", "6"),
	}

	// The undisturbed run.
	calm := t.TempDir()
	want := map[string]any{}
	for _, c := range clips {
		out, errOut, code := vitrine(t, env, "video", "add", c, "--data-dir", calm, "--json", "--quiet")
		var v struct{ ID string }
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
			t.Fatalf("undisturbed video add %s: exit %d %s", c, code, errOut)
		}
		doc, errOut, code := vitrine(t, env, "video", "shoppable", v.ID, "--data-dir", calm)
		if code != 0 {
			t.Fatalf("undisturbed shoppable: %s", errOut)
		}
		want[c] = normalizeDoc(t, []byte(doc), v.ID)
	}

	// The disturbed run.
	dataDir := t.TempDir()
	deadline := time.Now().Add(8 * time.Minute)
	s := startServer(t, env, dataDir)
	type upload struct{ clip, id string }
	var uploads []upload
	add := func(c string) {
		b, _ := os.ReadFile(c)
		st, raw := post(t, s, "/v1/videos?name="+filepath.Base(c), admin, "video/mp4", b)
		var v videoState
		if st != 202 || json.Unmarshal(raw, &v) != nil {
			t.Fatalf("upload %s: %d %s", c, st, raw)
		}
		uploads = append(uploads, upload{c, v.ID})
	}
	pending := func() int {
		n := 0
		for _, u := range uploads {
			var v videoState
			if st := s.do(t, "GET", "/v1/videos/"+u.id, admin, "", &v); st != 200 || (v.State != "ready" && v.State != "failed") {
				n++
			}
		}
		return n
	}
	done := func() bool { return pending() == 0 }
	for _, c := range clips {
		add(c)
	}
	n, busy := 0, 0
	for n < kills {
		if time.Now().After(deadline) {
			t.Fatalf("only %d kills before the time bound", n)
		}
		// Keep work in flight: every kill lands while videos are analysed.
		for range max(0, 3-pending()) {
			add(clips[len(uploads)%len(clips)])
		}
		// Kill somewhere from right after start-up to well into a step.
		time.Sleep(time.Duration(50+rng.IntN(1500)) * time.Millisecond)
		if !done() {
			busy++
		}
		if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		s.cmd.Wait()
		<-s.done
		n++
		s = startServer(t, env, dataDir)
	}
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("workflows not finished %s after %d kills:\n%s", 8*time.Minute, n, s.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d kills, %d of them with work in flight; %d videos", n, busy, len(uploads))
	if busy < kills*3/4 {
		t.Errorf("only %d of %d kills hit running work", busy, n)
	}
	for _, u := range uploads {
		var v videoState
		s.do(t, "GET", "/v1/videos/"+u.id, admin, "", &v)
		if v.State != "ready" {
			t.Errorf("%s (%s) ended %s: %s", filepath.Base(u.clip), u.id, v.State, v.Error)
			continue
		}
		_, doc := get(t, s, "/v1/videos/"+u.id+"/shoppable", admin, "")
		if got := normalizeDoc(t, doc, u.id); !reflect.DeepEqual(got, want[u.clip]) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want[u.clip])
			t.Errorf("%s (%s): document differs from the undisturbed run\n got %.2000s\nwant %.2000s", filepath.Base(u.clip), u.id, g, w)
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	s.cmd.Wait()

	// Exactly once: every step of every workflow has one successful run;
	// the others were interrupted by a kill.
	db, err := store.Open(context.Background(), filepath.Join(dataDir, "vitrine.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Read.Query(`SELECT s.workflow_id, s.idx, s.name, s.state,
		(SELECT COUNT(*) FROM workflow_step_runs r WHERE r.workflow_id = s.workflow_id AND r.idx = s.idx AND r.outcome = 'succeeded'),
		(SELECT COUNT(*) FROM workflow_step_runs r WHERE r.workflow_id = s.workflow_id AND r.idx = s.idx)
		FROM workflow_steps s ORDER BY s.workflow_id, s.idx`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	steps, reruns := 0, 0
	for rows.Next() {
		var wf, idx, ok, all int
		var name, state string
		if err := rows.Scan(&wf, &idx, &name, &state, &ok, &all); err != nil {
			t.Fatal(err)
		}
		steps++
		reruns += all - 1
		if state != "succeeded" || ok != 1 {
			t.Errorf("workflow %d step %d (%s): state %s, %d successful runs of %d", wf, idx, name, state, ok, all)
		}
	}
	if steps == 0 {
		t.Fatal("no workflow steps recorded")
	}
	t.Logf("%d steps, %d interrupted runs redone", steps, reruns)
}
