package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/modelfiles"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestDemoScriptOnFreshClone runs scripts/demo.sh --once the way a merchant
// who cloned vitrine does: the committed tree alone in a directory with no
// ../shared beside it, so the models come from the manifest's download
// location (here a loopback server holding them, named by
// VITRINE_MODELS_URL), with a three-product catalog and a short video.
func TestDemoScriptOnFreshClone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds vitrine and runs the demo")
	}
	models := testenv.Models(t, "yolox_nano_coco_416.onnx")
	lib := testenv.ORTLib(t)
	testenv.NeedFFmpeg(t)
	testenv.Samples(t, "catalog/images/16331.jpg")
	repo := testenv.RepoRoot(t)
	for _, tool := range []string{"git", "tar", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	ws := t.TempDir()
	clone := filepath.Join(ws, "vitrine")
	if err := os.MkdirAll(clone, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := exec.Command("bash", "-c", `git -C "$1" archive --format=tar HEAD | tar -x -C "$2"`, "archive", repo, clone)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Skipf("cannot copy the committed tree: %v %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(ws, "shared")); err == nil {
		t.Fatal("the fresh clone has a ../shared")
	}

	var mu sync.Mutex
	var modelRequests int
	srv := httptest.NewServer(http.StripPrefix("/models-v1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		modelRequests++
		mu.Unlock()
		http.FileServer(http.Dir(models)).ServeHTTP(w, r)
	})))
	defer srv.Close()

	shop := filepath.Join(ws, "shop")
	os.MkdirAll(shop, 0o755)
	var csv strings.Builder
	csv.WriteString("id,title,category,price,image\n")
	for _, id := range []string{"16331", "12644", "14942"} {
		os.WriteFile(filepath.Join(shop, id+".jpg"), testenv.SampleImage(t, id), 0o644)
		csv.WriteString(id + ",Product " + id + ",Tops,10," + id + ".jpg\n")
	}
	os.WriteFile(filepath.Join(shop, "products.csv"), []byte(csv.String()), 0o644)
	video := filepath.Join(ws, "clip.mp4")
	if out, err := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2",
		"-pix_fmt", "yuv420p", video).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "scripts/demo.sh", "--once")
	cmd.Dir = clone
	cmd.Env = cleanEnv(
		"VITRINE_MODELS_URL="+srv.URL+"/models-v1/",
		"VITRINE_DEPS="+filepath.Join(repo, ".deps"), // ONNX Runtime as setup.sh left it
		"VITRINE_ORT_LIB="+lib,
		"VITRINE_DATA_DIR="+filepath.Join(ws, "data"),
		"VITRINE_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"VITRINE_DEMO_CATALOG="+filepath.Join(shop, "products.csv"),
		"VITRINE_DEMO_VIDEO="+video,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{"sha256 ok", "player demo: http://127.0.0.1:" + strconv.Itoa(port) + "/demo/", "demo: done"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	if err := modelfiles.Check(filepath.Join(ws, "data", "models")); err != nil {
		t.Error(err)
	}
	mu.Lock()
	if modelRequests < len(modelfiles.Known()) {
		t.Errorf("%d model requests, want the %d files of the default set downloaded", modelRequests, len(modelfiles.Known()))
	}
	mu.Unlock()
}
