// Package modelfiles installs and verifies model files: the files of the
// vision package's default manifest (plus their external-data files), copied
// from a directory or downloaded from a URL, always checked against a sha256.
package modelfiles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/vision"
)

// File is one file of an installed model set.
type File struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Model  string `json:"model"`
	URL    string `json:"url,omitempty"`
}

// externalData lists weight files that ONNX models load from beside
// themselves; they must be installed with the same name next to the model.
var externalData = map[string]File{
	"osnet_x0_25_msmt17.onnx": {Name: "osnet_x0_25_msmt17.onnx.data", SHA256: "0d5bc963c38694ff9eeae12c4bbc8aa150f73452b4db367e7c75e8cc18c7654a"},
}

// Known returns the files of the default model manifest.
func Known() []File {
	var out []File
	for _, m := range vision.DefaultManifest().Models {
		out = append(out, File{Name: m.File, SHA256: strings.ToLower(m.SHA256), Model: m.Name, URL: m.URL})
		if d, ok := externalData[m.File]; ok {
			d.Model = m.Name
			out = append(out, d)
		}
	}
	return out
}

// ErrChecksum means a file's content does not match its sha256.
var ErrChecksum = errors.New("sha256 mismatch")

// VerifyFile checks that the file at p has the given sha256 (hex).
func VerifyFile(p, want string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("modelfiles: verify %s: %w", p, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("modelfiles: verify %s: %w", p, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("modelfiles: verify %s: %w: got %s, want %s", p, ErrChecksum, got, want)
	}
	return nil
}

// Installer copies or downloads model files into Dir.
type Installer struct {
	Dir string
	// MaxBytes caps one download.
	MaxBytes int64
	// Client fetches URLs; nil means http.DefaultClient.
	Client *http.Client
}

// IsURL reports whether src is an http(s) URL rather than a path.
func IsURL(src string) bool {
	return strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
}

// InstallDir copies every known file found in dir, verifying each; it fails
// when a file is missing or does not match.
func (in *Installer) InstallDir(ctx context.Context, dir string) ([]File, error) {
	var done []File
	for _, f := range Known() {
		if err := in.install(ctx, filepath.Join(dir, f.Name), f.Name, f.SHA256); err != nil {
			return done, err
		}
		done = append(done, f)
	}
	return done, nil
}

// InstallOne installs one file from a path or URL. sha256 is required unless
// the file name is a known one (then the manifest's digest is used and a
// different explicit digest is an error).
func (in *Installer) InstallOne(ctx context.Context, src, sha string) (File, error) {
	name := path.Base(src)
	if IsURL(src) {
		u, err := url.Parse(src)
		if err != nil {
			return File{}, fmt.Errorf("modelfiles: install %s: %w", src, err)
		}
		name = path.Base(u.Path)
	} else {
		name = filepath.Base(src)
	}
	if name == "" || name == "." || name == "/" || strings.HasPrefix(name, ".") {
		return File{}, fmt.Errorf("modelfiles: install %s: cannot tell the file name", src)
	}
	f := File{Name: name, SHA256: strings.ToLower(sha)}
	for _, k := range Known() {
		if k.Name == name {
			if sha != "" && !strings.EqualFold(sha, k.SHA256) {
				return File{}, fmt.Errorf("modelfiles: install %s: --sha256 %s differs from the manifest's %s", name, sha, k.SHA256)
			}
			f = k
		}
	}
	if f.SHA256 == "" {
		return File{}, fmt.Errorf("modelfiles: install %s: unknown model file; give its --sha256", name)
	}
	if len(f.SHA256) != 64 || strings.Trim(f.SHA256, "0123456789abcdef") != "" {
		return File{}, fmt.Errorf("modelfiles: install %s: %q is not a sha256 hex digest", name, sha)
	}
	return f, in.install(ctx, src, f.Name, f.SHA256)
}

// install writes src to Dir/name through a temporary file that is renamed
// only after the checksum matched, so a bad download never replaces a file.
func (in *Installer) install(ctx context.Context, src, name, sha string) error {
	if err := os.MkdirAll(in.Dir, 0o750); err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	dst := filepath.Join(in.Dir, name)
	if VerifyFile(dst, sha) == nil {
		return nil // already installed
	}
	r, err := in.open(ctx, src)
	if err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp(in.Dir, "."+name+".*.part")
	if err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	max := in.MaxBytes
	if max <= 0 {
		max = 4 << 30
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, max+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	if n > max {
		return fmt.Errorf("modelfiles: install %s: larger than the %d-byte limit", name, max)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(sha) {
		return fmt.Errorf("modelfiles: install %s: %w: got %s, want %s", name, ErrChecksum, got, sha)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	return nil
}

func (in *Installer) open(ctx context.Context, src string) (io.ReadCloser, error) {
	if !IsURL(src) {
		return os.Open(src)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	c := in.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", src, resp.Status)
	}
	return resp.Body, nil
}
