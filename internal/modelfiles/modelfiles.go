// Package modelfiles installs and verifies model files: the files of the
// versioned manifest embedded from models.json (name, file, source, sha256,
// size, licence), copied from a directory or downloaded over HTTP with
// resumption, always checked against a sha256 before they are renamed into
// place.
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
)

// File is one file of an installed model set.
type File struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Model  string `json:"model"`
	URL    string `json:"url,omitempty"`
	// Optional: see Entry.Optional.
	Optional bool `json:"optional,omitempty"`
}

// Known returns the files of the default set of the embedded manifest
// (Default): the files vitrine loads, external-data files included.
func Known() []File {
	var out []File
	for _, e := range Default().Set(SetDefault) {
		out = append(out, File{Name: e.File, SHA256: e.SHA256, Model: e.Name, URL: e.URL, Optional: e.Optional})
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
	// MaxBytes caps one download of a file whose size the manifest does
	// not give.
	MaxBytes int64
	// Client fetches URLs; nil means http.DefaultClient.
	Client *http.Client
	// Progress, when set, is told of bytes written to each file.
	Progress func(file string, done, total int64)
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

// CopyEntries copies the given manifest entries from dir, verifying each.
// It is how opt-in files, which are never downloaded, are installed.
func (in *Installer) CopyEntries(ctx context.Context, dir string, es []Entry) error {
	for _, e := range es {
		if err := in.install(ctx, filepath.Join(dir, e.File), e.File, e.SHA256); err != nil {
			return err
		}
	}
	return nil
}

// Download fetches the given manifest entries from m (under base instead
// of the manifest's BaseURL when base is set) into Dir. Files already
// installed and intact are left alone; an interrupted download resumes
// from its partial file with an HTTP Range request. Opt-in entries are
// refused: vitrine never downloads them.
func (in *Installer) Download(ctx context.Context, m *Manifest, base string, es []Entry) error {
	for _, e := range es {
		if e.Set == SetOptIn {
			return fmt.Errorf("modelfiles: %s (%s) is opt-in and never downloaded; its licence: %s. Read it, then copy the file in with `vitrine models install %s --from DIR`", e.Name, e.File, e.License, e.Name)
		}
	}
	for _, e := range es {
		u, err := m.DownloadURL(e, base)
		if err != nil {
			return err
		}
		if err := in.download(ctx, u, e.File, e.SHA256, e.Size); err != nil {
			return err
		}
	}
	return nil
}

// InstallOne installs one file from a path or URL. sha256 is required unless
// the file name is a known one (then the manifest's digest is used and a
// different explicit digest is an error).
func (in *Installer) InstallOne(ctx context.Context, src, sha string) (File, error) {
	var name string
	if IsURL(src) {
		u, err := url.Parse(src)
		if err != nil {
			return File{}, fmt.Errorf("modelfiles: install %s: %w", src, err)
		}
		name = path.Base(u.Path)
	} else {
		name = filepath.Base(src)
	}
	if safeName(name) == "" {
		return File{}, fmt.Errorf("modelfiles: install %s: cannot tell the file name", src)
	}
	f := File{Name: name, SHA256: strings.ToLower(sha)}
	var size int64
	for _, k := range Default().Files {
		if k.File == name {
			if sha != "" && !strings.EqualFold(sha, k.SHA256) {
				return File{}, fmt.Errorf("modelfiles: install %s: --sha256 %s differs from the manifest's %s", name, sha, k.SHA256)
			}
			f = File{Name: k.File, SHA256: k.SHA256, Model: k.Name, URL: k.URL}
			size = k.Size
		}
	}
	if f.SHA256 == "" {
		return File{}, fmt.Errorf("modelfiles: install %s: unknown model file; give its --sha256", name)
	}
	if !isDigest(f.SHA256) {
		return File{}, fmt.Errorf("modelfiles: install %s: %q is not a sha256 hex digest", name, sha)
	}
	if IsURL(src) {
		return f, in.download(ctx, src, f.Name, f.SHA256, size)
	}
	return f, in.install(ctx, src, f.Name, f.SHA256)
}

// install copies the local file src to Dir/name through a temporary file
// that is renamed only after the checksum matched, so a bad copy never
// replaces a file.
func (in *Installer) install(ctx context.Context, src, name, sha string) error {
	if err := os.MkdirAll(in.Dir, 0o750); err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	dst := filepath.Join(in.Dir, name)
	if VerifyFile(dst, sha) == nil {
		return nil // already installed
	}
	r, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp(in.Dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, r})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(sha) {
		return fmt.Errorf("modelfiles: install %s: %w: got %s, want %s", name, ErrChecksum, got, sha)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	return nil
}

// PartName is the name of the partial download of a file in the models
// directory; it survives an interruption so the next run resumes it.
func PartName(file string) string { return "." + file + ".part" }

// maxAttempts bounds the requests of one download: a server that ignores
// or refuses the Range of a partial file gets one fresh request.
const maxAttempts = 2

// download fetches src into Dir/name. The bytes go to Dir/PartName(name);
// when that exists from an interrupted run, only the rest is requested
// (Range) and the hash continues over the bytes already there. The part
// is renamed into place only after its sha256 matched, and removed when
// it did not (or grew past size), so the next run starts afresh. size 0
// means unknown (then MaxBytes caps the download).
func (in *Installer) download(ctx context.Context, src, name, sha string, size int64) error {
	if err := os.MkdirAll(in.Dir, 0o750); err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	dst := filepath.Join(in.Dir, name)
	if VerifyFile(dst, sha) == nil {
		return nil // already installed
	}
	limit := size
	if limit <= 0 {
		if limit = in.MaxBytes; limit <= 0 {
			limit = 4 << 30
		}
	}
	partPath := filepath.Join(in.Dir, PartName(name))
	part, err := os.OpenFile(partPath, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	defer part.Close()
	var have int64
	defer func() {
		if have == 0 { // nothing worth resuming
			os.Remove(partPath)
		}
	}()
	h := sha256.New()
	have, err = io.Copy(h, part) // leaves the offset at the end
	if err != nil {
		return fmt.Errorf("modelfiles: install %s: read partial file: %w", name, err)
	}
	restart := func() error {
		h.Reset()
		have = 0
		if err := part.Truncate(0); err != nil {
			return err
		}
		_, err := part.Seek(0, io.SeekStart)
		return err
	}
	if have > limit {
		if err := restart(); err != nil {
			return fmt.Errorf("modelfiles: install %s: %w", name, err)
		}
	}
	for attempt := 0; attempt < maxAttempts && (size <= 0 || have < size); attempt++ {
		done, err := in.fetchRange(ctx, src, part, h, &have, limit, restart)
		if err != nil && have == 0 {
			return fmt.Errorf("modelfiles: install %s: %w", name, err)
		}
		if err != nil {
			return fmt.Errorf("modelfiles: install %s: %w (%d bytes kept in %s; run the command again to resume)", name, err, have, PartName(name))
		}
		if done {
			break
		}
	}
	if err := part.Sync(); err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	if have > limit {
		os.Remove(partPath)
		return fmt.Errorf("modelfiles: install %s: larger than the %d-byte limit", name, limit)
	}
	if size > 0 && have != size {
		return fmt.Errorf("modelfiles: install %s: got %d of %d bytes (kept in %s; run the command again to resume)", name, have, size, PartName(name))
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(sha) {
		os.Remove(partPath)
		return fmt.Errorf("modelfiles: install %s from %s: %w: got %s, want %s (the download was discarded)", name, src, ErrChecksum, got, sha)
	}
	if err := part.Close(); err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	if err := os.Rename(partPath, dst); err != nil {
		return fmt.Errorf("modelfiles: install %s: %w", name, err)
	}
	return nil
}

// fetchRange requests src from byte *have on and appends the answer to
// part. It reports done when the response ran to its end; false means the
// server refused the range and the part was restarted for another try.
func (in *Installer) fetchRange(ctx context.Context, src string, part *os.File, h io.Writer, have *int64, limit int64, restart func() error) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return false, err
	}
	from := *have
	if from > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
	}
	c := in.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && from > 0:
		if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", from)) {
			return false, fmt.Errorf("GET %s: Content-Range %q does not start at byte %d", src, resp.Header.Get("Content-Range"), from)
		}
	case resp.StatusCode == http.StatusOK:
		if from > 0 { // the server sends the whole file again
			if err := restart(); err != nil {
				return false, err
			}
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && from > 0:
		// The partial file is not a prefix of what is served now.
		return false, restart()
	default:
		return false, fmt.Errorf("GET %s: %s", src, resp.Status)
	}
	w := &progressWriter{w: io.MultiWriter(part, h), n: have, report: in.Progress, name: path.Base(src), total: limit}
	_, err = io.Copy(w, io.LimitReader(resp.Body, limit-*have+1))
	return err == nil, err
}

