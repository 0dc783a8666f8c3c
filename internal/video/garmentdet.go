package video

import (
	"context"
	"fmt"
	"image"
	"strings"

	"github.com/vitrine-dev/vitrine/internal/vision"
)

// maxDetectedGarments bounds the garment detector's boxes kept per frame,
// best first: each costs an embedding and an appearance run.
const maxDetectedGarments = 6

// addDetectedGarments appends to items the boxes of the opt-in garment
// detector (Deps.GarmentDetector; nothing without one) as garment items
// labelled with the detector's class ("long sleeve top", "skirt", ...),
// each with its crop embedding. They stand besides the person-derived
// garment regions; the appearance vectors are added with every other
// item's.
func (s *Service) addDetectedGarments(ctx context.Context, img *image.RGBA, items []vision.Item) ([]vision.Item, error) {
	if s.deps.GarmentDetector == nil {
		return items, nil
	}
	dets, err := s.deps.GarmentDetector.Detect(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("garment detector: %w", err)
	}
	b := img.Bounds()
	frame := float64(b.Dx()) * float64(b.Dy())
	var kept []vision.Detection
	for _, d := range dets { // best first
		if float64(d.Box.Area()) < s.cfg.MinBoxFrac*frame {
			continue
		}
		kept = append(kept, d)
		if len(kept) == maxDetectedGarments {
			break
		}
	}
	if len(kept) == 0 {
		return items, nil
	}
	// The embedder centre-crops a square: a square context crop keeps a
	// tall garment (trousers, a long dress) whole, as for proposals.
	crops := make([]image.Image, len(kept))
	for i, d := range kept {
		crops[i] = vision.Crop(img, squareAround(d.Box.Rect(), b, proposalMargin))
	}
	vecs, err := s.deps.Embedder.EmbedImages(ctx, crops)
	if err != nil {
		return nil, fmt.Errorf("garment detector: embed: %w", err)
	}
	for i, d := range kept {
		items = append(items, vision.Item{Source: SourceGarment, Kind: detectedGarmentKind(d.Label), Label: d.Label,
			Score: d.Score, Box: d.Box, Person: -1, Detection: -1, Embedding: vecs[i]})
	}
	return items, nil
}

// detectedGarmentKind is the person region a garment class covers, so that
// detected garments track with the regions of the same kind: dresses the
// outfit, shorts, trousers and skirts the lower body, the rest (tops,
// outerwear, vests, slings) the upper body.
func detectedGarmentKind(label string) vision.RegionKind {
	l := strings.ToLower(label)
	switch {
	case strings.Contains(l, "dress"):
		return vision.RegionOutfit
	case strings.Contains(l, "shorts"), strings.Contains(l, "trousers"), strings.Contains(l, "skirt"):
		return vision.RegionLower
	}
	return vision.RegionUpper
}
