package project_test

import (
	"context"
	"image"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/catalog/catvision"
	"github.com/vitrine-dev/vitrine/internal/project"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision"
	"github.com/vitrine-dev/vitrine/internal/vision/augment"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// TestProjectionOnCatalogViews fits the projection on real embeddings of
// on-model catalog photos and synthetic views of them, and checks that it
// ranks the right product first for more held-out views (other seeds)
// than the frozen embedding does.
func TestProjectionOnCatalogViews(t *testing.T) {
	samples := testenv.Samples(t, "catalog_virgio/images")
	models := testenv.Models(t)
	ctx := context.Background()
	m, err := catvision.Open(ctx, vision.Options{ModelsDir: models, RuntimeLib: testenv.ORTLib(t), Threads: 2, SkipDetector: true, SkipAppearance: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Closer.Close()
	files, err := filepath.Glob(filepath.Join(samples, "catalog_virgio/images/*.jpg"))
	if err != nil || len(files) < 40 {
		t.Fatalf("%d catalog images, %v", len(files), err)
	}
	slices.Sort(files)
	files = files[:40]
	const train, held = 4, 2
	var gallery, queries [][]float32
	var owner []int
	groups := make([][][]float32, len(files))
	p := augment.Default()
	for i, f := range files {
		img, _, err := imageio.DecodeFile(f, imageio.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		imgs := []image.Image{img}
		trainRng, heldRng := rand.New(rand.NewPCG(uint64(i), 1)), rand.New(rand.NewPCG(uint64(i), 2))
		for k := range train + held {
			rng := trainRng
			if k >= train {
				rng = heldRng
			}
			imgs = append(imgs, augment.View(img, p, rng))
		}
		vecs, err := m.Embedder.EmbedImages(ctx, imgs)
		if err != nil {
			t.Fatal(err)
		}
		gallery = append(gallery, vecs[0])
		groups[i] = vecs[:1+train]
		for _, q := range vecs[1+train:] {
			queries = append(queries, q)
			owner = append(owner, i)
		}
	}
	proj, err := project.Fit(groups, project.Config{Dim: 32})
	if err != nil {
		t.Fatal(err)
	}
	raw := project.Rank1(gallery, queries, owner, func(v []float32) []float32 { return v })
	fitted := project.Rank1(gallery, queries, owner, proj.Apply)
	t.Logf("held-out views of %d products: right product first %.2f raw, %.2f projected", len(files), raw, fitted)
	if fitted <= raw {
		t.Errorf("projected rank-1 %.2f is not above the frozen embedding's %.2f", fitted, raw)
	}
}
