package app

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// TestGarmentDetectorOnlyWhenNamed checks that the AGPL-licensed garment
// detector is never opened unless the garment_detector setting names it:
// with the default configuration a corrupt copy of its file beside the
// default models goes untouched, naming it opens (and so verifies) that
// file, the real file loads, and a wrong name is refused at start with an
// error naming the setting.
func TestGarmentDetectorOnlyWhenNamed(t *testing.T) {
	ctx := context.Background()
	models := testenv.Models(t, "yolov5n_deepfashion2_416.onnx")
	lib := testenv.ORTLib(t)
	spec, _ := vision.DefaultManifest().GarmentDetectorSpec(vision.DeepFashion2Detector)

	// The default models, and garbage where the garment detector would be.
	decoy := t.TempDir()
	for _, s := range vision.DefaultManifest().Models {
		for _, f := range []string{s.File, s.File + ".data"} {
			// Copies: ONNX Runtime refuses external data reached through
			// a symlink.
			if b, err := os.ReadFile(filepath.Join(models, f)); err == nil {
				if err := os.WriteFile(filepath.Join(decoy, f), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := os.WriteFile(filepath.Join(decoy, spec.File), []byte("not the model"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := func(t *testing.T, dir, name string) (*vision.Models, error) {
		t.Helper()
		cfg := testConfig(t, t.TempDir())
		cfg.ModelsDir, cfg.ORTLib, cfg.GarmentDetector = dir, lib, name
		a := &App{Config: cfg, Log: NewLogger(cfg, io.Discard)}
		vm, err := a.openVideoVision(ctx)
		if err == nil {
			t.Cleanup(func() { vm.Close() })
		}
		return vm, err
	}

	t.Run("default", func(t *testing.T) {
		if def := testConfig(t, t.TempDir()).GarmentDetector; def != "" {
			t.Fatalf("garment_detector defaults to %q", def)
		}
		vm, err := open(t, decoy, "")
		if err != nil {
			t.Fatalf("default config: %v", err)
		}
		if vm.GarmentDetector != nil || vm.Detector == nil || vm.Embedder == nil {
			t.Fatalf("default config: garment detector %v, detector %v, embedder %v", vm.GarmentDetector, vm.Detector, vm.Embedder)
		}
	})
	t.Run("named opens the file", func(t *testing.T) {
		if _, err := open(t, decoy, vision.DeepFashion2Detector); err == nil || !strings.Contains(err.Error(), "sha256") {
			t.Fatalf("named, corrupt file: %v, want a sha256 error", err)
		}
	})
	t.Run("named loads", func(t *testing.T) {
		vm, err := open(t, models, vision.DeepFashion2Detector)
		if err != nil {
			t.Fatal(err)
		}
		if vm.GarmentDetector == nil || vm.GarmentDetector.Spec().Name != vision.DeepFashion2Detector {
			t.Fatalf("garment detector %v", vm.GarmentDetector)
		}
	})
	t.Run("wrong name", func(t *testing.T) {
		_, err := open(t, models, "yolov5-fashion")
		if err == nil || !strings.Contains(err.Error(), "garment_detector") || !strings.Contains(err.Error(), vision.DeepFashion2Detector) {
			t.Fatalf("wrong name: %v, want an error naming the setting and the known detectors", err)
		}
		// The whole app refuses to start with it.
		cfg := testConfig(t, t.TempDir())
		cfg.ModelsDir, cfg.GarmentDetector = models, "yolov5-fashion"
		a, err := Open(ctx, cfg, NewLogger(cfg, io.Discard), Options{})
		if err == nil {
			a.Close(ctx)
			t.Fatal("app opened with an unknown garment detector")
		}
		if !strings.Contains(err.Error(), "VITRINE_GARMENT_DETECTOR") {
			t.Errorf("app open: %v, want the setting named", err)
		}
		t.Logf("error: %v", err)
	})
}
