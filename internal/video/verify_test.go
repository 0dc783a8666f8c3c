package video

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/blob"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/confidence"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/verify"
	"github.com/vitrine-dev/vitrine/internal/vision"
	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// failingLocal is a LocalFeatures that fails the test when asked to
// extract: features must come from the store. It describes regions at the
// scale of tiles.
type failingLocal struct {
	t     *testing.T
	tiles int
}

func (f failingLocal) Tiles() int { return f.tiles }

func (f failingLocal) ExtractMany(ctx context.Context, rs []vision.LocalRegion, maxPoints int) ([]*vision.LocalFeatures, error) {
	f.t.Errorf("extracted features of %d regions; they should have been stored", len(rs))
	return nil, errors.New("not stored")
}

func (f failingLocal) Extract(ctx context.Context, img image.Image, region image.Rectangle, maxPoints int) (*vision.LocalFeatures, error) {
	f.t.Errorf("extracted features of a %v region; they should have been stored by PrepareProducts", region.Size())
	return nil, errors.New("not stored")
}

func (f failingLocal) ExtractMirrored(ctx context.Context, img image.Image, region image.Rectangle, maxPoints int) (plain, mirrored *vision.LocalFeatures, err error) {
	_, err = f.Extract(ctx, img, region, maxPoints)
	return nil, nil, err
}

