package vision

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ErrRuntimeMissing means the ONNX Runtime shared library was not found.
var ErrRuntimeMissing = errors.New("ONNX Runtime library not found (run scripts/setup.sh, or set VITRINE_ORT_LIB to the path of libonnxruntime.so.1)")

// runtimeLibRel is where scripts/setup.sh installs the library.
var runtimeLibRel = filepath.Join(".deps", "onnxruntime", "libonnxruntime.so.1")

var systemLibDirs = []string{"/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/opt/onnxruntime/lib"}

// FindRuntimeLibrary returns the ONNX Runtime library to load, in order of
// preference: explicit (if non-empty), $VITRINE_ORT_LIB,
// .deps/onnxruntime/libonnxruntime.so.1 relative to the working directory,
// to the enclosing module root, or next to the executable, and finally the
// usual system library directories.
func FindRuntimeLibrary(explicit string) (string, error) {
	if explicit != "" {
		if fileExists(explicit) {
			return explicit, nil
		}
		return "", fmt.Errorf("vision: runtime library %q: %w", explicit, ErrRuntimeMissing)
	}
	if env := os.Getenv("VITRINE_ORT_LIB"); env != "" {
		if fileExists(env) {
			return env, nil
		}
		return "", fmt.Errorf("vision: VITRINE_ORT_LIB=%q does not exist: %w", env, ErrRuntimeMissing)
	}
	var cands []string
	if wd, err := os.Getwd(); err == nil {
		cands = append(cands, filepath.Join(wd, runtimeLibRel))
		if root, ok := moduleRoot(wd); ok {
			cands = append(cands, filepath.Join(root, runtimeLibRel))
		}
	}
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		cands = append(cands, filepath.Join(dir, runtimeLibRel), filepath.Join(dir, "libonnxruntime.so.1"))
	}
	for _, d := range systemLibDirs {
		cands = append(cands, filepath.Join(d, "libonnxruntime.so.1"), filepath.Join(d, "libonnxruntime.so"))
	}
	for _, c := range cands {
		if fileExists(c) {
			return c, nil
		}
	}
	return "", fmt.Errorf("vision: looked in %d places: %w", len(cands), ErrRuntimeMissing)
}

// moduleRoot walks up from dir to the first directory holding go.mod.
func moduleRoot(dir string) (string, bool) {
	for {
		if fileExists(filepath.Join(dir, "go.mod")) {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

var runtimeState struct {
	sync.Mutex
	path string
}

// InitRuntime loads the ONNX Runtime library once per process (see
// FindRuntimeLibrary for libPath). Later calls are no-ops that return nil;
// the environment is process-wide, so the first successful path wins.
func InitRuntime(libPath string) error {
	runtimeState.Lock()
	defer runtimeState.Unlock()
	if ort.IsInitialized() {
		return nil
	}
	p, err := FindRuntimeLibrary(libPath)
	if err != nil {
		return err
	}
	ort.SetSharedLibraryPath(p)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("vision: initialise ONNX Runtime from %s: %w", p, err)
	}
	runtimeState.path = p
	return nil
}

// RuntimeLibrary returns the path of the loaded ONNX Runtime library, or ""
// before InitRuntime succeeded.
func RuntimeLibrary() string {
	runtimeState.Lock()
	defer runtimeState.Unlock()
	return runtimeState.path
}
