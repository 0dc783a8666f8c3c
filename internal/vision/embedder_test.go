package vision

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/draw"

	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// variant makes a re-shot of the same product: centre crop, downscale and
// JPEG recompression.
func variant(t *testing.T, img image.Image) image.Image {
	t.Helper()
	b := img.Bounds()
	dx, dy := b.Dx()/14, b.Dy()/14
	crop := image.Rect(b.Min.X+dx, b.Min.Y+dy, b.Max.X-dx, b.Max.Y-dy)
	small := image.NewRGBA(image.Rect(0, 0, crop.Dx()*2/3, crop.Dy()*2/3))
	draw.CatmullRom.Scale(small, small.Bounds(), img, crop, draw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, small, &jpeg.Options{Quality: 55}); err != nil {
		t.Fatal(err)
	}
	out, _, err := imageio.Decode(&buf, imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var catalogProducts = []struct{ id, kind string }{
	{"17605", "sunglasses"},
	{"16820", "jeans"},
	{"20488", "handbag"},
	{"16331", "tshirt"},
	{"15224", "shoes"},
	{"17983", "backpack"},
	{"13062", "watch"},
}

func catalogImages(t *testing.T) []image.Image {
	t.Helper()
	dir := filepath.Join(testenv.Samples(t), "catalog", "images")
	imgs := make([]image.Image, len(catalogProducts))
	for i, p := range catalogProducts {
		imgs[i] = loadImage(t, filepath.Join(dir, p.id+".jpg"))
	}
	return imgs
}

func TestEmbedderVectorsAreNormalisedAndBatchInvariant(t *testing.T) {
	ms := testModels(t)
	imgs := catalogImages(t)
	ctx := context.Background()
	batch, err := ms.Embedder.EmbedImages(ctx, imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		one, err := ms.Embedder.EmbedImages(ctx, []image.Image{img})
		if err != nil {
			t.Fatal(err)
		}
		if len(one[0]) != 1280 || len(batch[i]) != 1280 {
			t.Fatalf("dims %d/%d, want 1280", len(one[0]), len(batch[i]))
		}
		var norm float64
		for k := range one[0] {
			norm += float64(one[0][k]) * float64(one[0][k])
			if d := math.Abs(float64(one[0][k] - batch[i][k])); d > 1e-4 {
				t.Fatalf("image %d: batch and single differ by %g at %d", i, d, k)
			}
		}
		if math.Abs(norm-1) > 1e-4 {
			t.Errorf("image %d: norm² %v, want 1", i, norm)
		}
	}
	if out, err := ms.Embedder.EmbedImages(ctx, nil); err != nil || len(out) != 0 {
		t.Errorf("no images: got %v, %v", out, err)
	}
}

func TestEmbedderSameProductCloserThanOthers(t *testing.T) {
	ms := testModels(t)
	ctx := context.Background()
	orig := catalogImages(t)
	vir := filepath.Join(testenv.Samples(t), "catalog_virgio", "images")
	for _, id := range []string{"14976", "15130", "15307"} {
		orig = append(orig, loadImage(t, filepath.Join(vir, id+".jpg")))
	}
	vars := make([]image.Image, len(orig))
	for i, img := range orig {
		vars[i] = variant(t, img)
	}
	eo, err := ms.Embedder.EmbedImages(ctx, orig)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ms.Embedder.EmbedImages(ctx, vars)
	if err != nil {
		t.Fatal(err)
	}
	for i := range vars {
		self := Cosine(ev[i], eo[i])
		for j := range orig {
			if j != i {
				if other := Cosine(ev[i], eo[j]); other >= self {
					t.Errorf("variant of %d: similarity to itself %.3f <= to product %d %.3f", i, self, j, other)
				}
			}
		}
	}
}

func TestEmbedderStreetToShopPair(t *testing.T) {
	ms := testModels(t)
	ctx := context.Background()
	s2s := filepath.Join(testenv.Samples(t), "street2shop_sample")
	consumer := loadImage(t, filepath.Join(s2s, "pair_3589_consumer_cropped.jpg"))
	shop := loadImage(t, filepath.Join(s2s, "pair_3589_shop.jpg"))
	// The 420 catalog packshots are all different products: the shop photo
	// of the street clutch must rank near the top among them once the
	// catalogue mean is removed (the raw backbone features are all
	// non-negative and crowd together).
	dir := filepath.Join(testenv.Samples(t), "catalog", "images")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cat []image.Image
	for _, e := range ents {
		cat = append(cat, loadImage(t, filepath.Join(dir, e.Name())))
	}
	cv, err := ms.Embedder.EmbedImages(ctx, cat)
	if err != nil {
		t.Fatal(err)
	}
	qv, err := ms.Embedder.EmbedImages(ctx, []image.Image{consumer, shop})
	if err != nil {
		t.Fatal(err)
	}
	mean := Mean(cv)
	q := Centered(qv[0], mean)
	match := Cosine(q, Centered(qv[1], mean))
	above := 0
	for _, v := range cv {
		if Cosine(q, Centered(v, mean)) >= match {
			above++
		}
	}
	t.Logf("street clutch: shop photo similarity %.3f (raw %.3f); %d of %d other products score higher", match, Cosine(qv[0], qv[1]), above, len(cv))
	if above > len(cv)/40 {
		t.Fatalf("shop photo of the street clutch ranks %d of %d; want within the top 2.5%%", above+1, len(cv)+1)
	}
}

func TestEmbedderLabelsAndQueryRanking(t *testing.T) {
	ms := testModels(t)
	imgs := catalogImages(t)
	as, err := ms.Embedder.Analyze(context.Background(), imgs, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range as {
		t.Logf("%s: %+v", catalogProducts[i].kind, a.Top)
		if len(a.Top) != 5 || len(a.Probs) != 1000 {
			t.Fatalf("got %d top labels and %d probs", len(a.Top), len(a.Probs))
		}
	}
	for _, tc := range []struct{ query, want string }{
		{"sunglasses", "sunglasses"},
		{"jeans", "jeans"},
		{"denim", "jeans"},
		{"backpack", "backpack"},
		{"t-shirt", "tshirt"},
		{"jersey", "tshirt"},
		{"watch", "watch"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			best, bs := -1, float32(-1)
			for i, a := range as {
				if s := ms.Garments.QueryScore(tc.query, a.Probs); s > bs {
					best, bs = i, s
				}
			}
			if got := catalogProducts[best].kind; got != tc.want {
				t.Fatalf("query %q ranked %s first (%.3f), want %s", tc.query, got, bs, tc.want)
			}
		})
	}
}

func TestAppearanceSamePersonCloser(t *testing.T) {
	ms := testModels(t)
	if ms.Appearance == nil {
		t.Fatal("manifest has no appearance model")
	}
	ctx := context.Background()
	var crops []image.Image
	for _, sec := range []string{"0.5", "1.0"} {
		f := turntableFrame(t, sec)
		dets, err := ms.Detector.Detect(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := bestOf(dets, "person")
		if !ok {
			t.Fatalf("no person at %ss", sec)
		}
		crops = append(crops, Crop(f, p.Box.Rect()))
	}
	vir := filepath.Join(testenv.Samples(t), "catalog_virgio", "images")
	for _, id := range []string{"14976", "15130"} {
		crops = append(crops, loadImage(t, filepath.Join(vir, id+".jpg")))
	}
	vecs, err := ms.Appearance.EmbedImages(ctx, crops)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs[0]) != 512 {
		t.Fatalf("appearance dim %d, want 512", len(vecs[0]))
	}
	same := Cosine(vecs[0], vecs[1])
	for j := 2; j < len(vecs); j++ {
		if d := Cosine(vecs[0], vecs[j]); d >= same {
			t.Errorf("other person %d: %.3f >= same person %.3f", j, d, same)
		}
	}
	t.Logf("same person %.3f, others %.3f %.3f", same, Cosine(vecs[0], vecs[2]), Cosine(vecs[0], vecs[3]))
}
