// Package testenv finds what vitrine's tests need from their environment:
// the repository root, the shared models and sample data, the ONNX Runtime
// library, ffmpeg and Chromium. When something is absent the test is
// skipped with a message naming the missing path, so a test never passes
// silently without what it checks. Only tests and test-helper packages
// import it.
package testenv

import (
	"encoding/csv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RepoRoot walks up from the working directory to the directory holding
// go.mod and fails the test when there is none.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the test directory")
		}
		dir = parent
	}
}

// SharedDir returns $env, or ../shared/<def> next to the repository root
// when env is unset, as an absolute path (child processes run elsewhere). It
// skips the test when that directory, or any of the
// need paths relative to it, does not exist.
func SharedDir(t testing.TB, env, def string, need ...string) string {
	t.Helper()
	d := os.Getenv(env)
	if d == "" {
		d = filepath.Join(RepoRoot(t), "..", "shared", def)
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Skipf("%s not available (set %s): %v", d, env, notDir(st, err))
	}
	for _, n := range need {
		p := filepath.Join(d, n)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s not available (set %s): %v", p, env, err)
		}
	}
	if abs, err := filepath.Abs(d); err == nil {
		d = abs
	}
	return d
}

func notDir(st os.FileInfo, err error) any {
	if err != nil {
		return err
	}
	return st.Name() + " is not a directory"
}

// Models returns the directory of ONNX models ($VITRINE_MODELS, default
// ../shared/models), skipping the test when it or one of need is absent.
func Models(t testing.TB, need ...string) string {
	t.Helper()
	return SharedDir(t, "VITRINE_MODELS", "models", need...)
}

// Samples returns the sample data directory ($VITRINE_SAMPLES, default
// ../shared/data), skipping the test when it or one of need is absent.
func Samples(t testing.TB, need ...string) string {
	t.Helper()
	return SharedDir(t, "VITRINE_SAMPLES", "data", need...)
}

// SampleVideo returns the path of a video of the sample data, skipping the
// test when it is absent.
func SampleVideo(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Samples(t, filepath.Join("videos", name)), "videos", name)
}

// SampleImage returns the bytes of the sample catalog's packshot of
// product id, skipping the test when it is absent.
func SampleImage(t testing.TB, id string) []byte {
	t.Helper()
	name := filepath.Join("catalog", "images", id+".jpg")
	b, err := os.ReadFile(filepath.Join(Samples(t, name), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CatalogRows returns the records of the products.csv of the catalog in
// dir, its header first.
func CatalogRows(t testing.TB, dir string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "products.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", f.Name(), err)
	}
	return rows
}

// ORTLib returns the ONNX Runtime library ($VITRINE_ORT_LIB, default
// .deps/onnxruntime/libonnxruntime.so.1 in the repository), skipping the
// test when it is absent.
func ORTLib(t testing.TB) string {
	t.Helper()
	lib := os.Getenv("VITRINE_ORT_LIB")
	if lib == "" {
		lib = filepath.Join(RepoRoot(t), ".deps", "onnxruntime", "libonnxruntime.so.1")
	}
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("ONNX Runtime library not found at %s (run scripts/setup.sh or set VITRINE_ORT_LIB): %v", lib, err)
	}
	return lib
}

// NeedFFmpeg skips the test unless ffmpeg and ffprobe are on PATH.
func NeedFFmpeg(t testing.TB) {
	t.Helper()
	for _, name := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("%s not installed: %v", name, err)
		}
	}
}

// Chromium returns the path of a Chromium-like browser on PATH or skips the
// test.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (scripts/setup.sh installs it)")
	return ""
}

// ArtifactsDir returns, creating it, the directory where tests keep files
// for inspection such as screenshots: $VITRINE_ARTIFACTS/<sub>, default
// artifacts/<sub> in the repository (ignored by git).
func ArtifactsDir(t testing.TB, sub string) string {
	t.Helper()
	d := os.Getenv("VITRINE_ARTIFACTS")
	if d == "" {
		d = filepath.Join(RepoRoot(t), "artifacts")
	}
	d = filepath.Join(d, sub)
	if err := os.MkdirAll(d, 0o750); err != nil {
		t.Fatalf("testenv: create artifacts directory %s: %v", d, err)
	}
	return d
}

// FFmpeg runs ffmpeg quietly with args (overwriting outputs) to make a
// fixture, failing the test with ffmpeg's output when it fails. Callers
// check NeedFFmpeg first.
func FFmpeg(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// NeedFFmpegProtocols skips the test unless ffmpeg (checked with
// NeedFFmpeg) reads every named protocol, such as "rtmp" or "srt" (a build
// without libsrt lacks "srt").
func NeedFFmpegProtocols(t testing.TB, names ...string) {
	t.Helper()
	NeedFFmpeg(t)
	out, err := exec.Command("ffmpeg", "-hide_banner", "-protocols").Output()
	if err != nil {
		t.Skipf("ffmpeg -protocols: %v", err)
	}
	// The input protocols are listed first, one a line, before "Output:".
	input, _, _ := strings.Cut(string(out), "Output:")
	have := map[string]bool{}
	for _, f := range strings.Fields(input) {
		have[f] = true
	}
	for _, n := range names {
		if !have[n] {
			t.Skipf("ffmpeg cannot read the %s protocol", n)
		}
	}
}

// FreePort returns a loopback port that was free a moment ago on network
// ("tcp" or "udp"), for a helper process that listens on a port it is
// given.
func FreePort(t testing.TB, network string) int {
	t.Helper()
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testenv: free port: %v", err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testenv: free port: %v", err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
}
