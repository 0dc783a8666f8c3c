package vision

import (
	"context"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// repoRoot walks up from the test's directory to go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, ok := moduleRoot(wd)
	if !ok {
		t.Fatal("no go.mod above the test directory")
	}
	return root
}

// sharedDir returns $env or ../shared/<rel> from the repo root, skipping the
// test when it is absent.
func sharedDir(t testing.TB, env, rel string) string {
	t.Helper()
	d := os.Getenv(env)
	if d == "" {
		d = filepath.Join(repoRoot(t), "..", "shared", rel)
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Skipf("shared test data missing: %s (set %s)", d, env)
	}
	return d
}

func modelsDir(t testing.TB) string  { return sharedDir(t, "VITRINE_MODELS", "models") }
func samplesDir(t testing.TB) string { return sharedDir(t, "VITRINE_SAMPLES", "data") }

var shared struct {
	once sync.Once
	ms   *Models
	err  error
}

// testModels loads the shipped models once for the whole test binary.
func testModels(t testing.TB) *Models {
	t.Helper()
	dir := modelsDir(t)
	shared.once.Do(func() {
		shared.ms, shared.err = Open(context.Background(), Options{ModelsDir: dir, Threads: 2, Verify: true})
	})
	if shared.err != nil {
		t.Fatalf("open models in %s: %v", dir, shared.err)
	}
	return shared.ms
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.ms != nil {
		shared.ms.Close()
	}
	os.Exit(code)
}

// loadImage decodes a sample file.
func loadImage(t testing.TB, path string) image.Image {
	t.Helper()
	img, _, err := imageio.DecodeFile(path, imageio.Limits{})
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// videoFrame extracts the frame at second sec of a sample video with ffmpeg.
func videoFrame(t testing.TB, video string, sec string) image.Image {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg not on PATH (run scripts/setup.sh)")
	}
	out := filepath.Join(t.TempDir(), "frame.png")
	cmd := exec.Command("ffmpeg", "-v", "error", "-ss", sec, "-i", video, "-frames:v", "1", "-y", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s at %ss: %v: %s", video, sec, err, b)
	}
	return loadImage(t, out)
}
