// Package catvision connects the catalog to internal/vision: it loads the
// models named by the manifest and adapts the detector to catalog.Detector.
// The catalog package itself does not import vision, so it builds and is
// tested on its own.
package catvision

import (
	"context"
	"fmt"
	"image"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/taxonomy"
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

// Views gives the gallery views of on-model photos (catalog.Viewer): the
// garment regions of the model that the video pipeline crops from every
// person it sees (vision.PersonRegions), so a video's upper-body crop of a
// model in a top is compared with the same part of the catalog photo, not
// only with the whole model. Tops and outerwear get the upper region,
// skirts, trousers and shorts the lower, dresses and co-ords both; other
// products and photos without a model get none.
type Views struct{}

// ViewKinds implements catalog.Viewer.
func (Views) ViewKinds(label, category string) []string {
	if !strings.EqualFold(label, "person") {
		return nil
	}
	switch taxonomy.FromCategory(category) {
	case taxonomy.Top, taxonomy.Outerwear:
		return []string{catalog.KindViewUpper}
	case taxonomy.Skirt, taxonomy.Trousers, taxonomy.Shorts, taxonomy.Bottom:
		return []string{catalog.KindViewLower}
	case taxonomy.Dress, taxonomy.CoOrd:
		return []string{catalog.KindViewUpper, catalog.KindViewLower}
	}
	return nil
}

// Views implements catalog.Viewer.
func (v Views) Views(bounds image.Rectangle, item catalog.Item, category string) map[string]image.Rectangle {
	kinds := v.ViewKinds(item.Label, category)
	if len(kinds) == 0 {
		return nil
	}
	b := item.Box
	regions := vision.PersonRegions(vision.Box{X0: float32(b.Min.X), Y0: float32(b.Min.Y), X1: float32(b.Max.X), Y1: float32(b.Max.Y)}, bounds)
	byKind := map[string]vision.RegionKind{catalog.KindViewUpper: vision.RegionUpper, catalog.KindViewLower: vision.RegionLower}
	out := map[string]image.Rectangle{}
	for _, k := range kinds {
		for _, r := range regions {
			if r.Kind == byKind[k] {
				out[k] = r.Box.Rect()
			}
		}
	}
	return out
}
