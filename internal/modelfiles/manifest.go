package modelfiles

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
)

// Sets of Entry.Set.
const (
	// SetDefault files are what vitrine loads; `vitrine models install`
	// with no name installs them.
	SetDefault = "default"
	// SetExtra files are permissively licensed but unused by default;
	// they are installed only when named.
	SetExtra = "extra"
	// SetOptIn files have terms that rule out default use (the AGPL
	// garment detector): vitrine never downloads them, the operator copies
	// them in with --from after reading the licence.
	SetOptIn = "opt-in"
)

// Manifest is the versioned list of model files vitrine knows: where each
// comes from, its digest, size and licence.
type Manifest struct {
	// Version increases when a file changes; BaseURL names it.
	Version int `json:"version"`
	// BaseURL is where files without their own URL are downloaded from
	// (BaseURL + File).
	BaseURL string  `json:"base_url"`
	Files   []Entry `json:"files"`
}

// Entry is one file of the manifest.
type Entry struct {
	// Name is the model's name; a model with external weights has two
	// entries of the same name.
	Name   string `json:"name"`
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Set is SetDefault, SetExtra or SetOptIn.
	Set string `json:"set"`
	// Optional marks a default file whose absence only turns a feature
	// off (XFeat: local-feature verification); installed by default all
	// the same, and a corrupt copy is still an error.
	Optional    bool   `json:"optional,omitempty"`
	License     string `json:"license"`
	Source      string `json:"source"`
	Description string `json:"description"`
	// URL overrides BaseURL + File for this file.
	URL string `json:"url,omitempty"`
}

//go:embed models.json
var manifestJSON []byte

// Default returns the manifest embedded in the binary.
func Default() *Manifest {
	m, err := ParseManifest(bytes.NewReader(manifestJSON))
	if err != nil {
		panic("modelfiles: embedded manifest is invalid: " + err.Error()) // a build defect, caught by tests
	}
	return m
}

// ParseManifest reads and checks a manifest; unknown fields are errors.
func ParseManifest(r io.Reader) (*Manifest, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("modelfiles: parse manifest: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("modelfiles: manifest: %w", err)
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	if m.Version <= 0 {
		return errors.New("version must be positive")
	}
	files := map[string]bool{}
	for i, e := range m.Files {
		switch {
		case e.Name == "" || e.File == "":
			return fmt.Errorf("file %d: name and file are required", i)
		case e.File != safeName(e.File):
			return fmt.Errorf("file %q: not a plain file name", e.File)
		case files[e.File]:
			return fmt.Errorf("file %q: listed twice", e.File)
		case !isDigest(e.SHA256):
			return fmt.Errorf("file %q: sha256 %q is not 64 lower-case hex digits", e.File, e.SHA256)
		case e.Size <= 0:
			return fmt.Errorf("file %q: size must be positive", e.File)
		case !slices.Contains([]string{SetDefault, SetExtra, SetOptIn}, e.Set):
			return fmt.Errorf("file %q: set %q (want %s, %s or %s)", e.File, e.Set, SetDefault, SetExtra, SetOptIn)
		case e.License == "":
			return fmt.Errorf("file %q: licence missing", e.File)
		}
		files[e.File] = true
	}
	return nil
}

// safeName returns the base name of a file name, refusing anything that
// could leave the models directory.
func safeName(s string) string {
	if s == "" || strings.ContainsAny(s, `/\`) || strings.HasPrefix(s, ".") {
		return ""
	}
	return s
}

func isDigest(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// Set returns the entries of one set, in manifest order.
func (m *Manifest) Set(set string) []Entry {
	var out []Entry
	for _, e := range m.Files {
		if e.Set == set {
			out = append(out, e)
		}
	}
	return out
}

// Select returns the entries of the named models (every file of each), or
// the default set when names is empty.
func (m *Manifest) Select(names []string) ([]Entry, error) {
	if len(names) == 0 {
		return m.Set(SetDefault), nil
	}
	var out []Entry
	for _, n := range names {
		var found bool
		for _, e := range m.Files {
			if e.Name == n || e.File == n {
				out = append(out, e)
				found = true
			}
		}
		if !found {
			var known []string
			for _, e := range m.Files {
				if !slices.Contains(known, e.Name) {
					known = append(known, e.Name)
				}
			}
			return nil, fmt.Errorf("modelfiles: no model %q in the manifest (known: %s)", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// DownloadURL is where e is fetched from: its own URL, else base + File,
// where base is the given override or else the manifest's BaseURL.
func (m *Manifest) DownloadURL(e Entry, base string) (string, error) {
	if e.URL != "" && base == "" {
		return e.URL, nil
	}
	if base == "" {
		base = m.BaseURL
	}
	if base == "" {
		return "", fmt.Errorf("modelfiles: %s: the manifest has no download URL", e.File)
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/") + "/")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("modelfiles: base URL %q: want an http(s) URL", base)
	}
	return u.JoinPath(e.File).String(), nil
}
