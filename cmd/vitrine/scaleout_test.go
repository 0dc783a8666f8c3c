package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/blob/blobtest"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// node is a running vitrine child process (serve or worker) of a
// scale-out installation.
type node struct {
	name string
	cmd  *exec.Cmd
	url  string // serve only
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
}

// startNode runs `vitrine args…` with env; for serve it waits for the
// listening line, for worker for "worker started".
func startNode(t testing.TB, name string, env []string, args ...string) *node {
	t.Helper()
	n := &node{name: name, done: make(chan struct{})}
	n.cmd = exec.Command(binPath, args...)
	n.cmd.Env = env
	pipe, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		defer close(n.done)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			n.mu.Lock()
			n.logs.WriteString(line + "\n")
			n.mu.Unlock()
			if _, rest, ok := strings.Cut(line, "listening on "); ok {
				ready <- strings.Fields(rest)[0]
			} else if strings.Contains(line, "worker started") {
				ready <- ""
			}
		}
	}()
	t.Cleanup(func() { n.stop() })
	select {
	case n.url = <-ready:
	case <-n.done:
		n.cmd.Wait()
		t.Fatalf("%s exited before it was ready:\n%s", name, n.log())
	case <-time.After(90 * time.Second):
		t.Fatalf("%s did not start:\n%s", name, n.log())
	}
	return n
}

func (n *node) log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

// stop ends the process gracefully (SIGTERM), killing it after 20s.
func (n *node) stop() {
	if n.cmd.ProcessState != nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		n.cmd.Process.Kill()
	}
	n.cmd.Wait()
}

func (n *node) get(t testing.TB, path, key string) (int, []byte) {
	t.Helper()
	return request(t, "GET", n.url, path, key, nil, nil)
}

// scaleOut is a fresh PostgreSQL database and S3 bucket with the
// environment a node needs to use them.
type scaleOut struct {
	dsn, key string
	env      []string
	samples  string
	db       *store.DB
}

func newScaleOut(t testing.TB, extra ...string) *scaleOut {
	t.Helper()
	s := &scaleOut{}
	shared := sharedEnv(t)
	s.samples = samplesEnv(t)
	s.dsn = storetest.PostgresDSN(t)
	bucket := blobtest.S3URL(t)
	key, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s.key = key
	s.env = cleanEnv(append(append(shared, "VITRINE_DB="+s.dsn, "VITRINE_BLOB="+bucket, "VITRINE_ADMIN_KEY="+key,
		"VITRINE_POLL_INTERVAL=100ms", "VITRINE_LOG_LEVEL=info", "VITRINE_SHUTDOWN_TIMEOUT=5s"), extra...)...)
	s.db, err = store.Open(context.Background(), s.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Close() })
	return s
}

// run runs a CLI command against the installation and returns stdout.
func (s *scaleOut) run(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = s.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("vitrine %s: %v\n%s%s", strings.Join(args, " "), err, o.String(), e.String())
	}
	return o.String()
}

// catalogFeed writes a CSV of sample products lines [from, to) with their
// images next to it.
func (s *scaleOut) catalogFeed(t testing.TB, dir string, from, to int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.samples, "catalog", "products.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	os.MkdirAll(filepath.Join(dir, "images"), 0o755)
	out := []string{lines[0]}
	for _, l := range lines[from:to] {
		out = append(out, l)
		id, _, _ := strings.Cut(l, ",")
		os.WriteFile(filepath.Join(dir, "images", id+".jpg"), testenv.SampleImage(t, id), 0o644)
	}
	p := filepath.Join(dir, fmt.Sprintf("products-%d.csv", from))
	os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), 0o644)
	return p
}

// addVideos uploads videos (to S3) and queues their analysis, returning
// their ids.
func (s *scaleOut) addVideos(t testing.TB, names ...string) []string {
	t.Helper()
	var ids []string
	for _, n := range names {
		var v struct{ ID string }
		out := s.run(t, "video", "add", filepath.Join(s.samples, "videos", n), "--data-dir", t.TempDir(), "--detach", "--json")
		if err := json.Unmarshal([]byte(out), &v); err != nil || v.ID == "" {
			t.Fatalf("video add %s: %q (%v)", n, out, err)
		}
		ids = append(ids, v.ID)
	}
	return ids
}

