package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/jobs"
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

func TestStepProgress(t *testing.T) {
	step := func(name, state string, done, total int64) jobs.StepStatus {
		return jobs.StepStatus{Name: name, State: state, Done: done, Total: total}
	}
	for _, tc := range []struct {
		name  string
		steps []jobs.StepStatus
		desc  string
		units int
	}{
		{"no steps", nil, "", 0},
		{"first step, no progress yet", []jobs.StepStatus{step("probe", jobs.StateRunning, 0, 0), step("detect", jobs.StatePending, 0, 0)}, "probe    ", 0},
		{"running step counts its share", []jobs.StepStatus{step("probe", jobs.StateSucceeded, 0, 0), step("detect", jobs.StateRunning, 150, 300), step("match", jobs.StatePending, 0, 0), step("publish", jobs.StatePending, 0, 0)}, "detect    150/300", 375},
		{"progress past its total is capped", []jobs.StepStatus{step("detect", jobs.StateRunning, 9, 4), step("match", jobs.StatePending, 0, 0)}, "detect    9/4", 500},
		{"all done", []jobs.StepStatus{step("probe", jobs.StateSucceeded, 0, 0), step("detect", jobs.StateSucceeded, 3, 3)}, "", progressUnits},
	} {
		t.Run(tc.name, func(t *testing.T) {
			desc, units := stepProgress(&jobs.Workflow{Steps: tc.steps})
			if desc != tc.desc || units != tc.units {
				t.Fatalf("stepProgress = %q, %d; want %q, %d", desc, units, tc.desc, tc.units)
			}
		})
	}
}
