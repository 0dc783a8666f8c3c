package vision

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// DeepFashion2Detector names the known YOLOv5n garment detector trained on
// DeepFashion2 (13 garment classes).
//
// Its weights are AGPL-3.0 (trained with Ultralytics YOLOv5) and its
// training data is licensed for non-commercial research only, so it is in
// no default manifest, `vitrine models install` never fetches it, and Open
// loads it only when Options.GarmentDetector names it.
const DeepFashion2Detector = "yolov5n-deepfashion2"

// knownModels are model specs vision knows without a manifest entry. None
// is loaded unless named; a manifest entry of the same name replaces one.
var knownModels = []ModelSpec{{
	Name:   DeepFashion2Detector,
	File:   "yolov5n_deepfashion2_416.onnx",
	SHA256: "9ed768c4fa26f961f6e0277f7b4b993d276351ce4fb4cada77f686f4b270da54",
	Role:   RoleGarmentDetector,
	Format: FormatYOLOv5,
	Input: InputSpec{
		Name: "images", Width: 416, Height: 416, Batch: 1,
		Layout: "nchw", Channels: "rgb", Scale: 1.0 / 255,
		Resize: ResizeLetterboxCenter, Pad: 114,
	},
	Outputs: OutputSpec{Detections: "output0"},
	Classes: "builtin:deepfashion2",
	License: "AGPL-3.0 weights (Ultralytics YOLOv5); trained on DeepFashion2, licensed for non-commercial research only",
}}

// KnownModels returns the model specs vision knows besides its manifest.
// They are never loaded by default.
func KnownModels() []ModelSpec { return slices.Clone(knownModels) }

// Lookup returns the model with the given name from the manifest, else
// from KnownModels.
func (m *Manifest) Lookup(name string) (ModelSpec, bool) {
	if s, ok := m.Model(name); ok {
		return s, true
	}
	for _, s := range knownModels {
		if s.Name == name {
			return s, true
		}
	}
	return ModelSpec{}, false
}

// GarmentDetectorSpec returns the garment detector called name (see
// Lookup), or an error listing the garment detectors there are.
func (m *Manifest) GarmentDetectorSpec(name string) (ModelSpec, error) {
	s, ok := m.Lookup(name)
	if ok && s.Role == RoleGarmentDetector {
		return s, nil
	}
	var names []string
	for _, x := range append(slices.Clone(m.Models), knownModels...) {
		if x.Role == RoleGarmentDetector && !slices.Contains(names, x.Name) {
			names = append(names, x.Name)
		}
	}
	known := strings.Join(names, ", ")
	if !ok {
		return ModelSpec{}, fmt.Errorf("vision: no garment detector %q (known: %s)", name, known)
	}
	return ModelSpec{}, fmt.Errorf("vision: model %q is a %s, not a %s (known: %s)", name, s.Role, RoleGarmentDetector, known)
}

// OpenGarmentDetector loads the garment detector called name (see
// GarmentDetectorSpec) after checking its file against the spec's sha256.
// Its score threshold defaults to 0.25 and its NMS overlap to 0.45. The
// file is never downloaded: the operator installs it.
func OpenGarmentDetector(m *Manifest, name string, opts DetectorOptions) (*Detector, error) {
	s, err := m.GarmentDetectorSpec(name)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(m.Path(s.File)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("vision: garment detector %s: file %s is not installed (vitrine never downloads it; place it in the models directory): %w", s.Name, s.File, err)
		}
		return nil, fmt.Errorf("vision: garment detector %s: %w", s.Name, err)
	}
	if err := m.VerifySHA256(s); err != nil {
		return nil, err
	}
	if opts.ScoreThreshold <= 0 {
		opts.ScoreThreshold = 0.25
	}
	return OpenDetector(m, s, opts)
}