// waitVideos waits until every video workflow has ended.
func (s *scaleOut) waitVideos(t testing.TB, ids []string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var open int
		q := s.db.Rebind(`SELECT COUNT(*) FROM videos v JOIN workflows w ON w.id = v.workflow_id
			WHERE v.id IN (?` + strings.Repeat(",?", len(ids)-1) + `) AND w.state NOT IN ('succeeded', 'failed', 'cancelled')`)
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		if err := s.db.Read.QueryRow(q, args...).Scan(&open); err != nil {
			t.Fatal(err)
		}
		if open == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d video workflows still running after %s", open, len(ids), limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var scaleOutVideos = []string{"videoavatars_person_turntable.mp4", "flickd_virgio_reel_2025-05-22_textonly.mp4",
	"pyscenedetect_goldeneye_cuts.mp4", "flickd_virgio_reel_2025-05-31.mp4"}

// TestScaleOut runs one API node (serve --workers=0) and two worker nodes
// sharing PostgreSQL and an S3 bucket. A catalog imported through the
// workers becomes searchable on the API node, and a later import shows up
// in the API node's index replica without a restart. Several sample videos
// are analysed while one worker is SIGKILLed in the middle of a step: every
// video still completes, every step committed exactly once (the killed run
// is left unfinished in workflow_step_runs and a later attempt succeeded),
// and each video has exactly one shoppable document, served by the API node.
func TestScaleOut(t *testing.T) {
	// Steps time out after 30s, so a killed worker's step is rescued after
	// 30s plus up to 30s (River's rescuer interval) plus leader failover.
	s := newScaleOut(t, "VITRINE_STEP_TIMEOUT=30s", "VITRINE_RESCUE_AFTER=5s")
	api := startNode(t, "api", s.env, "serve", "--workers=0", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	w1 := startNode(t, "worker 1", s.env, "worker", "--workers=1", "--data-dir", t.TempDir())
	w2 := startNode(t, "worker 2", s.env, "worker", "--workers=1", "--data-dir", t.TempDir())
	feed := t.TempDir()

	// Catalog through the workers; the API node loads its replica.
	s.run(t, "catalog", "import", s.catalogFeed(t, feed, 1, 9), "--data-dir", t.TempDir(), "--quiet")
	similar := func() int {
		code, b := api.get(t, "/v1/catalog/products/16331/similar?k=50", s.key)
		if code != http.StatusOK {
			t.Fatalf("similar on the API node: %d %s\n%s", code, b, api.log())
		}
		var r struct{ Results []json.RawMessage }
		json.Unmarshal(b, &r)
		return len(r.Results)
	}
	// The replica follows the change feed asynchronously: the import's
	// commit can return before the API node has applied its notification.
	waitSimilar := func(want int, what string) {
		deadline := time.Now().Add(20 * time.Second)
		for similar() != want {
			if time.Now().After(deadline) {
				t.Fatalf("API node's replica did not follow the %s: %d similar products, want %d", what, similar(), want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitSimilar(7, "first import")
	s.run(t, "catalog", "import", s.catalogFeed(t, feed, 9, 15), "--data-dir", t.TempDir(), "--quiet")
	waitSimilar(13, "second import")

	ids := s.addVideos(t, scaleOutVideos...)
	// Kill worker 1 while both workers are inside a long step (decode or
	// detect): worker 1 is then certainly in the middle of one.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var long, running int
		s.db.Read.QueryRow(`SELECT COUNT(*) FILTER (WHERE name IN ('decode', 'detect')), COUNT(*) FROM workflow_steps WHERE state = 'running'`).Scan(&long, &running)
		if long == 2 || (running == 2 && time.Now().After(deadline.Add(-time.Minute))) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the two workers never ran steps at the same time\n%s\n%s", w1.log(), w2.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := w1.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	w1.cmd.Wait()
	t.Logf("worker 1 killed")

	s.waitVideos(t, ids, 5*time.Minute)
	rows, err := s.db.Read.Query(`SELECT v.id, v.state, w.state, w.error FROM videos v JOIN workflows w ON w.id = v.workflow_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, vs, ws, werr string
		rows.Scan(&id, &vs, &ws, &werr)
		if ws != "succeeded" {
			t.Errorf("video %s: workflow %s (%s), video %s", id, ws, werr, vs)
		}
	}
	rows.Close()

	// Exactly one committed run per step; the killed run is unfinished and
	// a later attempt of the same step succeeded.
	var dupes, missing, killed, killedThenDone int
	s.db.Read.QueryRow(`SELECT COUNT(*) FROM (SELECT workflow_id, idx FROM workflow_step_runs WHERE outcome = 'succeeded'
		GROUP BY workflow_id, idx HAVING COUNT(*) > 1) d`).Scan(&dupes)
	s.db.Read.QueryRow(`SELECT COUNT(*) FROM workflow_steps s JOIN workflows w ON w.id = s.workflow_id WHERE w.kind = 'video'
		AND NOT EXISTS (SELECT 1 FROM workflow_step_runs r WHERE r.workflow_id = s.workflow_id AND r.idx = s.idx AND r.outcome = 'succeeded')`).Scan(&missing)
	s.db.Read.QueryRow(`SELECT COUNT(*) FROM workflow_step_runs WHERE finished_at IS NULL AND outcome = ''`).Scan(&killed)
	s.db.Read.QueryRow(`SELECT COUNT(*) FROM workflow_step_runs k WHERE k.finished_at IS NULL AND k.outcome = ''
		AND EXISTS (SELECT 1 FROM workflow_step_runs r WHERE r.workflow_id = k.workflow_id AND r.idx = k.idx
			AND r.outcome = 'succeeded' AND r.attempt > k.attempt)`).Scan(&killedThenDone)
	if dupes != 0 || missing != 0 || killed != 1 || killedThenDone != 1 {
		t.Errorf("step runs: %d steps committed twice, %d never, %d killed runs (%d re-run and committed); want 0, 0, 1, 1",
			dupes, missing, killed, killedThenDone)
	}

	// One shoppable document per video, served by the API node.
	for _, id := range ids {
		var docs int
		var doc string
		s.db.Read.QueryRow(s.db.Rebind(`SELECT COUNT(*), MAX(doc) FROM shoppable_docs WHERE video_id = ?`), id).Scan(&docs, &doc)
		code, body := api.get(t, "/v1/videos/"+id+"/shoppable", s.key)
		var got, want map[string]any
		json.Unmarshal(body, &got)
		json.Unmarshal([]byte(doc), &want)
		if docs != 1 || code != http.StatusOK || got["schema"] != "vitrine.shoppable/v1" || fmt.Sprint(got["shots"]) != fmt.Sprint(want["shots"]) {
			t.Errorf("video %s: %d documents stored, API answered %d %.200s", id, docs, code, body)
		}
	}
	if t.Failed() {
		t.Logf("api:\n%s\nworker 1:\n%s\nworker 2:\n%s", api.log(), w1.log(), w2.log())
	}
}

// BenchmarkScaleOutWorkers measures video analysis throughput of 1 and 2
// worker processes (one step at a time each) sharing PostgreSQL and S3, on
// the four short sample videos; each iteration analyses them all.
func BenchmarkScaleOutWorkers(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s := newScaleOut(b)
			for i := range workers {
				startNode(b, fmt.Sprintf("worker %d", i+1), s.env, "worker", "--workers=1", "--data-dir", b.TempDir())
			}
			// Models load on each worker's first step: warm up untimed.
			s.waitVideos(b, s.addVideos(b, scaleOutVideos[0]), 5*time.Minute)
			b.ResetTimer()
			var seconds float64
			for range b.N {
				start := time.Now()
				s.waitVideos(b, s.addVideos(b, scaleOutVideos...), 10*time.Minute)
				seconds += time.Since(start).Seconds()
			}
			b.ReportMetric(float64(b.N*len(scaleOutVideos))*60/seconds, "videos/min")
		})
	}
}

// TestMigrateCommand builds an embedded installation with the real binary
// (a catalog import and an analysed video), moves it with `vitrine migrate`
// to PostgreSQL + S3, and checks that the scale-out installation has every
// product, vector, video, blob and the same shoppable JSON.
func TestMigrateCommand(t *testing.T) {
	// Blobs are encrypted at rest on both sides.
	kek := make([]byte, 32)
	rand.Read(kek)
	kekEnv := "VITRINE_KEK=" + base64.StdEncoding.EncodeToString(kek)
	s := newScaleOut(t, kekEnv)
	data := t.TempDir()
	embedded := cleanEnv(append(sharedEnv(t), "VITRINE_DATA_DIR="+data, "VITRINE_LOG_LEVEL=warn", kekEnv)...)
	run := func(env []string, args ...string) string {
		t.Helper()
		out, errOut, code := vitrine(t, env, args...)
		if code != 0 {
			t.Fatalf("vitrine %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	run(embedded, "catalog", "import", s.catalogFeed(t, t.TempDir(), 1, 7), "--quiet")
	var v struct{ ID string }
	out := run(embedded, "video", "add", filepath.Join(s.samples, "videos", "videoavatars_person_turntable.mp4"), "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.ID == "" {
		t.Fatalf("video add: %q", out)
	}
	doc := run(embedded, "video", "shoppable", v.ID)

	out = run(embedded, "migrate", "--to-db", s.dsn, "--to-blob", blobURL(s.env))
	if !strings.Contains(out, "migrated") {
		t.Fatalf("migrate output: %s", out)
	}
	// Run again, the now non-empty destination is refused.
	if _, e, code := vitrine(t, embedded, "migrate", "--to-db", s.dsn, "--to-blob", blobURL(s.env)); code == 0 || !strings.Contains(e, "not empty") {
		t.Errorf("second migrate: exit %d %q", code, e)
	}

	// The scale-out installation serves the same document.
	if got := run(s.env, "video", "shoppable", v.ID, "--data-dir", t.TempDir()); got != doc {
		t.Errorf("shoppable JSON after migration differs:\n%s\nwant\n%s", got, doc)
	}
	src, err := store.Open(context.Background(), filepath.Join(data, "vitrine.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, q := range []string{
		`SELECT COUNT(*) FROM products WHERE status = 'ready'`,
		`SELECT COUNT(*) FROM product_vectors`,
		`SELECT COUNT(*) FROM videos WHERE state = 'ready'`,
		`SELECT COUNT(*) FROM video_track_embeddings`,
		`SELECT COUNT(*) FROM shoppable_docs`,
	} {
		var a, b int
		src.Read.QueryRow(q).Scan(&a)
		s.db.Read.QueryRow(q).Scan(&b)
		if a == 0 || a != b {
			t.Errorf("%s: %d embedded, %d after migration", q, a, b)
		}
	}
	var vecA, vecB []byte
	q := `SELECT vector FROM product_vectors v JOIN products p ON p.seq = v.product_seq WHERE p.id = '16331' AND v.kind = 'crop'`
	src.Read.QueryRow(q).Scan(&vecA)
	s.db.Read.QueryRow(q).Scan(&vecB)
	if len(vecA) == 0 || !bytes.Equal(vecA, vecB) {
		t.Errorf("vector of 16331: %d bytes embedded, %d after migration, equal=%v", len(vecA), len(vecB), bytes.Equal(vecA, vecB))
	}
	raw, err := blob.Open(context.Background(), blobURL(s.env))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Get(context.Background(), "videos/"+v.ID+"/source"); !errors.Is(err, blob.ErrEncrypted) {
		t.Errorf("video source in S3 read without a key: %v, want it encrypted", err)
	}
	// Search runs on the migrated vectors, and the video's media is in S3.
	api := startNode(t, "api", s.env, "serve", "--workers=0", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	code, body := api.get(t, "/v1/catalog/products/16331/similar?k=10", s.key)
	if code != http.StatusOK || strings.Count(string(body), `"status": "ready"`)+strings.Count(string(body), `"status":"ready"`) != 5 {
		t.Errorf("similar after migration: %d %.300s", code, body)
	}
	if code, body := api.get(t, "/v1/videos/"+v.ID+"/shots/0/thumbnail", s.key); code != http.StatusOK || len(body) < 100 {
		t.Errorf("shot thumbnail from S3: %d, %d bytes", code, len(body))
	}
}

// blobURL returns VITRINE_BLOB from an environment list.
func blobURL(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "VITRINE_BLOB="); ok {
			return v
		}
	}
	return ""
}
