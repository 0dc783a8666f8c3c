package vision

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ManifestFile is the name of a manifest placed next to the model files; when
// present it replaces the embedded default manifest.
const ManifestFile = "vitrine-models.json"

// Role says what a model is used for.
type Role string

// Model roles.
const (
	RoleDetector      Role = "detector"
	RoleImageEmbedder Role = "image_embedder"
	RoleTextEmbedder  Role = "text_embedder"
	RoleAppearance    Role = "appearance"
	// RoleGarmentDetector is a detector of garment classes that Open loads
	// only when Options.GarmentDetector names it: the known one has weights
	// whose terms rule out default use (see KnownModels).
	RoleGarmentDetector Role = "garment_detector"
)

// Detector output formats.
const (
	// FormatYOLOX is [1, N, 5+nc]: raw grid offsets, objectness and class
	// scores (sigmoided), decoded with strides.
	FormatYOLOX = "yolox"
	// FormatYOLOv8 is [1, 4+nc, N]: cx, cy, w, h in input pixels and class
	// scores (sigmoided), no objectness.
	FormatYOLOv8 = "yolov8"
	// FormatYOLOv5 is [1, N, 5+nc]: cx, cy, w, h in input pixels (grid
	// decoding inside the graph), objectness and class probabilities
	// (sigmoided); score = objectness x class probability.
	FormatYOLOv5 = "yolov5"
)

// Resize modes of InputSpec.Resize.
const (
	ResizeLetterboxTopLeft    = "letterbox-topleft"
	ResizeLetterboxCenter     = "letterbox-center"
	ResizeStretch             = "resize"
	ResizeShortSideCenterCrop = "shortside-centercrop"
)

// Manifest lists the models vision can load and what it does with them.
type Manifest struct {
	// Models in any order; Open picks the first of each role unless told
	// otherwise.
	Models []ModelSpec `json:"models"`
	// ShoppableClasses are detector labels that are products by themselves
	// (handbag, backpack, tie, ...). Person boxes are handled by garments.
	ShoppableClasses []string `json:"shoppable_classes"`
	// Garments configures how person boxes become garment regions.
	Garments GarmentSpec `json:"garments"`

	dir string // directory relative paths resolve against
}

// GarmentSpec configures garment labelling of person boxes.
type GarmentSpec struct {
	// PersonClass is the detector label of people ("person").
	PersonClass string `json:"person_class"`
	// ApparelTable maps classifier classes to garment labels: "builtin:imagenet-apparel"
	// or a TSV file (class index, label, comma-separated region kinds).
	ApparelTable string `json:"apparel_table"`
	// MinScore is the probability mass a region's best garment label needs
	// to be kept.
	MinScore float32 `json:"min_score"`
	// Prompts are the zero-shot text prompts used when a text encoder is
	// available: label -> prompt text.
	Prompts map[string]string `json:"prompts,omitempty"`
}

// ModelSpec describes one ONNX model file and its pre/post-processing.
type ModelSpec struct {
	Name   string `json:"name"`
	File   string `json:"file"`
	SHA256 string `json:"sha256,omitempty"`
	Role   Role   `json:"role"`
	// Format is the detector output format (FormatYOLOX, FormatYOLOv8,
	// FormatYOLOv5).
	Format  string     `json:"format,omitempty"`
	Input   InputSpec  `json:"input"`
	Outputs OutputSpec `json:"outputs"`
	// EmbeddingDim is the length of the embedding vector.
	EmbeddingDim int `json:"embedding_dim,omitempty"`
	// Classes names the class list: "builtin:coco80", "builtin:imagenet1k",
	// "builtin:deepfashion2", or a text file (one name per line) relative to the manifest.
	Classes string `json:"classes,omitempty"`
	// Strides of the YOLOX grid, smallest first.
	Strides []int `json:"strides,omitempty"`
	// Tokenizer of a text encoder.
	Tokenizer *TokenizerSpec `json:"tokenizer,omitempty"`
	// TextModel names the text encoder paired with an image embedder (same
	// embedding space, CLIP-style).
	TextModel string `json:"text_model,omitempty"`
	// URL is where `vitrine models install` fetches the file from.
	URL string `json:"url,omitempty"`
	// License of the weights, for the user's information.
	License string `json:"license,omitempty"`
}