// TestPrepareProducts checks the catalog's features stage: the local
// features of every product's main item are extracted once and stored, so
// verification later reads them instead of extracting.
func TestPrepareProducts(t *testing.T) {
	dir, csvPath, ids := dressCatalog(t)
	local := openLocal(t)
	e := newEnv(t, envOptions{models: true, catalog: csvPath, tweak: func(d *Deps) { d.Local = local }})
	ctx := context.Background()

	var done, total int64
	if err := e.svc.PrepareProducts(ctx, ids, func(d, n int64) { done, total = d, n }); err != nil {
		t.Fatal(err)
	}
	if done != 3 || total != 3 {
		t.Errorf("progress %d/%d, want 3/3", done, total)
	}
	var n int
	if err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM product_local_features`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("%d stored feature sets, want 3", n)
	}
	// A fresh catalog source (another process) reads them.
	src := &CatalogSource{Index: e.catalog.Index, Store: e.catalog.Store, Model: e.catalog.Model, Blobs: e.catalog.Blobs}
	got, err := src.ProductLocalFeatures(ctx, failingLocal{t, local.Tiles()}, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if f := got[id]; f == nil || len(f.plain.Points) < 100 || len(f.mirrored.Points) < 100 {
			t.Errorf("product %s: stored features %v, want full sets of the picture and its mirror image", id, f)
		}
	}
	// A video showing the picture mirrored is confirmed by the mirrored
	// features, not by the picture's own.
	img, _, err := imageio.DecodeFile(filepath.Join(dir, ids[0]+".jpg"), imageio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	flip := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			flip.Set(b.Max.X-1-(x-b.Min.X), y, img.At(x, y))
		}
	}
	q, err := local.Extract(ctx, flip, b, verifyPoints)
	if err != nil {
		t.Fatal(err)
	}
	plain, mirrored := verify.Match(q, got[ids[0]].plain, verify.Options{}), verify.Match(q, got[ids[0]].mirrored, verify.Options{})
	if mirrored.Inliers < confirmInliers || mirrored.Inliers < 3*plain.Inliers {
		t.Errorf("mirrored picture: %d inliers with the mirrored features, %d with the plain ones; want >= %d and 3x", mirrored.Inliers, plain.Inliers, confirmInliers)
	}
}

// dressCatalog writes a product file of three on-model sample photos
// into a temporary directory.
func dressCatalog(t *testing.T) (dir, csvPath string, ids []string) {
	t.Helper()
	samples := testenv.Samples(t)
	dir = t.TempDir()
	ids = []string{"14976", "14977", "14978"}
	var rows strings.Builder
	rows.WriteString("id,name,category,image\n")
	for _, id := range ids {
		img, err := os.ReadFile(filepath.Join(samples, "catalog_virgio", "images", id+".jpg"))
		if err != nil {
			t.Skipf("sample image: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, id+".jpg"), img, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&rows, "%s,Dress %s,Dress,%s.jpg\n", id, id, id)
	}
	csvPath = filepath.Join(dir, "products.csv")
	if err := os.WriteFile(csvPath, []byte(rows.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, csvPath, ids
}

func openLocal(t *testing.T) *vision.LocalFeatureExtractor {
	t.Helper()
	local, err := vision.OpenLocalFeatures(testenv.Models(t), vision.LocalFeatureOptions{SessionOptions: vision.SessionOptions{Threads: 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	return local
}

// countingBlobs counts reads of each product image.
type countingBlobs struct {
	*blob.Store
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingBlobs) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if strings.HasPrefix(key, catalog.BlobPrefix) {
		c.mu.Lock()
		c.reads[key]++
		c.mu.Unlock()
	}
	return c.Store.Get(ctx, key)
}

// TestCatalogImageDecoded checks that an import decodes each product
// image once: the embed stage hands the decoded picture to the video
// service, which stores the features the features stage would have
// extracted, bit for bit, and the features stage then reads no image.
func TestCatalogImageDecoded(t *testing.T) {
	dir, csvPath, ids := dressCatalog(t)
	local := openLocal(t)
	e := newEnv(t, envOptions{models: true, tweak: func(d *Deps) { d.Local = local }})
	ctx := context.Background()
	blobs := &countingBlobs{Store: e.blobs, reads: map[string]int{}}
	e.ingest.Blobs, e.catalog.Blobs = blobs, blobs
	e.ingest.Decoded, e.ingest.Prepare = e.svc.CatalogImageDecoded, e.svc.PrepareCatalog
	sum, err := e.ingest.ImportFile(ctx, csvPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != len(ids) {
		t.Fatalf("%d products added, want %d", sum.Added, len(ids))
	}
	if len(blobs.reads) != len(ids) {
		t.Errorf("%d image blobs read, want %d: %v", len(blobs.reads), len(ids), blobs.reads)
	}
	for key, n := range blobs.reads {
		if n != 1 {
			t.Errorf("image %s read %d times during the import, want once", key, n)
		}
	}
	var n int
	if err := e.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM product_local_features`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(ids) {
		t.Fatalf("%d stored feature sets, want %d", n, len(ids))
	}
	colours, err := e.catalog.storedColours(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(colours) != len(ids) {
		t.Errorf("%d stored colour histograms, want %d", len(colours), len(ids))
	}
	// What was stored is what extracting from the file gives.
	src := &CatalogSource{Index: e.catalog.Index, Store: e.catalog.Store, Model: e.catalog.Model, Blobs: e.blobs}
	got, err := src.ProductLocalFeatures(ctx, failingLocal{t, local.Tiles()}, ids)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := src.imageRefs(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		img, _, err := imageio.DecodeFile(filepath.Join(dir, r.id+".jpg"), imageio.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		box := parseRect(t, r.box)
		plain, mirrored, err := local.ExtractMirrored(ctx, img, box, productPoints)
		if err != nil {
			t.Fatal(err)
		}
		want, err := (&productFeatures{plain: plain, mirrored: mirrored}).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		f := got[r.id]
		if f == nil {
			t.Errorf("product %s: no stored features", r.id)
			continue
		}
		if b, err := f.MarshalBinary(); err != nil || !bytes.Equal(b, want) {
			t.Errorf("product %s: stored features differ from those of the file's main item %v (err %v)", r.id, box, err)
		}
	}
}

func parseRect(t *testing.T, s string) image.Rectangle {
	t.Helper()
	var r image.Rectangle
	if _, err := fmt.Sscanf(s, "%d,%d,%d,%d", &r.Min.X, &r.Min.Y, &r.Max.X, &r.Max.Y); err != nil {
		t.Fatalf("box %q: %v", s, err)
	}
	return r
}

func TestPromote(t *testing.T) {
	res := func(inliers ...int) []verify.Result {
		out := make([]verify.Result, len(inliers))
		for i, n := range inliers {
			out[i] = verify.Result{Inliers: n}
		}
		return out
	}
	for _, c := range []struct {
		name string
		res  []verify.Result
		want int
	}{
		{"none verified", nil, 0},
		{"first leads", res(60, 10, 5), 0},
		{"dominant second", res(8, 52, 26), 1},
		{"dominant last", res(5, 4, 0, 6, 58), 4},
		{"too few inliers", res(4, 24, 0), 0},
		{"at the floor", res(10, 25), 1},
		{"look-alike within the ratio", res(30, 45, 10), 0},
		{"rival below the first within the ratio", res(5, 40, 21), 0},
		{"tie", res(30, 30), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := promote(c.res); got != c.want {
				t.Errorf("promote(%v) = %d, want %d", c.res, got, c.want)
			}
		})
	}
}

func TestPromoteVerified(t *testing.T) {
	ms := func(ids ...string) []shoppable.Match {
		out := make([]shoppable.Match, len(ids))
		for i, id := range ids {
			out[i] = shoppable.Match{ProductID: id, Score: 1 - float64(i)/10}
		}
		return out
	}
	matches := map[int][]shoppable.Match{1: ms("a", "b", "c"), 2: ms("d", "e"), 3: ms("f", "g")}
	results := map[int]match.Result{1: {Matches: []match.Scored{{ProductID: "a"}, {ProductID: "b"}, {ProductID: "c"}}}}
	v := &verification{results: map[int][]verify.Result{
		1: {{Inliers: 3}, {Inliers: 4}, {Inliers: 40}},
		2: {{Inliers: 50}, {Inliers: 5}},
	}}
	promoted := promoteVerified(v, matches, results)
	if !promoted[1] || promoted[2] || promoted[3] {
		t.Fatalf("promoted %v, want track 1 only", promoted)
	}
	var got []string
	for _, m := range matches[1] {
		got = append(got, m.ProductID)
	}
	if strings.Join(got, ",") != "c,a,b" {
		t.Errorf("track 1 matches %v, want c,a,b", got)
	}
	if matches[1][0].Score < matches[1][1].Score {
		t.Errorf("promoted match scores %v below the next %v: a document would reorder them", matches[1][0].Score, matches[1][1].Score)
	}
	if results[1].Matches[0].ProductID != "c" || v.results[1][0].Inliers != 40 {
		t.Errorf("results not reordered with the matches: %v, %v", results[1].Matches, v.results[1])
	}
	ev := map[int]confidence.Features{1: {}, 2: {}}
	addVerifiedEvidence(v, promoted, ev)
	if ev[1][confidence.Promoted] != 1 || ev[2][confidence.Promoted] != 0 {
		t.Errorf("promoted evidence %v, %v", ev[1], ev[2])
	}
	if ev[1][confidence.InlierMargin] <= 0 || ev[2][confidence.InlierMargin] <= 0 {
		t.Errorf("inlier margins %v, %v; want > 0 for both first products", ev[1][confidence.InlierMargin], ev[2][confidence.InlierMargin])
	}
}
