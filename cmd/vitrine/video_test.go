package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestVideoCommand(t *testing.T) {
	env := cleanEnv(sharedEnv(t)...)
	clip := testenv.SampleVideo(t, "videoavatars_person_turntable.mp4")
	dd := "--data-dir=" + t.TempDir()

	out, errOut, code := vitrine(t, env, "video", "add", clip, dd, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("video add: exit %d: %s", code, errOut)
	}
	var v struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.State != "ready" {
		t.Fatalf("video add --json printed %q (%v)", out, err)
	}

	out, errOut, code = vitrine(t, env, "video", "shoppable", v.ID, dd)
	if code != 0 {
		t.Fatalf("video shoppable: exit %d: %s", code, errOut)
	}
	if err := shoppable.Validate([]byte(out)); err != nil {
		t.Fatalf("video shoppable printed an invalid document: %v", err)
	}
	out, _, code = vitrine(t, env, "video", "vtt", v.ID, dd)
	if code != 0 || !strings.HasPrefix(out, "WEBVTT") {
		t.Fatalf("video vtt: exit %d: %q", code, out)
	}
	out, _, code = vitrine(t, env, "video", "shots", "--edl", v.ID, dd)
	if code != 0 || !strings.Contains(out, "FCM: NON-DROP FRAME") {
		t.Fatalf("video shots --edl: exit %d: %q", code, out)
	}
	out, _, code = vitrine(t, env, "video", "status", v.ID, dd)
	if code != 0 || !strings.Contains(out, "ready") || strings.Count(out, "succeeded") != 11 {
		t.Fatalf("video status: exit %d:\n%s", code, out)
	}
	out, errOut, code = vitrine(t, env, "video", "rematch", v.ID, dd, "--quiet")
	if code != 0 || !strings.Contains(out, "document v2") {
		t.Fatalf("video rematch: exit %d: %q %s", code, out, errOut)
	}
	out, _, code = vitrine(t, env, "video", "list", dd)
	if code != 0 || !strings.Contains(out, v.ID) {
		t.Fatalf("video list: exit %d: %q", code, out)
	}

	// Bad input: a non-zero exit whose error line names the failed step
	// (log lines of the steps come before it).
	bad := filepath.Join(t.TempDir(), "noise.mp4")
	os.WriteFile(bad, []byte(strings.Repeat("not a video ", 1000)), 0o644)
	_, errOut, code = vitrine(t, env, "video", "add", bad, dd, "--quiet")
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	last := lines[len(lines)-1]
	if code == 0 || !strings.HasPrefix(last, "vitrine: video add: ") || !strings.Contains(last, "failed: probe") || !strings.Contains(last, "invalid") {
		t.Fatalf("video add of noise: exit %d, last stderr line %q", code, last)
	}
	if _, errOut, code = vitrine(t, env, "video", "status", "v_missing", dd); code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("status of an unknown id: exit %d, %q", code, errOut)
	}
}
