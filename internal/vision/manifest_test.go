package vision

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestDefaultManifest(t *testing.T) {
	m := DefaultManifest()
	for _, r := range []Role{RoleDetector, RoleImageEmbedder, RoleAppearance} {
		if _, ok := m.First(r); !ok {
			t.Errorf("no %s in the default manifest", r)
		}
	}
	det, _ := m.First(RoleDetector)
	coco, err := m.ClassNames(det)
	if err != nil || len(coco) != 80 || coco[0] != "person" || coco[26] != "handbag" || coco[79] != "toothbrush" {
		t.Fatalf("COCO classes: %d %v", len(coco), err)
	}
	emb, _ := m.First(RoleImageEmbedder)
	in1k, err := m.ClassNames(emb)
	if err != nil || len(in1k) != 1000 {
		t.Fatalf("ImageNet classes: %d %v", len(in1k), err)
	}
	// Spot checks against the indices MODELS.md reports.
	for idx, name := range map[int]string{12: "house finch", 249: "malamute", 468: "cab", 654: "minibus", 610: "jersey", 837: "sunglasses", 999: "toilet tissue"} {
		if in1k[idx] != name {
			t.Errorf("ImageNet %d = %q, want %q", idx, in1k[idx], name)
		}
	}
	ap, err := loadApparel(m, m.Garments.ApparelTable)
	if err != nil || len(ap) < 30 {
		t.Fatalf("apparel table: %d entries, %v", len(ap), err)
	}
	for _, a := range ap {
		if a.class >= 1000 {
			t.Errorf("apparel class %d out of range", a.class)
		}
	}
	for _, c := range []string{"handbag", "backpack", "tie", "suitcase", "umbrella", "cell phone", "laptop", "cup", "chair"} {
		if !contains(m.ShoppableClasses, c) {
			t.Errorf("%q is not shoppable by default", c)
		}
		if !contains(coco, c) {
			t.Errorf("shoppable %q is not a COCO class", c)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestParseManifestErrors(t *testing.T) {
	good := func() map[string]any {
		var m map[string]any
		if err := json.Unmarshal(defaultManifestJSON, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	model := func(m map[string]any, i int) map[string]any { return m["models"].([]any)[i].(map[string]any) }
	for _, tc := range []struct {
		name   string
		mutate func(m map[string]any)
		want   string
	}{
		{"unknown field", func(m map[string]any) { model(m, 0)["treshold"] = 0.3 }, "unknown field"},
		{"unknown role", func(m map[string]any) { model(m, 0)["role"] = "segmenter" }, "unknown role"},
		{"detector format", func(m map[string]any) { model(m, 0)["format"] = "ssd" }, "detector format"},
		{"resize mode", func(m map[string]any) { model(m, 1)["input"].(map[string]any)["resize"] = "squash" }, "input.resize"},
		{"zero std", func(m map[string]any) { model(m, 1)["input"].(map[string]any)["std"] = []float64{0.2, 0, 0.2} }, "zero"},
		{"duplicate name", func(m map[string]any) { model(m, 1)["name"] = model(m, 0)["name"] }, "duplicate"},
		{"missing text model", func(m map[string]any) { model(m, 1)["text_model"] = "clip-text" }, "text_model"},
		{"no scale", func(m map[string]any) { delete(model(m, 0)["input"].(map[string]any), "scale") }, "scale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.mutate(m)
			b, _ := json.Marshal(m)
			_, err := ParseManifest(strings.NewReader(string(b)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := ParseManifest(strings.NewReader("{")); err == nil {
		t.Error("truncated JSON: want an error")
	}
}

func TestVerifySHA256(t *testing.T) {
	dir := testenv.Models(t)
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Models {
		if err := m.VerifySHA256(s); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	s, _ := m.First(RoleDetector)
	s.SHA256 = strings.Repeat("0", 64)
	if err := m.VerifySHA256(s); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("wrong digest: got %v", err)
	}
}

// TestManifestOverrideSwapsModelsWithoutCode points a user manifest at the
// shipped detector with a custom class list and a higher threshold.
func TestManifestOverrideSwapsModelsWithoutCode(t *testing.T) {
	models := testenv.Models(t)
	abs, err := filepath.Abs(models)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	def := DefaultManifest()
	det, _ := def.First(RoleDetector)
	det.Name = "my-detector"
	det.File = filepath.Join(abs, det.File)
	det.Classes = "my-classes.txt"
	names := make([]string, 80)
	for i := range names {
		names[i] = "class" + string(rune('A'+i%26))
	}
	names[0] = "human"
	if err := os.WriteFile(filepath.Join(dir, "my-classes.txt"), []byte(strings.Join(names, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	def.Models = []ModelSpec{det}
	def.Garments.ApparelTable = ""
	b, err := json.MarshalIndent(def, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	ms, err := Open(context.Background(), Options{ModelsDir: dir, Threads: 1, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	if ms.Embedder != nil || ms.Appearance != nil || ms.Garments != nil {
		t.Fatal("only the detector is in the user manifest")
	}
	if _, err := ms.EmbedTexts(context.Background(), []string{"red dress"}); !errors.Is(err, ErrNoTextEncoder) {
		t.Fatalf("no text encoder: got %v", err)
	}
	if ms.Detector.Spec().Name != "my-detector" {
		t.Fatalf("loaded %s", ms.Detector.Spec().Name)
	}
	img := turntableFrame(t, "1")
	dets, err := ms.Detector.Detect(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if len(dets) == 0 || dets[0].Label != "human" {
		t.Fatalf("want the custom label %q, got %+v", "human", dets)
	}

	// A broken user manifest is reported with its path.
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"models":[{"name":"x"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadManifest(dir); err == nil || !strings.Contains(err.Error(), ManifestFile) {
		t.Fatalf("broken manifest: got %v", err)
	}
}

func TestOpenMissingModelFile(t *testing.T) {
	_, err := Open(context.Background(), Options{ModelsDir: t.TempDir(), SkipEmbedder: true, SkipAppearance: true})
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "models install") {
		t.Fatalf("got %v, want a not-exist error with an install hint", err)
	}
}

func TestFindRuntimeLibrary(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if _, err := FindRuntimeLibrary(missing); !errors.Is(err, ErrRuntimeMissing) || !strings.Contains(err.Error(), "scripts/setup.sh") {
		t.Errorf("explicit missing path: got %v", err)
	}
	t.Setenv("VITRINE_ORT_LIB", missing)
	if _, err := FindRuntimeLibrary(""); !errors.Is(err, ErrRuntimeMissing) || !strings.Contains(err.Error(), "VITRINE_ORT_LIB") {
		t.Errorf("VITRINE_ORT_LIB missing: got %v", err)
	}
	lib := filepath.Join(testenv.RepoRoot(t), ".deps", "onnxruntime", "libonnxruntime.so.1")
	if !fileExists(lib) {
		t.Fatalf("%s missing: run scripts/setup.sh", lib)
	}
	t.Setenv("VITRINE_ORT_LIB", "")
	got, err := FindRuntimeLibrary("")
	if err != nil || !fileExists(got) {
		t.Fatalf("default lookup: %q, %v", got, err)
	}
	t.Setenv("VITRINE_ORT_LIB", lib)
	if got, err := FindRuntimeLibrary(""); err != nil || got != lib {
		t.Fatalf("VITRINE_ORT_LIB: %q, %v", got, err)
	}
}
