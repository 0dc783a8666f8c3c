package catalog

import (
	"os"
	"path/filepath"
	"testing"
)

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// sharedDir returns $env or ../shared/<def> relative to the repo root, and
// skips the test when it does not exist.
func sharedDir(t testing.TB, env, def string) string {
	t.Helper()
	d := os.Getenv(env)
	if d == "" {
		d = filepath.Join(repoRoot(t), "..", "shared", def)
	}
	if _, err := os.Stat(d); err != nil {
		t.Skipf("%s not available (set %s): %v", d, env, err)
	}
	return d
}

func samplesDir(t testing.TB) string { return sharedDir(t, "VITRINE_SAMPLES", "data") }
func modelsDir(t testing.TB) string  { return sharedDir(t, "VITRINE_MODELS", "models") }
