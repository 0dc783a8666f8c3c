package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/vitrine-dev/vitrine/internal/catalog/catvision"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/crypt"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/review"
	"github.com/vitrine-dev/vitrine/internal/video"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// newVideo builds the video analysis service; its models load on first use
// and matching uses the installation's catalog. The webhook is configured
// by VITRINE_WEBHOOK_URL and VITRINE_WEBHOOK_SECRET.
func newVideo(a *App) (*video.Service, error) {
	// A misnamed garment detector stops the start, not the first analysis.
	if _, err := a.garmentDetector(); err != nil {
		return nil, err
	}
	load := func(ctx context.Context) (*video.Models, error) {
		vm, err := a.openVideoVision(ctx)
		if err != nil {
			return nil, err
		}
		m := &video.Models{Detector: vm.Detector, Embedder: vm.Embedder, Garments: vm.Garments}
		if vm.Detector != nil {
			m.DetectorName = vm.Detector.Spec().Name
		}
		if vm.GarmentDetector != nil { // (a nil *Detector would be a non-nil interface)
			// Documents name every model their items came from.
			m.GarmentDetector = vm.GarmentDetector
			m.DetectorName += "+" + vm.GarmentDetector.Spec().Name
		}
		if vm.Embedder != nil {
			m.EmbedderName = vm.Embedder.Spec().Name
		}
		if vm.Appearance != nil {
			m.Appearance, m.AppearanceName = vm.Appearance, vm.Appearance.Spec().Name
		}
		if a.Config.VerifyLocal {
			// Instance verification is evidence for the confidence; without
			// the model file matching works as before.
			if _, err := os.Stat(filepath.Join(a.ModelsDir(), vision.XFeatFile)); err == nil {
				// One thread per run and a run per core: several crops
				// are described at once (see vision's extractJobs).
				x, err := vision.OpenLocalFeatures(a.ModelsDir(), vision.LocalFeatureOptions{RuntimeLib: a.Config.ORTLib,
					SessionOptions: vision.SessionOptions{Threads: 1, Runs: runtime.NumCPU()}, Tiles: a.Config.VerifyTiles})
				if err != nil {
					return nil, err
				}
				m.Local = x
			} else {
				a.Log.WarnContext(ctx, "local-feature verification off: model file missing", "file", vision.XFeatFile)
			}
		}
		return m, nil
	}
	secret, err := openSealed(a, os.Getenv("VITRINE_WEBHOOK_SECRET"), WebhookSecretContext)
	if err != nil {
		return nil, fmt.Errorf("VITRINE_WEBHOOK_SECRET: %w", err)
	}
	windows := a.Config.WindowProposals
	if windows == 0 {
		windows = -1 // video.Config: negative is off, 0 the default
	}
	var model, liveModel *confidence.Model
	if a.Config.ConfidenceModel != "" {
		if model, err = confidence.Load(a.Config.ConfidenceModel); err != nil {
			return nil, fmt.Errorf("confidence_model: %w", err)
		}
	}
	if a.Config.LiveConfidenceModel != "" {
		if liveModel, err = confidence.Load(a.Config.LiveConfidenceModel); err != nil {
			return nil, fmt.Errorf("live_confidence_model: %w", err)
		}
	}
	hotspots := a.Config.MaxHotspots
	if hotspots == 0 {
		hotspots = -1 // video.Config: negative is no cap, 0 the default
	}
	proj := video.ProjectionOptions{Views: a.Config.ProjectionViews}
	if a.Config.GalleryViews {
		proj.Viewer = catvision.Views{}
	}
	cfg := video.Config{
		Projection:      proj,
		Confidence:      model,
		LiveConfidence:  liveModel,
		PublishAt:       a.Config.PublishThreshold,
		ReviewAt:        a.Config.ReviewThreshold,
		MaxHotspots:     hotspots,
		SampleFPS:       a.Config.SampleFPS,
		DetectSize:      a.Config.DetectSize,
		WindowProposals: windows,
		Match:           match.Config{MinZ: a.Config.MatchMinZ, MinCosine: a.Config.MatchMinCosine, AppearanceSearch: a.Config.MatchAppearanceSearch},
		WorkDir:         filepath.Join(a.Config.DataDir, "work", "videos"),
		WebhookURL:      os.Getenv("VITRINE_WEBHOOK_URL"),
		WebhookSecret:   secret,
	}
	// ffmpeg/ffprobe limits from the configuration (zero: media's defaults).
	tool := &media.Tool{Timeout: a.Config.FFmpegTimeout, ProbeTimeout: a.Config.FFprobeTimeout,
		MaxMemory: a.Config.FFmpegMaxMemory, MaxPixels: a.Config.MaxVideoPixels, MaxDuration: a.Config.MaxVideoDuration, Logger: a.Log}
	return video.New(cfg, video.Deps{
		DB: a.DB, Blobs: a.Blob, Runner: a.Runner, Logger: a.Log, LoadModels: load, Media: tool,
		Catalog: &video.ServiceCatalog{Svc: a.Catalog, Blobs: a.Blob, Logger: a.Log},
		// Operators' review edits go into every assembled document.
		Review: review.New(a.DB),
	})
}

