package vision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Options configure Open.
type Options struct {
	// ModelsDir holds the model files (and optionally vitrine-models.json).
	ModelsDir string
	// Manifest overrides the manifest found in ModelsDir.
	Manifest *Manifest
	// RuntimeLib is the ONNX Runtime library path (see FindRuntimeLibrary).
	RuntimeLib string
	// Threads is the intra-op thread count of every session (0: one per core).
	Threads int
	// Runs is how many runs of each session may execute at once (default
	// 1); see SessionOptions.Runs.
	Runs int
	// Detector tunes detection; its SessionOptions.Threads defaults to Threads.
	Detector DetectorOptions
	// Verify checks each model file against its manifest sha256 before loading.
	Verify bool
	// GarmentDetector names the opt-in garment detector to load (a
	// garment_detector of the manifest or of KnownModels); empty loads
	// none. It takes its SessionOptions from Threads and Runs and scores
	// from 0.25 (OpenGarmentDetector).
	GarmentDetector string
	// Skip* leave a model unloaded.
	SkipDetector, SkipEmbedder, SkipAppearance bool
	// Logger receives load messages (nil: discarded).
	Logger *slog.Logger
}

// Models is the set of loaded models. Fields are nil when the manifest has
// no model of that role or it was skipped.
type Models struct {
	Manifest   *Manifest
	Detector   *Detector
	Embedder   *ImageEmbedder
	Appearance *ImageEmbedder
	Text       *TextEncoder
	Garments   *GarmentLabeler
	// GarmentDetector is the opt-in garment detector, nil unless
	// Options.GarmentDetector named one.
	GarmentDetector *Detector
}

// DefaultModelsDir returns $VITRINE_MODELS, else ../shared/models relative to
// the module root containing the working directory when it exists, else "".
func DefaultModelsDir() string {
	if d := os.Getenv("VITRINE_MODELS"); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		if root, ok := moduleRoot(wd); ok {
			d := filepath.Join(root, "..", "shared", "models")
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				return d
			}
		}
	}
	return ""
}

// Open initialises the runtime and loads the first model of each role from
// the manifest. Close releases them.
func Open(ctx context.Context, o Options) (*Models, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := o.Manifest
	if m == nil {
		var err error
		if m, err = LoadManifest(o.ModelsDir); err != nil {
			return nil, err
		}
	} else if m.Dir() == "" {
		m.SetDir(o.ModelsDir)
	}
	if err := InitRuntime(o.RuntimeLib); err != nil {
		return nil, err
	}
	log.Info("vision: runtime ready", "int8_kernels", Int8Kernels())
	so := SessionOptions{Threads: o.Threads, Runs: o.Runs}
	ms := &Models{Manifest: m}
	ok := false
	defer func() {
		if !ok {
			ms.Close()
		}
	}()
	load := func(r Role) (ModelSpec, bool, error) {
		s, found := m.First(r)
		if !found {
			return s, false, nil
		}
		if err := ctx.Err(); err != nil {
			return s, false, err
		}
		if _, err := os.Stat(m.Path(s.File)); err != nil {
			return s, false, fmt.Errorf("vision: model %s: %w (install it with `vitrine models install` or set VITRINE_MODELS)", s.Name, err)
		}
		if o.Verify {
			if err := m.VerifySHA256(s); err != nil {
				return s, false, err
			}
		}
		log.Info("vision: loading model", "name", s.Name, "role", s.Role, "file", s.File)
		return s, true, nil
	}
	var err error
	if !o.SkipDetector {
		s, found, err := load(RoleDetector)
		if err != nil {
			return nil, err
		}
		if found {
			do := o.Detector
			if do.Threads == 0 {
				do.Threads = o.Threads
			}
			if do.Runs == 0 {
				do.Runs = o.Runs
			}
			if ms.Detector, err = OpenDetector(m, s, do); err != nil {
				return nil, err
			}
		}
	}
	if !o.SkipEmbedder {
		s, found, err := load(RoleImageEmbedder)
		if err != nil {
			return nil, err
		}
		if found {
			if ms.Embedder, err = OpenImageEmbedder(m, s, so); err != nil {
				return nil, err
			}
			if s.TextModel != "" {
				ts, _ := m.Model(s.TextModel)
				if ms.Text, err = OpenTextEncoder(m, ts, so); err != nil {
					return nil, err
				}
			}
		}
	}
	if !o.SkipAppearance {
		s, found, err := load(RoleAppearance)
		if err != nil {
			return nil, err
		}
		if found {
			if ms.Appearance, err = OpenImageEmbedder(m, s, so); err != nil {
				return nil, err
			}
		}
	}
	if ms.Embedder != nil {
		if ms.Garments, err = NewGarmentLabeler(m, ms.Embedder, ms.Text); err != nil {
			return nil, err
		}
	}
	if o.GarmentDetector != "" {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		log.Info("vision: loading opt-in garment detector", "name", o.GarmentDetector)
		if ms.GarmentDetector, err = OpenGarmentDetector(m, o.GarmentDetector, DetectorOptions{SessionOptions: so}); err != nil {
			return nil, err
		}
		log.Info("vision: garment detector loaded", "name", o.GarmentDetector, "license", ms.GarmentDetector.Spec().License)
	}
	ok = true
	return ms, nil
}

// ErrNoTextEncoder means the manifest pairs no text encoder with the image
// embedder, so text can only be matched through class labels
// (GarmentLabeler.QueryScore) or the database's full-text search.
var ErrNoTextEncoder = errors.New("vision: no text encoder installed")

// EmbedTexts embeds texts into the image embedding space, or returns
// ErrNoTextEncoder.
func (ms *Models) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	if ms.Text == nil {
		return nil, ErrNoTextEncoder
	}
	return ms.Text.EmbedTexts(ctx, texts)
}

// Close releases every loaded model.
func (ms *Models) Close() error {
	var errs []error
	if ms.Detector != nil {
		errs = append(errs, ms.Detector.Close())
	}
	if ms.Embedder != nil {
		errs = append(errs, ms.Embedder.Close())
	}
	if ms.Appearance != nil {
		errs = append(errs, ms.Appearance.Close())
	}
	if ms.Text != nil {
		errs = append(errs, ms.Text.Close())
	}
	if ms.GarmentDetector != nil {
		errs = append(errs, ms.GarmentDetector.Close())
	}
	return errors.Join(errs...)
}
