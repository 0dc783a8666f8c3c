package app

import (
	"context"
	"os"
	"path/filepath"

	"github.com/vitrine-dev/vitrine/internal/review"
	"github.com/vitrine-dev/vitrine/internal/video"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// newVideo builds the video analysis service; its models load on first use
// and matching uses the installation's catalog. The webhook is configured
// by VITRINE_WEBHOOK_URL and VITRINE_WEBHOOK_SECRET.
func newVideo(a *App) (*video.Service, error) {
	load := func(ctx context.Context) (*video.Models, error) {
		// Weak boxes of any class are kept as proposals for the matcher.
		vm, err := vision.Open(ctx, vision.Options{ModelsDir: a.ModelsDir(), RuntimeLib: a.Config.ORTLib, Logger: a.Log,
			Detector: vision.DetectorOptions{ScoreThreshold: 0.1}})
		if err != nil {
			return nil, err
		}
		m := &video.Models{Detector: vm.Detector, Embedder: vm.Embedder, Garments: vm.Garments}
		if vm.Detector != nil {
			m.DetectorName = vm.Detector.Spec().Name
		}
		if vm.Embedder != nil {
			m.EmbedderName = vm.Embedder.Spec().Name
		}
		if vm.Appearance != nil {
			m.Appearance, m.AppearanceName = vm.Appearance, vm.Appearance.Spec().Name
		}
		return m, nil
	}
	cfg := video.Config{
		WorkDir:       filepath.Join(a.Config.DataDir, "work", "videos"),
		WebhookURL:    os.Getenv("VITRINE_WEBHOOK_URL"),
		WebhookSecret: os.Getenv("VITRINE_WEBHOOK_SECRET"),
	}
	return video.New(cfg, video.Deps{
		DB: a.DB, Blobs: a.Blob, Runner: a.Runner, Logger: a.Log, LoadModels: load,
		Catalog: &video.ServiceCatalog{Svc: a.Catalog, Blobs: a.Blob},
		// Operators' review edits go into every assembled document.
		Review: review.New(a.DB),
	})
}
