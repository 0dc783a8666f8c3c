// Package catvision connects the catalog to internal/vision: it loads the
// models named by the manifest and adapts the detector to catalog.Detector.
// The catalog package itself does not import vision, so it builds and is
// tested on its own.
package catvision

import (
	"context"
	"fmt"
	"image"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/vision"
)

// Detector adapts a vision detector to catalog.Detector.
type Detector struct{ D *vision.Detector }

// Detect runs the detector and converts boxes to integer rectangles.
func (d Detector) Detect(ctx context.Context, img image.Image) ([]catalog.Detection, error) {
	dets, err := d.D.Detect(ctx, img)
	if err != nil {
		return nil, err
	}
	out := make([]catalog.Detection, len(dets))
	for i, x := range dets {
		out[i] = catalog.Detection{Label: x.Label, Score: x.Score, Box: x.Box.Rect()}
	}
	return out, nil
}

// Open loads the detector, the image embedder, its text encoder (when the
// manifest pairs one) and the appearance model (when it names one) with
// vision.Open.
func Open(ctx context.Context, o vision.Options) (*catalog.Models, error) {
	vm, err := vision.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	if vm.Embedder == nil {
		vm.Close()
		return nil, fmt.Errorf("catvision: the model manifest has no image embedder")
	}
	m := &catalog.Models{Embedder: vm.Embedder, Shoppable: vm.Manifest.ShoppableClasses,
		Model: vm.Embedder.Spec().Name, Dim: vm.Embedder.Dim(), Closer: vm}
	if vm.Detector != nil {
		m.Detector = Detector{D: vm.Detector}
	}
	if vm.Text != nil {
		m.Text = vm.Text
	}
	if vm.Appearance != nil {
		m.Appearance, m.AppearanceModel = vm.Appearance, vm.Appearance.Spec().Name
	}
	return m, nil
}