type progressWriter struct {
	w      io.Writer
	n      *int64
	report func(string, int64, int64)
	name   string
	total  int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	*p.n += int64(n)
	if p.report != nil {
		p.report(p.name, *p.n, p.total)
	}
	return n, err
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// ErrMissing means a model file the default set needs is not installed.
var ErrMissing = errors.New("not installed")

// Check verifies every file of the default set in dir and returns one error
// naming each missing or corrupt file and the command that fixes it. A
// missing optional file is no error (its feature is off).
func Check(dir string) error {
	var bad []string
	var first error
	for _, f := range Known() {
		err := VerifyFile(filepath.Join(dir, f.Name), f.SHA256)
		switch {
		case err == nil:
			continue
		case f.Optional && errors.Is(err, os.ErrNotExist):
			continue
		case errors.Is(err, os.ErrNotExist):
			bad = append(bad, f.Name+" is missing")
			if first == nil {
				first = ErrMissing
			}
		case errors.Is(err, ErrChecksum):
			bad = append(bad, f.Name+" is corrupt (sha256 mismatch)")
			if first == nil {
				first = ErrChecksum
			}
		default:
			bad = append(bad, fmt.Sprintf("%s: %v", f.Name, err))
			if first == nil {
				first = err
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("models in %s: %s: %w; run `vitrine models install` to install the default models (or `vitrine models install --from DIR` from a local copy)", dir, strings.Join(bad, ", "), first)
}
