package vision

import (
	"context"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

var shared struct {
	once sync.Once
	ms   *Models
	err  error
}

// testModels loads the shipped models once for the whole test binary.
func testModels(t testing.TB) *Models {
	t.Helper()
	dir := testenv.Models(t)
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

// turntableFrame is the frame at second sec of the turntable sample: a man
// in a red T-shirt and blue jeans (DATA.md).
func turntableFrame(t testing.TB, sec string) image.Image {
	t.Helper()
	return videoFrame(t, testenv.SampleVideo(t, "videoavatars_person_turntable.mp4"), sec)
}

// videoFrame extracts the frame at second sec of a sample video with ffmpeg.
func videoFrame(t testing.TB, video string, sec string) image.Image {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatal("ffmpeg not on PATH (run scripts/setup.sh)")
	}
	out := filepath.Join(t.TempDir(), "frame.png")
	testenv.FFmpeg(t, "-ss", sec, "-i", video, "-frames:v", "1", out)
	return loadImage(t, out)
}
