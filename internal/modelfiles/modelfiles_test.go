package modelfiles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestKnownIncludesExternalData(t *testing.T) {
	var names []string
	for _, f := range Known() {
		if len(f.SHA256) != 64 {
			t.Errorf("%s: bad digest %q", f.Name, f.SHA256)
		}
		names = append(names, f.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "osnet_x0_25_msmt17.onnx.data") {
		t.Errorf("known files %v lack the osnet external data", names)
	}
}

func TestInstallDirVerifiesEveryFile(t *testing.T) {
	src := testenv.Models(t, "yolox_nano_coco_416.onnx")
	dst := t.TempDir()
	in := &Installer{Dir: dst}
	files, err := in.InstallDir(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(Known()) {
		t.Fatalf("installed %d of %d files", len(files), len(Known()))
	}
	for _, f := range files {
		if err := VerifyFile(filepath.Join(dst, f.Name), f.SHA256); err != nil {
			t.Error(err)
		}
	}
	// A directory missing a file fails and names it.
	partial := t.TempDir()
	if _, err := (&Installer{Dir: t.TempDir()}).InstallDir(context.Background(), partial); err == nil || !strings.Contains(err.Error(), Known()[0].Name) {
		t.Errorf("empty source dir: %v", err)
	}
}

func TestInstallFromURL(t *testing.T) {
	payload := []byte(strings.Repeat("weights", 1000))
	sum := sha256.Sum256(payload)
	digest := hex.EncodeToString(sum[:])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing.onnx" {
			http.NotFound(w, r)
			return
		}
		w.Write(payload)
	}))
	defer srv.Close()
	ctx := context.Background()
	tests := []struct {
		name, url, sha string
		max            int64
		wantErr        string
	}{
		{"ok", srv.URL + "/tiny.onnx", digest, 0, ""},
		{"wrong digest", srv.URL + "/tiny2.onnx", strings.Repeat("0", 64), 0, "sha256 mismatch"},
		{"no digest for unknown file", srv.URL + "/tiny3.onnx", "", 0, "give its --sha256"},
		{"malformed digest", srv.URL + "/tiny4.onnx", "xyz", 0, "not a sha256"},
		{"too large", srv.URL + "/tiny5.onnx", digest, 100, "larger than the 100-byte limit"},
		{"http error", srv.URL + "/missing.onnx", digest, 0, "404"},
		{"known file with other digest", srv.URL + "/yolox_nano_coco_416.onnx", digest, 0, "differs from the manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := t.TempDir()
			in := &Installer{Dir: dst, MaxBytes: tc.max}
			f, err := in.InstallOne(ctx, tc.url, tc.sha)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if err := VerifyFile(filepath.Join(dst, f.Name), digest); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			entries, _ := os.ReadDir(dst)
			if len(entries) != 0 {
				t.Errorf("failed install left files: %v", entries)
			}
		})
	}
	if err := VerifyFile(filepath.Join(t.TempDir(), "x"), digest); err == nil || errors.Is(err, ErrChecksum) {
		t.Errorf("verify missing file: %v", err)
	}
}
