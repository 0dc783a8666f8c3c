package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/modelfiles"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// TestModelsInstallFromManifest installs the default model set the way a
// fresh clone without a local copy does: from the manifest's download
// location, here a loopback server holding the real model files.
func TestModelsInstallFromManifest(t *testing.T) {
	src := testenv.Models(t, "yolox_nano_coco_416.onnx")
	var mu sync.Mutex
	requested := map[string]int{}
	srv := httptest.NewServer(http.StripPrefix("/models-v1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requested[strings.TrimPrefix(r.URL.Path, "/")]++
		mu.Unlock()
		http.FileServer(http.Dir(src)).ServeHTTP(w, r)
	})))
	defer srv.Close()
	data := t.TempDir()
	// No VITRINE_MODELS: the models directory is <data-dir>/models, as on a
	// fresh clone without a local copy of the models.
	lib := strings.TrimPrefix(sharedEnv(t)[1], "VITRINE_ORT_LIB=")
	env := cleanEnv("VITRINE_DATA_DIR="+data, "VITRINE_MODELS_URL="+srv.URL+"/models-v1/", "VITRINE_ORT_LIB="+lib)
	shop := t.TempDir()
	os.WriteFile(filepath.Join(shop, "a.jpg"), testenv.SampleImage(t, "16331"), 0o644)
	csv := filepath.Join(shop, "products.csv")
	os.WriteFile(csv, []byte("id,title,image\np1,Shirt,a.jpg\n"), 0o644)

	// Before: a clear error naming the command that fixes it.
	_, e, _ := vitrine(t, env, "models", "list")
	if !strings.Contains(e, "is missing") || !strings.Contains(e, "run `vitrine models install`") {
		t.Errorf("list without models: %q", e)
	}
	if out, e, code := vitrine(t, env, "catalog", "import", "--quiet", csv); code == 0 || !strings.Contains(out+e, "run `vitrine models install`") {
		t.Errorf("import without models: exit %d\n%s%s", code, out, e)
	}

	out, e, code := vitrine(t, env, "models", "install")
	if code != 0 || strings.Count(out, "sha256 ok") != len(modelfiles.Known()) {
		t.Fatalf("install: exit %d\n%s%s", code, out, e)
	}
	dir := filepath.Join(data, "models")
	if err := modelfiles.Check(dir); err != nil {
		t.Fatal(err)
	}
	for _, e := range modelfiles.Default().Files {
		_, err := os.Stat(filepath.Join(dir, e.File))
		if installed := err == nil; installed != (e.Set == modelfiles.SetDefault) {
			t.Errorf("%s (%s): installed %v", e.File, e.Set, installed)
		}
	}
	// The installed models load: selftest verifies and loads them, and an
	// import embeds with them.
	if out, e, code := vitrine(t, env, "selftest"); code != 0 {
		t.Fatalf("selftest after install: exit %d\n%s%s", code, out, e)
	}
	if out, e, code := vitrine(t, env, "catalog", "import", "--quiet", csv); code != 0 || !strings.Contains(out, "1 added") && !strings.Contains(out, "1 updated") {
		t.Fatalf("import after install: exit %d\n%s%s", code, out, e)
	}
	list, _, _ := vitrine(t, env, "models", "list")
	if strings.Count(list, " ok ") != len(modelfiles.Known()) || !strings.Contains(list, "AGPL-3.0") {
		t.Errorf("list after install:\n%s", list)
	}

	// The opt-in garment detector is never downloaded, even when named.
	_, e, code = vitrine(t, env, "models", "install", "yolov5n-deepfashion2")
	if code == 0 || !strings.Contains(e, "opt-in and never downloaded") {
		t.Errorf("opt-in download: exit %d %q", code, e)
	}
	mu.Lock()
	if n := requested["yolov5n_deepfashion2_416.onnx"]; n != 0 {
		t.Errorf("the opt-in file was requested %d times", n)
	}
	mu.Unlock()
	// ... but copies in from a local directory when named.
	if _, err := os.Stat(filepath.Join(src, "yolov5n_deepfashion2_416.onnx")); err == nil {
		out, e, code = vitrine(t, env, "models", "install", "yolov5n-deepfashion2", "--from", src)
		if code != 0 || !strings.Contains(out, "yolov5n_deepfashion2_416.onnx (yolov5n-deepfashion2) sha256 ok") || !strings.Contains(e, "AGPL-3.0") {
			t.Errorf("opt-in copy: exit %d\n%s%s", code, out, e)
		}
	}

	// A corrupt file is named, with the fix, and the fix works.
	os.WriteFile(filepath.Join(dir, "xfeat_640_rgb.onnx"), []byte("truncated"), 0o600)
	_, e, _ = vitrine(t, env, "models", "list")
	if !strings.Contains(e, "xfeat_640_rgb.onnx is corrupt") || !strings.Contains(e, "vitrine models install") {
		t.Errorf("list with a corrupt file: %q", e)
	}
	if _, e, code = vitrine(t, env, "models", "install"); code != 0 {
		t.Fatalf("repair: exit %d %s", code, e)
	}
	if err := modelfiles.Check(dir); err != nil {
		t.Error(err)
	}
}
