package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot %s has no go.mod: %v", root, err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv", "testenv.go")); err != nil {
		t.Fatalf("RepoRoot %s is not this repository: %v", root, err)
	}
}

// TestSharedDir runs each case in a subtest and records whether it got past
// the call: a skip ends the subtest before that.
func TestSharedDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "videos"), 0o750); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		env      string
		need     []string
		wantSkip bool
	}{
		{"present", dir, nil, false},
		{"need present", dir, []string{"videos"}, false},
		{"need absent", dir, []string{"videos", "catalog/products.csv"}, true},
		{"dir absent", filepath.Join(dir, "missing"), nil, true},
		{"not a dir", file, nil, true},
	} {
		var got string
		reached := false
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("VITRINE_TESTENV_DIR", tc.env)
			got = SharedDir(t, "VITRINE_TESTENV_DIR", "unused", tc.need...)
			reached = true
		})
		if reached == tc.wantSkip {
			t.Errorf("%s: returned %v, want skip %v", tc.name, reached, tc.wantSkip)
		}
		if reached && (got != tc.env || !filepath.IsAbs(got)) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.env)
		}
	}
}

func TestArtifactsDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv("VITRINE_ARTIFACTS", base)
	d := ArtifactsDir(t, "player")
	if d != filepath.Join(base, "player") {
		t.Fatalf("ArtifactsDir = %q", d)
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		t.Fatalf("ArtifactsDir not created: %v", err)
	}
}

func TestFFmpeg(t *testing.T) {
	NeedFFmpeg(t)
	out := filepath.Join(t.TempDir(), "red.png")
	FFmpeg(t, "-f", "lavfi", "-i", "color=red:size=16x8", "-frames:v", "1", out)
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("ffmpeg made no image: %v", err)
	}
}
