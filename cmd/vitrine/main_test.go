package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/modelfiles"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

var binPath string

// TestMain builds the real binary once; the tests run it as child processes.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vitrine-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "vitrine")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedEnv returns VITRINE_MODELS and VITRINE_ORT_LIB for a child process,
// skipping the test when the models, the runtime library or ffmpeg are absent.
func sharedEnv(t testing.TB) []string {
	t.Helper()
	models := testenv.Models(t, "yolox_nano_coco_416.onnx")
	lib := testenv.ORTLib(t)
	testenv.NeedFFmpeg(t)
	return []string{"VITRINE_MODELS=" + models, "VITRINE_ORT_LIB=" + lib}
}

// cleanEnv is the test's environment without VITRINE_* settings that would
// leak into the child.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VITRINE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func vitrine(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestBadConfigExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("workers = \"lots\"\n"), 0o600)
	unknown := filepath.Join(dir, "unknown.toml")
	os.WriteFile(unknown, []byte("adress = \"x\"\n"), 0o600)
	tests := []struct {
		name    string
		env     []string
		args    []string
		wantErr string
	}{
		{"bad flag value", nil, []string{"serve", "--data-dir", dir, "--workers", "many"}, `--workers="many": not an integer`},
		{"bad env value", []string{"VITRINE_ADDR=nowhere"}, []string{"serve", "--data-dir", dir}, `addr "nowhere" is not host:port`},
		{"bad file value", nil, []string{"serve", "--config", bad}, `workers = "lots": not an integer`},
		{"unknown file key", []string{"VITRINE_CONFIG=" + unknown}, []string{"keys", "list"}, `unknown setting "adress"`},
		{"missing file", nil, []string{"selftest", "--config", filepath.Join(dir, "nope.toml")}, "nope.toml"},
		{"unknown flag", nil, []string{"serve", "--colour"}, "flag provided but not defined"},
		{"unknown command", nil, []string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := vitrine(t, cleanEnv(tc.env...), tc.args...)
			if code == 0 {
				t.Fatalf("exit 0, want non-zero; stderr %q", stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(stderr, tc.wantErr) || (!strings.HasPrefix(last, "vitrine: ") && tc.name != "unknown flag") {
				t.Errorf("stderr %q does not end in a one-line error containing %q", stderr, tc.wantErr)
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help", "serve"}, {"serve", "--help"}, {"keys", "--help"}, {"models", "--help"}, {"selftest", "-h"}} {
		out, errOut, code := vitrine(t, cleanEnv(), args...)
		if code != 0 || !strings.Contains(out+errOut, "Usage: vitrine") {
			t.Errorf("%v: exit %d, output %q", args, code, out+errOut)
		}
	}
}

func TestKeysCommand(t *testing.T) {
	env := cleanEnv("VITRINE_DATA_DIR=" + t.TempDir())
	key, _, code := vitrine(t, env, "keys", "create", "--scope", "ingest", "--name", "uploader")
	key = strings.TrimSpace(key)
	if code != 0 || !strings.HasPrefix(key, apikey.Prefix) {
		t.Fatalf("create: exit %d, key %q", code, key)
	}
	list, _, _ := vitrine(t, env, "keys", "list")
	if !strings.Contains(list, "uploader") || !strings.Contains(list, "ingest") || strings.Contains(list, key) {
		t.Errorf("list %q", list)
	}
	if _, _, code := vitrine(t, env, "keys", "revoke", "1"); code != 0 {
		t.Errorf("revoke exit %d", code)
	}
	if _, e, code := vitrine(t, env, "keys", "revoke", "99"); code == 0 || !strings.Contains(e, "not found") {
		t.Errorf("revoke missing: exit %d %q", code, e)
	}
	if _, e, code := vitrine(t, env, "keys", "create", "--scope", "root"); code == 0 || !strings.Contains(e, `unknown scope "root"`) {
		t.Errorf("bad scope: exit %d %q", code, e)
	}
}

func TestModelsInstall(t *testing.T) {
	shared := sharedEnv(t)
	src := strings.TrimPrefix(shared[0], "VITRINE_MODELS=")
	dst := t.TempDir()
	env := cleanEnv("VITRINE_MODELS=" + dst)
	out, e, code := vitrine(t, env, "models", "install", "--from", src)
	if code != 0 || strings.Count(out, "sha256 ok") != len(modelfiles.Known()) {
		t.Fatalf("install: exit %d\n%s%s", code, out, e)
	}
	list, _, _ := vitrine(t, env, "models", "list")
	if strings.Contains(list, "BAD") || strings.Count(list, " ok ") < len(modelfiles.Known()) {
		t.Errorf("list after install:\n%s", list)
	}
	// A corrupted copy is refused and never replaces anything.
	bad := filepath.Join(t.TempDir(), "yolox_nano_coco_416.onnx")
	os.WriteFile(bad, []byte("not a model"), 0o600)
	dst2 := t.TempDir()
	_, e, code = vitrine(t, cleanEnv("VITRINE_MODELS="+dst2), "models", "install", "--from", bad)
	if code == 0 || !strings.Contains(e, "sha256 mismatch") {
		t.Errorf("corrupt install: exit %d %q", code, e)
	}
	if _, err := os.Stat(filepath.Join(dst2, "yolox_nano_coco_416.onnx")); err == nil {
		t.Error("corrupt file was installed")
	}
	_, e, code = vitrine(t, cleanEnv("VITRINE_MODELS="+dst2), "models", "install", "--from", bad+".unknown")
	if code == 0 {
		t.Errorf("missing source: exit 0 %q", e)
	}
}

// server is a node running `vitrine serve` with one worker.
type server = node

func startServer(t *testing.T, env []string, dataDir string) *server {
	t.Helper()
	s := startNode(t, "server", env, "serve", "--data-dir", dataDir, "--addr", "127.0.0.1:0", "--workers", "1")
	// Cleanups run last first: the server is killed before startNode's
	// graceful stop, which the end of a test need not wait for.
	t.Cleanup(s.kill)
	return s
}

// kill ends the process at once if it still runs.
func (n *node) kill() {
	if n.cmd.ProcessState == nil {
		n.cmd.Process.Kill()
		n.cmd.Wait()
	}
}

// request sends one request to base+path with the API key and the given
// headers (empty values are left out) and returns the status and body.
func request(t testing.TB, method, base, path, key string, header map[string]string, body io.Reader) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, body)
	req.Header.Set("Authorization", "Bearer "+key)
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *server) do(t *testing.T, method, path, key, body string, v any) int {
	t.Helper()
	code, b := request(t, method, s.url, path, key, nil, strings.NewReader(body))
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, code, b)
		}
	}
	return code
}

