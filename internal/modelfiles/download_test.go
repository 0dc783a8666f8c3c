package modelfiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// modelServer serves files from memory over loopback with Range support
// (http.ServeContent), logging each request's Range header. cut, when set
// for a path, makes the first request for it stop after that many bytes
// and drop the connection, as a network failure would.
type modelServer struct {
	*httptest.Server
	mu     sync.Mutex
	files  map[string][]byte
	cut    map[string]int
	ranges map[string][]string
	// noRange answers every request with the whole file (200).
	noRange bool
}

func newModelServer(t *testing.T, files map[string][]byte) *modelServer {
	s := &modelServer{files: files, cut: map[string]int{}, ranges: map[string][]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *modelServer) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/models/")
	s.mu.Lock()
	b, ok := s.files[name]
	cut, cutNow := s.cut[name]
	delete(s.cut, name)
	s.ranges[name] = append(s.ranges[name], r.Header.Get("Range"))
	noRange := s.noRange
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if cutNow {
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:cut])
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if noRange {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

func (s *modelServer) requests(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges[name]...)
}

func entry(name, file, set string, b []byte) Entry {
	sum := sha256.Sum256(b)
	return Entry{Name: name, File: file, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b)), Set: set, License: "MIT"}
}

// testManifest builds a manifest of generated files served by srv.
func testManifest(t *testing.T) (*Manifest, map[string][]byte) {
	files := map[string][]byte{
		"det.onnx":      bytes.Repeat([]byte("detector"), 40_000),
		"emb.onnx":      bytes.Repeat([]byte("embedder"), 30_000),
		"emb.onnx.data": bytes.Repeat([]byte("weights!"), 20_000),
		"extra.onnx":    []byte("an extra model"),
		"agpl.onnx":     []byte("an opt-in model"),
	}
	m := &Manifest{Version: 1, Files: []Entry{
		entry("det", "det.onnx", SetDefault, files["det.onnx"]),
		entry("emb", "emb.onnx", SetDefault, files["emb.onnx"]),
		entry("emb", "emb.onnx.data", SetDefault, files["emb.onnx.data"]),
		entry("extra", "extra.onnx", SetExtra, files["extra.onnx"]),
		entry("agpl", "agpl.onnx", SetOptIn, files["agpl.onnx"]),
	}}
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	return m, files
}