// openVideoVision opens the vision models of video analysis. Weak boxes of
// any class are kept as proposals for the matcher. The detect step
// analyses video.DetectWorkers frames at once: as many concurrent runs per
// session, sharing the cores. The opt-in garment detector is opened only
// when the garment_detector setting names it.
func (a *App) openVideoVision(ctx context.Context) (*vision.Models, error) {
	if err := a.checkModels(); err != nil {
		return nil, err
	}
	gd, err := a.garmentDetector()
	if err != nil {
		return nil, err
	}
	return vision.Open(ctx, vision.Options{ModelsDir: a.ModelsDir(), RuntimeLib: a.Config.ORTLib, Logger: a.Log,
		Threads: max(1, runtime.NumCPU()/video.DetectWorkers), Runs: video.DetectWorkers,
		Detector: vision.DetectorOptions{ScoreThreshold: 0.1}, GarmentDetector: gd})
}

// garmentDetector returns the garment detector the garment_detector setting
// names, after checking the models' manifest or vision's known models have
// it; "" when the setting is empty.
func (a *App) garmentDetector() (string, error) {
	name := a.Config.GarmentDetector
	if name == "" {
		return "", nil
	}
	m, err := vision.LoadManifest(a.ModelsDir())
	if err == nil {
		_, err = m.GarmentDetectorSpec(name)
	}
	if err != nil {
		return "", fmt.Errorf("garment_detector setting (VITRINE_GARMENT_DETECTOR) %q: %w", name, err)
	}
	return name, nil
}

// WebhookSecretContext binds a sealed VITRINE_WEBHOOK_SECRET to its use
// (vitrine crypt seal --context webhook.secret).
const WebhookSecretContext = "webhook.secret"

// openSealed returns v, opened with the installation's KEK when it is a
// sealed value (vtrsec1:…), so secrets need not sit in the clear in the
// environment or config files.
func openSealed(a *App, v, context string) (string, error) {
	if !crypt.IsSealed(v) {
		return v, nil
	}
	if a.Keyring == nil {
		return "", errors.New("the value is sealed but no key-encryption key is configured (VITRINE_KEK or VITRINE_KEK_FILE)")
	}
	p, err := a.Keyring.Open(v, context)
	if err != nil {
		return "", err
	}
	return string(p), nil
}

// VideoInbox is the watched directory whose video drops are analysed.
func (a *App) VideoInbox() string {
	return filepath.Join(a.Config.DataDir, "inbox", "videos")
}

// RunVideoWatchers watches the video inbox and, when VITRINE_AUTO_REMATCH
// is 1 or true, re-matches published videos after catalog changes, until
// ctx is done. Only the process that runs steps should call it.
func (a *App) RunVideoWatchers(ctx context.Context) error {
	errc := make(chan error, 2)
	n := 1
	go func() {
		ib := &video.Inbox{Dir: a.VideoInbox(), Svc: a.Video, MaxBytes: a.Config.MaxUploadBytes, Log: a.Log}
		errc <- ib.Run(ctx)
	}()
	if v := os.Getenv("VITRINE_AUTO_REMATCH"); v == "1" || v == "true" {
		n++
		go func() { errc <- a.Video.WatchCatalog(ctx, 30*time.Second) }()
	}
	var err error
	for range n {
		err = errors.Join(err, <-errc)
	}
	return err
}