// InputSpec describes the model input and its preprocessing.
type InputSpec struct {
	Name string `json:"name"`
	// Width and Height of image inputs.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Batch is the fixed batch size the graph accepts; 0 means dynamic.
	Batch int `json:"batch"`
	// Layout is "nchw" (default) or "nhwc".
	Layout string `json:"layout,omitempty"`
	// Channels is "rgb" or "bgr".
	Channels string `json:"channels,omitempty"`
	// Scale multiplies 0..255 pixel values (1/255 for 0..1 inputs).
	Scale float32 `json:"scale"`
	// Mean and Std are applied after Scale: (v*scale - mean) / std.
	Mean []float32 `json:"mean,omitempty"`
	Std  []float32 `json:"std,omitempty"`
	// Resize is one of the Resize* modes.
	Resize string `json:"resize,omitempty"`
	// Pad is the fill value (0..255) of letterbox borders.
	Pad uint8 `json:"pad,omitempty"`
	// CropRatio of shortside-centercrop (224/256 = 0.875 when zero).
	CropRatio float32 `json:"crop_ratio,omitempty"`
	// Trim, for a letterbox-topleft detector input, runs the model on the
	// letterboxed image rounded up to this multiple of pixels (the
	// largest stride) instead of the whole Width x Height canvas, whose
	// padding a non-square image leaves idle: a portrait video frame
	// fills 234 of 416 columns. The graph's fixed spatial dimensions are
	// made symbolic when it is loaded (see spatialDims); the network must
	// be fully convolutional, which OpenDetector checks. 0 runs the whole
	// canvas.
	Trim int `json:"trim,omitempty"`
	// AttentionMask names a text encoder's optional mask input.
	AttentionMask string `json:"attention_mask,omitempty"`
}

// OutputSpec names the model outputs vision reads.
type OutputSpec struct {
	Detections string `json:"detections,omitempty"`
	Embedding  string `json:"embedding,omitempty"`
	Logits     string `json:"logits,omitempty"`
}

// TokenizerSpec describes a text encoder's tokenizer.
type TokenizerSpec struct {
	// Kind is "clip-bpe" (vocab.json + merges.txt).
	Kind   string `json:"kind"`
	Vocab  string `json:"vocab"`
	Merges string `json:"merges"`
	// ContextLength is the token sequence length the model takes (77 for CLIP).
	ContextLength int `json:"context_length"`
	// PadID fills positions after the end token (0 for OpenAI CLIP).
	PadID int `json:"pad_id"`
}

//go:embed manifest.default.json
var defaultManifestJSON []byte

//go:embed labels/coco80.txt
var coco80Text string

//go:embed labels/imagenet1k.txt
var imagenetText string

//go:embed labels/deepfashion2.txt
var deepfashion2Text string

//go:embed labels/imagenet_apparel.tsv
var apparelTSV string

// DefaultManifest returns the embedded manifest for the shipped models.
func DefaultManifest() *Manifest {
	m, err := ParseManifest(bytes.NewReader(defaultManifestJSON))
	if err != nil {
		panic("vision: embedded manifest is invalid: " + err.Error()) // a build defect, caught by tests
	}
	return m
}

// LoadManifest returns the manifest for the models in dir: dir/vitrine-models.json
// when it exists, otherwise the embedded default. Relative file names in
// the manifest resolve against dir.
func LoadManifest(dir string) (*Manifest, error) {
	p := filepath.Join(dir, ManifestFile)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		m := DefaultManifest()
		m.dir = dir
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vision: open manifest: %w", err)
	}
	defer f.Close()
	m, err := ParseManifest(f)
	if err != nil {
		return nil, fmt.Errorf("vision: manifest %s: %w", p, err)
	}
	m.dir = dir
	return m, nil
}