func installed(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestDownloadDefaultSet(t *testing.T) {
	m, files := testManifest(t)
	srv := newModelServer(t, files)
	base := srv.URL + "/models/"
	ctx := context.Background()
	dir := t.TempDir()
	in := &Installer{Dir: dir}
	es, err := m.Select(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Download(ctx, m, base, es); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(installed(t, dir), " "); got != "det.onnx emb.onnx emb.onnx.data" {
		t.Fatalf("installed %q, want the default set only", got)
	}
	for _, e := range es {
		if err := VerifyFile(filepath.Join(dir, e.File), e.SHA256); err != nil {
			t.Error(err)
		}
	}
	// A second run finds everything intact and requests nothing.
	if err := in.Download(ctx, m, base, es); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.requests("det.onnx")); n != 1 {
		t.Errorf("det.onnx requested %d times, want 1", n)
	}
	// A corrupted installed file is replaced.
	os.WriteFile(filepath.Join(dir, "det.onnx"), []byte("bit rot"), 0o600)
	if err := in.Download(ctx, m, base, es[:1]); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFile(filepath.Join(dir, "det.onnx"), es[0].SHA256); err != nil {
		t.Error(err)
	}
	// Named extras install; opt-in files are never downloaded.
	extra, _ := m.Select([]string{"extra"})
	if err := in.Download(ctx, m, base, extra); err != nil {
		t.Fatal(err)
	}
	optin, _ := m.Select([]string{"agpl"})
	err = in.Download(ctx, m, base, optin)
	if err == nil || !strings.Contains(err.Error(), "opt-in and never downloaded") || !strings.Contains(err.Error(), "--from DIR") {
		t.Errorf("opt-in download: %v", err)
	}
	if len(srv.requests("agpl.onnx")) != 0 {
		t.Error("the opt-in file was requested")
	}
	if _, err := m.Select([]string{"nope"}); err == nil || !strings.Contains(err.Error(), "known: det, emb, extra, agpl") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestDownloadResumesAfterInterruption(t *testing.T) {
	m, files := testManifest(t)
	tests := []struct {
		name    string
		noRange bool
		// wantRanges are the Range headers of the requests for det.onnx.
		wantRanges []string
	}{
		{"range honoured", false, []string{"", "bytes=100000-"}},
		{"server ignores range", true, []string{"", "bytes=100000-"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newModelServer(t, files)
			srv.noRange = tc.noRange
			srv.cut["det.onnx"] = 100_000
			dir := t.TempDir()
			in := &Installer{Dir: dir}
			es, _ := m.Select([]string{"det"})
			err := in.Download(context.Background(), m, srv.URL+"/models/", es)
			if err == nil || !strings.Contains(err.Error(), "run the command again to resume") {
				t.Fatalf("interrupted download: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "det.onnx")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a partial download was put in place: %v", err)
			}
			st, err := os.Stat(filepath.Join(dir, PartName("det.onnx")))
			if err != nil || st.Size() != 100_000 {
				t.Fatalf("partial file: %v %v", st, err)
			}
			if err := in.Download(context.Background(), m, srv.URL+"/models/", es); err != nil {
				t.Fatal(err)
			}
			if err := VerifyFile(filepath.Join(dir, "det.onnx"), es[0].SHA256); err != nil {
				t.Fatal(err)
			}
			if got := srv.requests("det.onnx"); strings.Join(got, "|") != strings.Join(tc.wantRanges, "|") {
				t.Errorf("requests %q, want %q", got, tc.wantRanges)
			}
			if got := installed(t, dir); len(got) != 1 {
				t.Errorf("left behind: %v", got)
			}
		})
	}
}

func TestDownloadRefusesChecksumMismatch(t *testing.T) {
	m, files := testManifest(t)
	tampered := map[string][]byte{}
	for k, v := range files {
		tampered[k] = v
	}
	evil := bytes.Clone(files["emb.onnx"])
	evil[1234] ^= 1 // same size, one bit differs
	tampered["emb.onnx"] = evil
	srv := newModelServer(t, tampered)
	dir := t.TempDir()
	in := &Installer{Dir: dir}
	es, _ := m.Select([]string{"emb"})
	err := in.Download(context.Background(), m, srv.URL+"/models/", es)
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "emb.onnx") {
		t.Fatalf("tampered download: %v", err)
	}
	if got := installed(t, dir); len(got) != 0 {
		t.Errorf("a refused download left %v", got)
	}
	// Larger than the manifest says: cut at the manifest's size, refused.
	tampered["emb.onnx"] = append(bytes.Clone(files["emb.onnx"]), "trailing"...)
	err = in.Download(context.Background(), m, srv.URL+"/models/", es)
	if !errors.Is(err, ErrChecksum) && (err == nil || !strings.Contains(err.Error(), "limit")) {
		t.Fatalf("oversized download: %v", err)
	}
	if got := installed(t, dir); len(got) != 0 {
		t.Errorf("a refused download left %v", got)
	}
	// A 404 names the URL and leaves nothing.
	srv.files = map[string][]byte{}
	err = in.Download(context.Background(), m, srv.URL+"/models/", es)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing file: %v", err)
	}
	if got := installed(t, dir); len(got) != 0 {
		t.Errorf("a failed download left %v", got)
	}
}

func TestManifestAgreesWithVision(t *testing.T) {
	m := Default()
	files := map[string]Entry{}
	for _, e := range m.Files {
		files[e.File] = e
	}
	for _, s := range vision.DefaultManifest().Models {
		e, ok := files[s.File]
		if !ok || e.Set != SetDefault || e.SHA256 != s.SHA256 {
			t.Errorf("vision model %s (%s): manifest entry %+v", s.Name, s.File, e)
		}
	}
	if e := files[vision.XFeatFile]; e.SHA256 != vision.XFeatSHA256 || e.Set != SetDefault {
		t.Errorf("xfeat entry %+v", e)
	}
	for _, s := range vision.KnownModels() {
		if e := files[s.File]; e.SHA256 != s.SHA256 || e.Set != SetOptIn {
			t.Errorf("known model %s: entry %+v, want opt-in with sha %s", s.Name, e, s.SHA256)
		}
	}
	for _, e := range m.Set(SetDefault) {
		if strings.Contains(e.License, "AGPL") || strings.Contains(strings.ToLower(e.License), "non-commercial") {
			t.Errorf("default file %s has terms %q", e.File, e.License)
		}
		u, err := m.DownloadURL(e, "")
		if err != nil || !strings.HasPrefix(u, "https://") || !strings.HasSuffix(u, "/"+e.File) {
			t.Errorf("%s: download URL %q %v", e.File, u, err)
		}
	}
}

