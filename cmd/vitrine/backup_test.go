package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/crypt"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// sampleClip cuts the first seconds of a sample video into the test's temp
// dir, skipping the test when the samples are absent.
func sampleClip(t *testing.T, name string, seconds string) string {
	t.Helper()
	src := testenv.SampleVideo(t, name)
	testenv.NeedFFmpeg(t)
	dst := filepath.Join(t.TempDir(), strings.TrimSuffix(name, ".mp4")+"_"+seconds+"s.mp4")
	testenv.FFmpeg(t, "-i", src, "-t", seconds, "-c:v", "libx264", "-preset", "veryfast", "-an", dst)
	return dst
}

// get fetches path from a server with the key and optional Range header.
func get(t *testing.T, s *server, path, key, rng string) (int, []byte) {
	t.Helper()
	return request(t, "GET", s.url, path, key, map[string]string{"Range": rng}, nil)
}

// TestBackupRestoreEncrypted processes a video on an install with
// encryption at rest, backs it up, restores it into a new data directory
// and checks that the restored install serves the same results: the
// shoppable document, WebVTT, thumbnails and media byte ranges.
func TestBackupRestoreEncrypted(t *testing.T) {
	kek, err := crypt.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := apikey.Generate()
	env := cleanEnv(append(sharedEnv(t), "VITRINE_KEK="+kek, "VITRINE_ADMIN_KEY="+admin, "VITRINE_POLL_INTERVAL=50ms")...)
	clip := sampleClip(t, "videoavatars_person_turntable.mp4", "3")
	orig, backupDir, restored := t.TempDir(), filepath.Join(t.TempDir(), "backup"), t.TempDir()

	out, errOut, code := vitrine(t, env, "video", "add", clip, "--data-dir", orig, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("video add: exit %d: %s", code, errOut)
	}
	var v struct{ ID string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.ID == "" {
		t.Fatalf("video add printed %q", out)
	}

	// Every stored object is encrypted: nothing of the clip is on disk in the clear.
	plainClip, _ := os.ReadFile(clip)
	objects := 0
	filepath.WalkDir(filepath.Join(orig, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".attrs") {
			return err
		}
		b, _ := os.ReadFile(p)
		objects++
		if !crypt.IsEncrypted(b) || bytes.Contains(b, plainClip[:64]) {
			t.Errorf("blob %s is stored in the clear", p)
		}
		return nil
	})
	if objects < 2 {
		t.Fatalf("only %d blobs stored", objects)
	}

	if _, errOut, code := vitrine(t, env, "backup", backupDir, "--data-dir", orig); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, errOut)
	}
	if _, errOut, code := vitrine(t, env, "backup", backupDir, "--data-dir", orig); code == 0 || !strings.Contains(errOut, "not empty") {
		t.Errorf("backup into a non-empty dir: exit %d %q", code, errOut)
	}
	if _, errOut, code := vitrine(t, env, "restore", backupDir, "--data-dir", restored); code != 0 {
		t.Fatalf("restore: exit %d: %s", code, errOut)
	}
	if _, errOut, code := vitrine(t, env, "restore", backupDir, "--data-dir", restored); code == 0 || !strings.Contains(errOut, "--force") {
		t.Errorf("restore over an install without --force: exit %d %q", code, errOut)
	}
	// A damaged backup is refused before anything is touched.
	damaged := filepath.Join(t.TempDir(), "damaged")
	os.CopyFS(damaged, os.DirFS(backupDir))
	db := filepath.Join(damaged, "vitrine.db")
	b, _ := os.ReadFile(db)
	b[len(b)/2] ^= 1
	os.WriteFile(db, b, 0o640)
	fresh := t.TempDir()
	if _, errOut, code := vitrine(t, env, "restore", damaged, "--data-dir", fresh); code == 0 || !strings.Contains(errOut, "does not match") {
		t.Errorf("damaged backup: exit %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(fresh, "vitrine.db")); err == nil {
		t.Error("a damaged backup left a database behind")
	}

	a := startServer(t, env, orig)
	r := startServer(t, env, restored)
	// Online: a backup while the server runs is as good.
	online := filepath.Join(t.TempDir(), "online")
	if _, errOut, code := vitrine(t, env, "backup", online, "--data-dir", orig); code != 0 {
		t.Fatalf("backup while serving: exit %d: %s", code, errOut)
	}
	if _, errOut, code := vitrine(t, env, "restore", online, "--data-dir", t.TempDir()); code != 0 {
		t.Fatalf("restore of the online backup: exit %d: %s", code, errOut)
	}
	paths := []struct{ path, rng string }{
		{"/v1/videos/" + v.ID + "/shoppable", ""},
		{"/v1/videos/" + v.ID + "/vtt", ""},
		{"/v1/videos/" + v.ID + "/shots", ""},
		{"/v1/videos/" + v.ID + "/shots/0/thumbnail", ""},
		{"/console/api/videos/" + v.ID + "/media", "bytes=100-70000"},
		{"/console/api/videos/" + v.ID + "/media", ""},
	}
	for _, p := range paths {
		sa, ba := get(t, a, p.path, admin, p.rng)
		sr, br := get(t, r, p.path, admin, p.rng)
		if sa/100 != 2 || sa != sr || !bytes.Equal(ba, br) {
			t.Errorf("%s %s: original %d (%d bytes), restored %d (%d bytes)", p.path, p.rng, sa, len(ba), sr, len(br))
		}
	}
	// The media is the uploaded clip, decrypted, also by range.
	if _, got := get(t, r, "/console/api/videos/"+v.ID+"/media", admin, "bytes=100-70000"); !bytes.Equal(got, plainClip[100:70001]) {
		t.Errorf("restored media range differs from the clip (%d bytes)", len(got))
	}
	if _, got := get(t, r, "/console/api/videos/"+v.ID+"/media", admin, ""); !bytes.Equal(got, plainClip) {
		t.Errorf("restored media differs from the clip (%d bytes, want %d)", len(got), len(plainClip))
	}
	// Retention: the processed video left a local working copy of its
	// source; with a tiny retention, storage apply removes it and archives
	// the original, and the report says so.
	rep := storageReport(t, env, "report", "--data-dir", orig)
	if c := classOf(rep, "originals"); c == nil || c["objects"].(float64) != 1 || c["expired"].(float64) != 0 {
		t.Errorf("originals in the report: %v", c)
	}
	if c := classOf(rep, "work files (local)"); c == nil || c["objects"].(float64) < 1 {
		t.Errorf("work files in the report: %v", c)
	}
	archive := filepath.Join(t.TempDir(), "archive")
	short := append(env, "VITRINE_RETAIN_WORK=1ns", "VITRINE_RETAIN_ORIGINALS=1ns", "VITRINE_ARCHIVE_BLOB="+archive)
	rep = storageReport(t, short, "apply", "--data-dir", orig)
	if rep["moved"].(float64) != 1 || rep["removed"].(float64) < 1 {
		t.Errorf("storage apply: %v", rep)
	}
	if c := classOf(storageReport(t, env, "--data-dir", orig), "originals"); c["objects"].(float64) != 0 {
		t.Errorf("original still in the store after apply: %v", c)
	}
	// The archived original is still encrypted and still the clip.
	arch, _ := os.ReadFile(filepath.Join(archive, "videos", v.ID, "source"))
	if !crypt.IsEncrypted(arch) {
		t.Error("archived original is not encrypted")
	}
}