// ParseManifest reads and validates a manifest from JSON. Unknown fields
// are an error so that typos do not silently change behaviour.
func ParseManifest(r io.Reader) (*Manifest, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Dir is the directory model files resolve against.
func (m *Manifest) Dir() string { return m.dir }

// SetDir sets the directory model files resolve against.
func (m *Manifest) SetDir(dir string) { m.dir = dir }

// Validate checks that every model is usable as described.
func (m *Manifest) Validate() error {
	seen := map[string]bool{}
	for i, s := range m.Models {
		if s.Name == "" {
			return fmt.Errorf("model %d: missing name", i)
		}
		if seen[s.Name] {
			return fmt.Errorf("model %q: duplicate name", s.Name)
		}
		seen[s.Name] = true
		if err := s.validate(); err != nil {
			return fmt.Errorf("model %q: %w", s.Name, err)
		}
	}
	for _, s := range m.Models {
		if s.TextModel != "" {
			t, ok := m.Model(s.TextModel)
			if !ok || t.Role != RoleTextEmbedder {
				return fmt.Errorf("model %q: text_model %q is not a text_embedder in the manifest", s.Name, s.TextModel)
			}
		}
	}
	return nil
}

func (s ModelSpec) validate() error {
	if s.File == "" {
		return errors.New("missing file")
	}
	if s.Input.Name == "" {
		return errors.New("missing input.name")
	}
	switch s.Role {
	case RoleDetector, RoleGarmentDetector:
		if s.Format != FormatYOLOX && s.Format != FormatYOLOv8 && s.Format != FormatYOLOv5 {
			return fmt.Errorf("detector format %q: want %q, %q or %q", s.Format, FormatYOLOX, FormatYOLOv8, FormatYOLOv5)
		}
		if s.Outputs.Detections == "" {
			return errors.New("missing outputs.detections")
		}
		if s.Classes == "" {
			return errors.New("missing classes")
		}
	case RoleImageEmbedder, RoleAppearance:
		if s.Outputs.Embedding == "" {
			return errors.New("missing outputs.embedding")
		}
	case RoleTextEmbedder:
		if s.Outputs.Embedding == "" {
			return errors.New("missing outputs.embedding")
		}
		if s.Tokenizer == nil || s.Tokenizer.Kind != "clip-bpe" {
			return errors.New(`text_embedder needs tokenizer of kind "clip-bpe"`)
		}
		if s.Tokenizer.ContextLength <= 0 {
			return errors.New("tokenizer.context_length must be positive")
		}
		return nil
	default:
		return fmt.Errorf("unknown role %q", s.Role)
	}
	in := s.Input
	if in.Width <= 0 || in.Height <= 0 {
		return fmt.Errorf("input size %dx%d", in.Width, in.Height)
	}
	if in.Batch < 0 {
		return fmt.Errorf("input.batch %d", in.Batch)
	}
	if !slices.Contains([]string{"", "nchw", "nhwc"}, in.Layout) {
		return fmt.Errorf("input.layout %q", in.Layout)
	}
	if !slices.Contains([]string{"", "rgb", "bgr"}, in.Channels) {
		return fmt.Errorf("input.channels %q", in.Channels)
	}
	if !slices.Contains([]string{ResizeLetterboxTopLeft, ResizeLetterboxCenter, ResizeStretch, ResizeShortSideCenterCrop}, in.Resize) {
		return fmt.Errorf("input.resize %q", in.Resize)
	}
	if in.Trim < 0 || in.Trim > 0 && (in.Resize != ResizeLetterboxTopLeft || s.Role != RoleDetector && s.Role != RoleGarmentDetector) {
		return fmt.Errorf("input.trim %d: only a detector with letterbox-topleft resize can be trimmed", in.Trim)
	}
	if in.Scale == 0 {
		return errors.New("input.scale must be set (1 for 0..255, 0.00392157 for 0..1)")
	}
	if len(in.Mean) != 0 && len(in.Mean) != 3 || len(in.Std) != 0 && len(in.Std) != 3 {
		return errors.New("input.mean and input.std need 3 values")
	}
	for _, v := range in.Std {
		if v == 0 {
			return errors.New("input.std has a zero")
		}
	}
	return nil
}

// Model returns the model with the given name.
func (m *Manifest) Model(name string) (ModelSpec, bool) {
	for _, s := range m.Models {
		if s.Name == name {
			return s, true
		}
	}
	return ModelSpec{}, false
}

// First returns the first model of a role.
func (m *Manifest) First(r Role) (ModelSpec, bool) {
	for _, s := range m.Models {
		if s.Role == r {
			return s, true
		}
	}
	return ModelSpec{}, false
}

// Path resolves a file named in the manifest.
func (m *Manifest) Path(file string) string {
	if filepath.IsAbs(file) || m.dir == "" {
		return file
	}
	return filepath.Join(m.dir, file)
}

// VerifySHA256 checks a model file against its manifest digest; a spec
// without a digest passes.
func (m *Manifest) VerifySHA256(s ModelSpec) error {
	if s.SHA256 == "" {
		return nil
	}
	f, err := os.Open(m.Path(s.File))
	if err != nil {
		return fmt.Errorf("vision: verify %s: %w", s.Name, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("vision: verify %s: %w", s.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, s.SHA256) {
		return fmt.Errorf("vision: verify %s: sha256 %s, manifest says %s", s.Name, got, s.SHA256)
	}
	return nil
}

// ClassNames returns the display names of a model's classes (the first
// synonym for ImageNet).
func (m *Manifest) ClassNames(s ModelSpec) ([]string, error) {
	full, err := m.classSynonyms(s.Classes)
	if err != nil {
		return nil, fmt.Errorf("vision: classes of %s: %w", s.Name, err)
	}
	out := make([]string, len(full))
	for i, syn := range full {
		out[i] = syn[0]
	}
	return out, nil
}

// classSynonyms returns, per class, its comma-separated synonyms.
func (m *Manifest) classSynonyms(ref string) ([][]string, error) {
	var text string
	wnid := false
	switch ref {
	case "":
		return nil, nil
	case "builtin:coco80":
		text = coco80Text
	case "builtin:imagenet1k":
		text, wnid = imagenetText, true
	case "builtin:deepfashion2":
		text = deepfashion2Text
	default:
		b, err := os.ReadFile(m.Path(ref))
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	var out [][]string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if wnid {
			_, line, _ = strings.Cut(line, " ")
		}
		var syn []string
		for _, p := range strings.Split(line, ",") {
			if p = strings.TrimSpace(p); p != "" {
				syn = append(syn, p)
			}
		}
		out = append(out, syn)
	}
	return out, sc.Err()
}