// TestManifestMatchesModelFiles checks sizes and digests against the
// model files themselves, where a copy is at hand.
func TestManifestMatchesModelFiles(t *testing.T) {
	dir := testenv.Models(t, "yolox_nano_coco_416.onnx")
	for _, e := range Default().Files {
		p := filepath.Join(dir, e.File)
		st, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) && e.Set != SetDefault {
			continue
		}
		if err != nil {
			t.Error(err)
			continue
		}
		if st.Size() != e.Size {
			t.Errorf("%s: size %d, manifest %d", e.File, st.Size(), e.Size)
		}
		if err := VerifyFile(p, e.SHA256); err != nil {
			t.Error(err)
		}
	}
	if err := Check(dir); err != nil {
		t.Error(err)
	}
}

func TestCheckNamesTheFix(t *testing.T) {
	dir := t.TempDir()
	err := Check(dir)
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "run `vitrine models install`") || !strings.Contains(err.Error(), Known()[0].Name+" is missing") {
		t.Errorf("empty dir: %v", err)
	}
	os.WriteFile(filepath.Join(dir, Known()[0].Name), []byte("truncated"), 0o600)
	err = Check(dir)
	if !strings.Contains(err.Error(), Known()[0].Name+" is corrupt (sha256 mismatch)") || !strings.Contains(err.Error(), "vitrine models install") {
		t.Errorf("corrupt file: %v", err)
	}
}

func TestParseManifestRefuses(t *testing.T) {
	good := `{"name":"a","file":"a.onnx","sha256":"` + strings.Repeat("a", 64) + `","size":1,"set":"default","license":"MIT"}`
	tests := []struct{ name, json, want string }{
		{"no version", `{"files":[]}`, "version"},
		{"unknown field", `{"version":1,"files":[],"extra":1}`, "unknown field"},
		{"path in file", strings.Replace(`{"version":1,"files":[`+good+`]}`, `"a.onnx"`, `"../a.onnx"`, 1), "not a plain file name"},
		{"bad digest", strings.Replace(`{"version":1,"files":[`+good+`]}`, strings.Repeat("a", 64), "ABC", 1), "sha256"},
		{"bad set", strings.Replace(`{"version":1,"files":[`+good+`]}`, `"default"`, `"always"`, 1), "set"},
		{"no licence", strings.Replace(`{"version":1,"files":[`+good+`]}`, `"MIT"`, `""`, 1), "licence"},
		{"twice", `{"version":1,"files":[` + good + `,` + good + `]}`, "listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest(strings.NewReader(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := ParseManifest(strings.NewReader(`{"version":1,"files":[` + good + `]}`)); err != nil {
		t.Error(err)
	}
}

// TestCheckOptional: a missing optional file (XFeat) turns its feature off
// and is no error; a corrupt one is.
func TestCheckOptional(t *testing.T) {
	src := testenv.Models(t, "yolox_nano_coco_416.onnx")
	dir := t.TempDir()
	var optional string
	for _, f := range Known() {
		if f.Optional {
			optional = f.Name
			continue
		}
		if err := (&Installer{Dir: dir}).install(context.Background(), filepath.Join(src, f.Name), f.Name, f.SHA256); err != nil {
			t.Fatal(err)
		}
	}
	if optional != vision.XFeatFile {
		t.Fatalf("optional file %q, want %s", optional, vision.XFeatFile)
	}
	if err := Check(dir); err != nil {
		t.Errorf("without the optional file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, optional), []byte("cut"), 0o600)
	if err := Check(dir); !errors.Is(err, ErrChecksum) {
		t.Errorf("corrupt optional file: %v", err)
	}
}