// storageReport runs `vitrine storage` with --json.
func storageReport(t *testing.T, env []string, args ...string) map[string]any {
	t.Helper()
	out, errOut, code := vitrine(t, env, append([]string{"storage"}, append(args, "--json")...)...)
	if code != 0 {
		t.Fatalf("storage %v: exit %d: %s", args, code, errOut)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("storage %v printed %q", args, out)
	}
	return rep
}

func classOf(rep map[string]any, class string) map[string]any {
	for _, c := range rep["classes"].([]any) {
		if m := c.(map[string]any); m["class"] == class {
			return m
		}
	}
	return nil
}

// TestServeAppliesRetention: serve removes expired objects on its own,
// every VITRINE_RETENTION_INTERVAL, and keeps the rest.
func TestServeAppliesRetention(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	bs, err := blob.Open(ctx, filepath.Join(dataDir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"catalog/batches/1.jsonl", "catalog/batches/2.jsonl"} {
		if err := bs.Put(ctx, k, strings.NewReader("{}\n"), "application/x-ndjson"); err != nil {
			t.Fatal(err)
		}
	}
	bs.Close()
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(dataDir, "blobs", "catalog", "batches", "1.jsonl"), old, old)
	admin, _ := apikey.Generate()
	env := cleanEnv("VITRINE_ADMIN_KEY="+admin, "VITRINE_RETENTION_INTERVAL=100ms", "VITRINE_RETAIN_BATCHES=24h")
	s := startServer(t, env, dataDir)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dataDir, "blobs", "catalog", "batches", "1.jsonl")); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired batch still there:\n%s", s.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "blobs", "catalog", "batches", "2.jsonl")); err != nil {
		t.Errorf("fresh batch removed: %v", err)
	}
	var out struct {
		Entries []struct{ Route, Path string }
	}
	if st := s.do(t, "GET", "/v1/audit", admin, "", &out); st != 200 || len(out.Entries) == 0 || !strings.Contains(out.Entries[len(out.Entries)-1].Path, "removed 1") {
		t.Errorf("audit log: %d %+v", st, out.Entries)
	}
}