// TestCrashResume kills `vitrine serve` with SIGKILL while the middle step of
// a selftest workflow runs, restarts it, and checks that the workflow
// completes with every finished step executed exactly once.
func TestCrashResume(t *testing.T) {
	key, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	env := cleanEnv(append(sharedEnv(t), "VITRINE_ADMIN_KEY="+key, "VITRINE_POLL_INTERVAL=50ms", "VITRINE_LOG_LEVEL=debug")...)

	s1 := startServer(t, env, dataDir)
	// A second server on the same data dir is refused with a clear error.
	_, e, code := vitrine(t, env, "serve", "--data-dir", dataDir, "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(e, "another vitrine process") {
		t.Errorf("second serve: exit %d %q", code, e)
	}

	var started struct {
		WorkflowID int64 `json:"workflow_id"`
	}
	if st := s1.do(t, "POST", "/v1/selftest", key, `{"step_delay":"1s"}`, &started); st != 202 {
		t.Fatalf("start selftest: %d", st)
	}
	path := fmt.Sprintf("/v1/workflows/%d", started.WorkflowID)
	const middle = 2 // "ffmpeg": steps 0 and 1 are done, 3 and 4 are not
	deadline := time.Now().Add(60 * time.Second)
	for {
		var w jobs.Workflow
		s1.do(t, "GET", path, key, "", &w)
		if w.Steps[middle].State == jobs.StateRunning {
			if w.Steps[middle-1].State != jobs.StateSucceeded || w.Steps[middle+1].State != jobs.StatePending {
				t.Fatalf("unexpected states before the kill: %+v", w.Steps)
			}
			break
		}
		if w.Terminal() || time.Now().After(deadline) {
			t.Fatalf("never saw step %d running: %+v\n%s", middle, w, s1.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s1.cmd.Wait()
	<-s1.done

	s2 := startServer(t, env, dataDir)
	var w jobs.Workflow
	deadline = time.Now().Add(90 * time.Second)
	for {
		s2.do(t, "GET", path, key, "", &w)
		if w.Terminal() || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if w.State != jobs.StateSucceeded {
		t.Fatalf("after restart the workflow is %s (%s)\nfirst server:\n%s\nsecond server:\n%s", w.State, w.Error, s1.log(), s2.log())
	}

	// Graceful shutdown: SIGTERM exits 0.
	s2.cmd.Process.Signal(syscall.SIGTERM)
	<-s2.done
	if err := s2.cmd.Wait(); err != nil {
		t.Errorf("graceful shutdown: %v\n%s", err, s2.log())
	}

	db, err := store.Open(context.Background(), filepath.Join(dataDir, "vitrine.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Read.Query(`SELECT idx, outcome, finished_at IS NOT NULL FROM workflow_step_runs WHERE workflow_id = ? ORDER BY id`, started.WorkflowID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	runs := map[int][]string{}
	for rows.Next() {
		var idx int
		var outcome string
		var finished bool
		rows.Scan(&idx, &outcome, &finished)
		if finished != (outcome == "succeeded") {
			t.Errorf("step %d run %q finished=%v", idx, outcome, finished)
		}
		runs[idx] = append(runs[idx], outcome)
	}
	for idx := range 5 {
		want := "[succeeded]"
		if idx == middle {
			want = "[interrupted succeeded]"
		}
		if got := fmt.Sprint(runs[idx]); got != want {
			t.Errorf("step %d runs %s, want %s", idx, got, want)
		}
	}
}

// TestBootstrapKeyPrintedOnce starts a server on an empty data dir: it
// prints an admin key that works, and a restart prints none.
func TestBootstrapKeyPrintedOnce(t *testing.T) {
	dataDir := t.TempDir()
	env := cleanEnv()
	s1 := startServer(t, env, dataDir)
	var key string
	for _, line := range strings.Split(s1.log(), "\n") {
		if _, rest, ok := strings.Cut(line, "bootstrap admin API key"); ok {
			f := strings.Fields(rest)
			key = f[len(f)-1]
		}
	}
	if !strings.HasPrefix(key, apikey.Prefix) {
		t.Fatalf("no bootstrap key printed:\n%s", s1.log())
	}
	var list struct{ Keys []apikey.Key }
	if st := s1.do(t, "GET", "/v1/keys", key, "", &list); st != 200 || len(list.Keys) != 1 || list.Keys[0].Scope != "admin" {
		t.Fatalf("bootstrap key: %d %+v", st, list)
	}
	s1.cmd.Process.Signal(syscall.SIGTERM)
	<-s1.done
	s1.cmd.Wait()
	s2 := startServer(t, env, dataDir)
	if strings.Contains(s2.log(), "bootstrap admin API key") {
		t.Errorf("restart printed another bootstrap key:\n%s", s2.log())
	}
}

func TestWorkflowsCommand(t *testing.T) {
	env := cleanEnv("VITRINE_DATA_DIR=" + t.TempDir())
	// No server owns the data dir and --detach runs nothing: it stays pending.
	out, e, code := vitrine(t, env, "selftest", "--detach")
	id := strings.TrimSpace(out)
	if code != 0 || id == "" {
		t.Fatalf("selftest --detach: exit %d %q %q", code, out, e)
	}
	out, _, code = vitrine(t, env, "workflows", "show", id)
	if code != 0 || !strings.Contains(out, "selftest  installation  pending") || !strings.Contains(out, "database") {
		t.Fatalf("show: exit %d\n%s", code, out)
	}
	if out, e, code = vitrine(t, env, "workflows", "cancel", id); code != 0 || !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel: exit %d %q %q", code, out, e)
	}
	if _, e, code = vitrine(t, env, "workflows", "cancel", id); code == 0 || !strings.Contains(e, "not in a state") {
		t.Errorf("second cancel: exit %d %q", code, e)
	}
	var list []jobs.Workflow
	out, _, _ = vitrine(t, env, "workflows", "list", "--json", "--state", "cancelled")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || fmt.Sprint(list[0].ID) != id {
		t.Errorf("list: %v %q", err, out)
	}
	if _, e, code = vitrine(t, env, "workflows", "show", "abc"); code == 0 || !strings.Contains(e, "not a workflow ID") {
		t.Errorf("bad id: exit %d %q", code, e)
	}
	if _, e, code = vitrine(t, env, "workflows", "show", "77"); code == 0 || !strings.Contains(e, "not found") {
		t.Errorf("missing id: exit %d %q", code, e)
	}
}
