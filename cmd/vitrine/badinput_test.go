package main

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/crypt"
)

// bombPNG is a 1 KiB PNG that claims 50000x50000 pixels (2.5 GB decoded).
func bombPNG() []byte {
	chunk := func(typ string, data []byte) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
		return b.Bytes()
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 50000)
	binary.BigEndian.PutUint32(ihdr[4:], 50000)
	ihdr[8] = 8 // bit depth, grey
	// A zlib stream of zeros: tiny compressed, huge decompressed.
	idat := append([]byte{0x78, 0xda}, bytes.Repeat([]byte{0x63, 0x00}, 200)...)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", idat)...)
	return append(out, chunk("IEND", nil)...)
}

type videoState struct {
	ID, Source, State, Error string
}

func (s *server) waitVideo(t *testing.T, key, id string, limit time.Duration) videoState {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var v videoState
		if st := s.do(t, "GET", "/v1/videos/"+id, key, "", &v); st != 200 {
			t.Fatalf("video %s: status %d", id, st)
		}
		if v.State == "ready" || v.State == "failed" {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("video %s still %s after %s:\n%s", id, v.State, limit, s.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func post(t *testing.T, s *server, path, key, contentType string, body []byte) (int, []byte) {
	t.Helper()
	return request(t, "POST", s.url, path, key, map[string]string{"Content-Type": contentType}, bytes.NewReader(body))
}

// TestBadInput sends a real server (models, ffmpeg, encryption at rest)
// every kind of bad input next to a good video: each is refused with its
// documented error, the server keeps serving, and the good video's
// results are untouched.
func TestBadInput(t *testing.T) {
	kek, _ := crypt.GenerateKey()
	admin, _ := apikey.Generate()
	env := cleanEnv(append(sharedEnv(t), "VITRINE_KEK="+kek, "VITRINE_ADMIN_KEY="+admin,
		"VITRINE_POLL_INTERVAL=50ms", "VITRINE_MAX_UPLOAD_BYTES=2000000", "VITRINE_RETRY_BASE=50ms", "VITRINE_RETRY_MAX=100ms")...)
	clip := sampleClip(t, "videoavatars_person_turntable.mp4", "2")
	good, _ := os.ReadFile(clip)
	dataDir := t.TempDir()
	s := startServer(t, env, dataDir)

	st, raw := post(t, s, "/v1/videos?name=good.mp4", admin, "video/mp4", good)
	var gv videoState
	if st != 202 || json.Unmarshal(raw, &gv) != nil {
		t.Fatalf("good upload: %d %s", st, raw)
	}
	if v := s.waitVideo(t, admin, gv.ID, 3*time.Minute); v.State != "ready" {
		t.Fatalf("good video: %+v", v)
	}
	_, docBefore := get(t, s, "/v1/videos/"+gv.ID+"/shoppable", admin, "")

	noise := make([]byte, 50000)
	rand.Read(noise)
	corrupt := bytes.Clone(good)
	rand.Read(corrupt[len(corrupt)/4 : len(corrupt)*3/4])
	bigJSON := `{"scope":"read","name":"` + strings.Repeat("x", 100000) + `"}`

	// Refused at once: status, error code and a message naming the problem.
	sync := []struct {
		name, path, ctype string
		body              []byte
		status            int
		code, msg         string
	}{
		{"0-byte video", "/v1/videos?name=empty.mp4", "video/mp4", nil, 400, "bad_request", "empty upload"},
		{"oversized video", "/v1/videos?name=big.mp4", "video/mp4", make([]byte, 2500000), 413, "payload_too_large", "size limit"},
		{"decompression bomb image", "/v1/catalog/images", "image/png", bombPNG(), 400, "bad_request", "too many pixels"},
		{"non-image bytes as image", "/v1/catalog/images", "image/png", noise[:2000], 400, "bad_request", ""},
		{"oversized JSON body", "/v1/keys", "application/json", []byte(bigJSON), 413, "payload_too_large", "larger than"},
		{"malformed JSON body", "/v1/keys", "application/json", []byte(`{"scope":`), 400, "bad_request", ""},
		{"unknown JSON field", "/v1/keys", "application/json", []byte(`{"scope":"read","root":true}`), 400, "bad_request", "unknown field"},
	}
	for _, c := range sync {
		t.Run(c.name, func(t *testing.T) {
			st, raw := post(t, s, c.path, admin, c.ctype, c.body)
			var eb struct {
				Error struct{ Code, Message string }
			}
			json.Unmarshal(raw, &eb)
			if st != c.status || eb.Error.Code != c.code || !strings.Contains(eb.Error.Message, c.msg) {
				t.Errorf("%d %s, want %d %s %q", st, raw, c.status, c.code, c.msg)
			}
			if st, _ := get(t, s, "/healthz", "", ""); st != 200 {
				t.Fatalf("server stopped serving: %d", st)
			}
		})
	}

	// Accepted uploads that are not usable video: the workflow fails at its
	// probe step with ErrInvalidMedia's message, without retries hiding it.
	async := []struct {
		name, file string
		body       []byte
		msg        string
	}{
		{"non-video bytes", "notes.mp4", []byte(strings.Repeat("not a video ", 500)), "invalid or unreadable media"},
		{"random bytes", "noise.mp4", noise, "invalid or unreadable media"},
		{"truncated video", "cut.mp4", good[:len(good)/3], "invalid or unreadable media"},
		{"path traversal name", "../../../../etc/passwd", good[:len(good)/3], "invalid or unreadable media"},
	}
	for _, c := range async {
		t.Run(c.name, func(t *testing.T) {
			st, raw := post(t, s, "/v1/videos?name="+c.file, admin, "video/mp4", c.body)
			var v videoState
			if st != 202 || json.Unmarshal(raw, &v) != nil {
				t.Fatalf("upload: %d %s", st, raw)
			}
			if strings.Contains(v.Source, "/") || strings.Contains(v.Source, "..") {
				t.Errorf("source name kept a path: %q", v.Source)
			}
			got := s.waitVideo(t, admin, v.ID, 2*time.Minute)
			if got.State != "failed" || !strings.Contains(got.Error, c.msg) {
				t.Errorf("ended %s with %q, want failed with %q", got.State, got.Error, c.msg)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dataDir, "..", "etc")); err == nil {
		t.Error("a path-traversal upload name wrote outside the data directory")
	}
	// A damaged (not truncated) stream either fails with a media error or is
	// concealed and completes: it never hangs or takes the server down.
	st, raw = post(t, s, "/v1/videos?name=corrupt.mp4", admin, "video/mp4", corrupt)
	var cv videoState
	if st != 202 || json.Unmarshal(raw, &cv) != nil {
		t.Fatalf("corrupt upload: %d %s", st, raw)
	}
	if got := s.waitVideo(t, admin, cv.ID, 3*time.Minute); got.State == "failed" && !strings.Contains(got.Error, "media") {
		t.Errorf("corrupt video failed with %q", got.Error)
	}

	// SSRF and path traversal in catalog image references: per-row errors.
	body := `{"products":[
		{"id":"ssrf-loopback","title":"a","images":["` + s.url + `/healthz"]},
		{"id":"ssrf-metadata","title":"b","images":["http://169.254.169.254/latest/meta-data/"]},
		{"id":"ssrf-private","title":"c","images":["http://10.0.0.1/a.jpg"]},
		{"id":"ssrf-ipv6","title":"d","images":["http://[::1]/a.jpg"]},
		{"id":"file-url","title":"e","images":["file:///etc/passwd"]},
		{"id":"blob-traversal","title":"f","images":["blob:../../vitrine.db"]}]}`
	st, raw = post(t, s, "/v1/catalog/products?wait=true", admin, "application/json", []byte(body))
	var batch struct {
		Summary struct {
			Failed int
			Errors []struct {
				ProductID string `json:"product_id"`
				Reason    string
			}
		}
	}
	if st != 200 || json.Unmarshal(raw, &batch) != nil || batch.Summary.Failed != 6 {
		t.Fatalf("catalog import of bad references: %d %s", st, raw)
	}
	wantReason := map[string]string{
		"ssrf-loopback": "address is not allowed", "ssrf-metadata": "address is not allowed",
		"ssrf-private": "address is not allowed", "ssrf-ipv6": "address is not allowed",
		"file-url": "want an http(s) URL", "blob-traversal": "is not a catalog image",
	}
	for _, e := range batch.Summary.Errors {
		if !strings.Contains(e.Reason, wantReason[e.ProductID]) {
			t.Errorf("%s: %q, want %q", e.ProductID, e.Reason, wantReason[e.ProductID])
		}
	}
	// A video URL on a private address is refused by the CLI's fetcher.
	if _, errOut, code := vitrine(t, env, "video", "add", "http://127.0.0.1:1/v.mp4", "--data-dir", t.TempDir()); code == 0 || !strings.Contains(errOut, "not allowed") {
		t.Errorf("video add of a loopback URL: exit %d %q", code, errOut)
	}

	// Nothing else was lost: the good video is still ready with the same document.
	if st, _ := get(t, s, "/healthz", "", ""); st != 200 {
		t.Fatalf("server stopped serving: %d", st)
	}
	if v := s.waitVideo(t, admin, gv.ID, time.Second); v.State != "ready" {
		t.Errorf("good video is now %s", v.State)
	}
	if _, doc := get(t, s, "/v1/videos/"+gv.ID+"/shoppable", admin, ""); !bytes.Equal(doc, docBefore) {
		t.Error("the good video's shoppable document changed")
	}
}

// TestVideoLimits: the configured duration and resolution caps refuse a
// video at its probe step with a clear error.
func TestVideoLimits(t *testing.T) {
	clip := sampleClip(t, "videoavatars_person_turntable.mp4", "2")
	for _, c := range []struct{ setting, want string }{
		{"VITRINE_MAX_VIDEO_DURATION=1s", "duration 2s is above the limit of 1s"},
		{"VITRINE_MAX_VIDEO_PIXELS=10000", "above the limit of 10000 pixels"},
	} {
		t.Run(c.setting, func(t *testing.T) {
			env := cleanEnv(append(sharedEnv(t), c.setting)...)
			_, errOut, code := vitrine(t, env, "video", "add", clip, "--data-dir", t.TempDir(), "--quiet")
			if code == 0 || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stderr %q; want an error with %q", code, errOut, c.want)
			}
		})
	}
	env := cleanEnv(append(sharedEnv(t), "VITRINE_FFMPEG_MAX_MEMORY=0")...)
	if _, errOut, code := vitrine(t, env, "video", "add", clip, "--data-dir", t.TempDir()); code == 0 || !strings.Contains(errOut, "media limits") {
		t.Errorf("bad media limit setting: exit %d %q", code, errOut)
	}
}
