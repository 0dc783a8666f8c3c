package catalog

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/draw"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/vision/imageio"
)

// Item is the main item found in a product image.
type Item struct {
	// Label is the detector label, or "trimmed"/"whole" for packshots.
	Label string
	Box   image.Rectangle
}

// minItemScore is the detector confidence a main-item candidate needs.
const minItemScore = 0.3

// MainItem picks the product in an image: the detector's best shoppable box
// (a person box counts, for on-model photos where the garment is the
// product), weighting confidence by size so the hero item beats small
// props; without one, the bounding box of the non-white pixels (a packshot on
// white), or the whole image.
func MainItem(img image.Image, dets []Detection, shoppable map[string]bool) Item {
	b := img.Bounds()
	area := float64(b.Dx() * b.Dy())
	best, bestScore := -1, 0.0
	for i, d := range dets {
		l := strings.ToLower(d.Label)
		if d.Score < minItemScore || !(shoppable[l] || l == "person") {
			continue
		}
		r := d.Box.Intersect(b)
		frac := float64(r.Dx()*r.Dy()) / area
		if frac < 0.02 {
			continue
		}
		if s := float64(d.Score) * math.Sqrt(frac); s > bestScore {
			best, bestScore = i, s
		}
	}
	if best >= 0 {
		return Item{Label: strings.ToLower(dets[best].Label), Box: pad(dets[best].Box.Intersect(b), b, 0.04)}
	}
	if r, ok := trimWhite(img); ok {
		return Item{Label: "trimmed", Box: pad(r, b, 0.02)}
	}
	return Item{Label: "whole", Box: b}
}

func pad(r, bounds image.Rectangle, f float64) image.Rectangle {
	dx, dy := int(float64(r.Dx())*f), int(float64(r.Dy())*f)
	return image.Rect(r.Min.X-dx, r.Min.Y-dy, r.Max.X+dx, r.Max.Y+dy).Intersect(bounds)
}

// trimWhite returns the bounding box of pixels that are not near-white, when
// it is a meaningful part of the image.
func trimWhite(img image.Image) (image.Rectangle, bool) {
	b := img.Bounds()
	const thr = 0xF000 // 240/255 in 16-bit colour
	minX, minY, maxX, maxY := b.Max.X, b.Max.Y, b.Min.X-1, b.Min.Y-1
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r >= thr && g >= thr && bl >= thr {
				continue
			}
			minX, maxX = min(minX, x), max(maxX, x)
			minY, maxY = min(minY, y), max(maxY, y)
		}
	}
	if maxX < minX {
		return b, false
	}
	r := image.Rect(minX, minY, maxX+1, maxY+1)
	frac := float64(r.Dx()*r.Dy()) / float64(b.Dx()*b.Dy())
	if frac < 0.01 || frac > 0.95 {
		return b, false
	}
	return r, true
}

func (in *Ingester) shoppable() map[string]bool {
	m := map[string]bool{}
	for _, s := range in.Shoppable {
		m[strings.ToLower(s)] = true
	}
	return m
}

// Embed is the "embed" stage: for every fetched image of the batch it finds
// the main item and stores the embeddings of the crop, of the whole image
// and of the item's scene view. An image whose content (sha256) was already
// embedded with the same model, for any product, reuses those vectors
// instead of running the models. Then products whose images are all
// embedded become ready.
func (in *Ingester) Embed(ctx context.Context, batch int64, progress ProgressFunc) error {
	where := `AND i.state = 'fetched' AND p.status <> 'failed'`
	var args []any
	if in.Embedder != nil {
		// An image embedded before its scene view existed (an older
		// release) is embedded again, so importing the same file after an
		// upgrade completes the catalog's vectors.
		where = `AND p.status <> 'failed' AND (i.state = 'fetched' OR (i.state = 'embedded' AND NOT EXISTS (
			SELECT 1 FROM product_vectors v WHERE v.product_seq = p.seq AND v.image_sha256 = i.sha256 AND v.kind = ? AND v.model = ?)))`
		args = []any{KindScene, in.Model}
	}
	total := in.countBatchImages(ctx, batch, where, args)
	var (
		mu   sync.Mutex // serialises progress
		done int64
	)
	shop := in.shoppable()
	err := in.batchImages(ctx, batch, where, args, func(page []workImage) error {
		return in.embedPage(ctx, batch, page, shop, func() {
			mu.Lock()
			defer mu.Unlock()
			done++
			if progress != nil {
				progress(Progress{Step: StageEmbed, Done: done, Total: total})
			}
		})
	})
	if err != nil {
		return err
	}
	return in.markReady(ctx, batch)
}

// DefaultEmbedWorkers is how many images the embed stage decodes and runs
// through the models at once when Ingester.EmbedWorkers is zero. Two keep
// two cores busy: one image is decoded (pure Go) while the other's models
// run, and the small models leave a core idle on their own.
const DefaultEmbedWorkers = 2

// embedPage embeds a page of images on EmbedWorkers goroutines. The images
// of one content (products sharing a photo) go to one worker, in order, so
// the first one's vectors are stored before the next looks them up and
// each photo is run through the models once.
func (in *Ingester) embedPage(ctx context.Context, batch int64, page []workImage, shop map[string]bool, step func()) error {
	var groups [][]workImage
	bySHA := map[string]int{}
	for _, w := range page {
		if i, ok := bySHA[w.sha]; ok && w.sha != "" {
			groups[i] = append(groups[i], w)
			continue
		}
		bySHA[w.sha] = len(groups)
		groups = append(groups, []workImage{w})
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan []workImage)
	var wg sync.WaitGroup
	for range min(max(1, cmp.Or(in.EmbedWorkers, DefaultEmbedWorkers)), len(groups)) {
		wg.Go(func() {
			for g := range work {
				for _, w := range g {
					if err := in.embedOne(ctx, batch, in.prepare(ctx, w), shop); err != nil {
						cancel(err)
						return
					}
					step()
				}
			}
		})
	}
feed:
	for _, g := range groups {
		select {
		case work <- g:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return context.Cause(ctx)
}

// prepared is an image ready for the models: its cached vectors, or its
// decoded pixels, or the error that fails it.
type prepared struct {
	w      workImage
	item   Item
	cached map[string][]float32
	img    *image.RGBA // prepared for the models (see forModels)
	scale  int         // from img's coordinates to the original's
	orig   image.Image // as decoded, kept for the Decoded hook
	bounds image.Rectangle
	err    error // lookup failure: fails the stage
	bad    error // unreadable image: fails the product
}

func (in *Ingester) prepare(ctx context.Context, w workImage) prepared {
	p := prepared{w: w}
	p.item, p.cached, p.err = in.cachedVectors(ctx, w.sha, w.category)
	if p.err != nil || p.cached != nil || in.Embedder == nil {
		return p
	}
	img, err := in.loadImage(ctx, w.blobKey)
	if err != nil {
		p.bad = err
		return p
	}
	p.bounds = img.Bounds()
	p.img, p.scale = forModels(img)
	if in.Decoded != nil && w.pos == 0 {
		p.orig = img
	}
	return p
}

func (in *Ingester) embedOne(ctx context.Context, batch int64, p prepared, shop map[string]bool) error {
	db := in.Store.db
	w := p.w
	if p.err != nil {
		return p.err
	}
	if p.bad != nil {
		return in.failImage(ctx, batch, w, p.bad)
	}
	vecs, item := p.cached, p.item
	if vecs == nil && p.img != nil {
		img := p.img
		var dets []Detection
		var err error
		if in.Detector != nil {
			if dets, err = in.Detector.Detect(ctx, img); err != nil {
				return fmt.Errorf("catalog: detect %s: %w", w.id, err)
			}
		}
		item = MainItem(img, dets, shop)
		crop := image.Image(img)
		if item.Box != img.Bounds() {
			crop = imageio.Crop(img, item.Box)
		}
		imgs := []image.Image{img, crop, SceneView(img, item.Box)}
		kinds := []string{KindWhole, KindCrop, KindScene}
		if in.Views != nil {
			views := in.Views.Views(img.Bounds(), item, w.category)
			for _, k := range slices.Sorted(maps.Keys(views)) {
				if r := views[k].Intersect(img.Bounds()); !r.Empty() {
					imgs, kinds = append(imgs, imageio.Crop(img, r)), append(kinds, k)
				}
			}
		}
		// The stored box is in the original image's pixels.
		item.Box = scaleRect(item.Box, p.scale, p.bounds)
		out, err := in.Embedder.EmbedImages(ctx, imgs)
		if err != nil {
			return fmt.Errorf("catalog: embed %s: %w", w.id, err)
		}
		if len(out) != len(imgs) {
			return fmt.Errorf("catalog: embed %s: %d vectors for %d images", w.id, len(out), len(imgs))
		}
		vecs = make(map[string][]float32, len(kinds)+1)
		for i, k := range kinds {
			vecs[k] = out[i]
		}
		if in.Appearance != nil {
			av, err := in.Appearance.EmbedImages(ctx, []image.Image{crop})
			if err != nil {
				return fmt.Errorf("catalog: appearance of %s: %w", w.id, err)
			}
			if len(av) != 1 {
				return fmt.Errorf("catalog: appearance of %s: %d vectors for 1 image", w.id, len(av))
			}
			vecs[KindAppearance] = av[0]
		}
		if p.orig != nil {
			if err := in.Decoded(ctx, DecodedImage{ProductID: w.id, SHA256: w.sha, Image: p.orig, Item: item}); err != nil {
				return fmt.Errorf("catalog: decoded image of %s: %w", w.id, err)
			}
		}
	}
	now := time.Now().UTC()
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		for kind, v := range vecs {
			model := in.Model
			if kind == KindAppearance {
				model = in.AppearanceModel
			}
			if _, err := tx.ExecContext(ctx, db.Rebind(`INSERT INTO product_vectors(product_seq, image_sha256, kind, model, dim, vector, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(product_seq, image_sha256, kind, model)
				DO UPDATE SET dim = excluded.dim, vector = excluded.vector, created_at = excluded.created_at`),
				w.seq, w.sha, kind, model, len(v), encodeVector(v), now); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, db.Rebind(`UPDATE product_images SET state = 'embedded', item_label = ?, item_box = ?
			WHERE product_seq = ? AND position = ?`), item.Label, boxString(item.Box), w.seq, w.pos)
		return err
	})
	if err != nil {
		return fmt.Errorf("catalog: store vectors of %s: %w", w.id, err)
	}
	return nil
}

// cacheCandidates bounds the products sharing a photo whose vectors
// cachedVectors reads: usually the first one has every kind.
const cacheCandidates = 4

// cachedVectors returns the vectors already computed for this image content
// with the current model, and its main item, when one product that has the
// same content stored every kind an image of a product of this category
// needs: just those kinds, as embedding the image again would give. Its
// cost does not grow with the products sharing the photo.
func (in *Ingester) cachedVectors(ctx context.Context, sha, category string) (Item, map[string][]float32, error) {
	if in.Embedder == nil {
		return Item{}, nil, nil
	}
	db := in.Store.db
	type candidate struct {
		seq  int64
		item Item
	}
	var cands []candidate
	err := func() error {
		rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT i.product_seq, i.item_label, i.item_box FROM product_images i
			WHERE i.sha256 = ? AND i.state = 'embedded' AND EXISTS (SELECT 1 FROM product_vectors v
				WHERE v.product_seq = i.product_seq AND v.image_sha256 = i.sha256 AND v.kind = ? AND v.model = ?)
			ORDER BY i.product_seq LIMIT ?`), sha, KindScene, in.Model, cacheCandidates)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c candidate
			var box string
			if err := rows.Scan(&c.seq, &c.item.Label, &box); err != nil {
				return err
			}
			c.item.Box = parseBox(box)
			cands = append(cands, c)
		}
		return rows.Err()
	}()
	if err != nil {
		return Item{}, nil, fmt.Errorf("catalog: look up cached vectors: %w", err)
	}
	for _, c := range cands {
		vecs, err := in.productVectors(ctx, c.seq, sha)
		if err != nil {
			return Item{}, nil, fmt.Errorf("catalog: look up cached vectors: %w", err)
		}
		out := map[string][]float32{}
		for _, k := range in.imageKinds(c.item.Label, category) {
			if vecs[k] == nil {
				out = nil
				break
			}
			out[k] = vecs[k]
		}
		if out != nil {
			return c.item, out, nil
		}
	}
	return Item{}, nil, nil
}

// productVectors returns the vectors of one product's image from the
// current models (the appearance vector from the appearance model).
func (in *Ingester) productVectors(ctx context.Context, seq int64, sha string) (map[string][]float32, error) {
	db := in.Store.db
	rows, err := db.Read.QueryContext(ctx, db.Rebind(`SELECT kind, vector FROM product_vectors
		WHERE product_seq = ? AND image_sha256 = ?
		AND ((model = ? AND kind IN (`+kindList(indexedKinds)+`)) OR (model = ? AND kind = 'appearance'))`), seq, sha, in.Model, in.AppearanceModel)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]float32{}
	for rows.Next() {
		var kind string
		var blob []byte
		if err := rows.Scan(&kind, &blob); err != nil {
			return nil, err
		}
		v, err := decodeVector(blob)
		if err != nil {
			return nil, err
		}
		out[kind] = v
	}
	return out, rows.Err()
}

// imageKinds lists the kinds of vectors embedding an image whose main item
// has this label stores for a product of this category (a view whose box
// falls outside the image aside).
func (in *Ingester) imageKinds(label, category string) []string {
	kinds := []string{KindWhole, KindCrop, KindScene}
	if in.Appearance != nil {
		kinds = append(kinds, KindAppearance)
	}
	if in.Views != nil {
		kinds = append(kinds, in.Views.ViewKinds(label, category)...)
	}
	return kinds
}

func (in *Ingester) loadImage(ctx context.Context, key string) (image.Image, error) {
	r, err := in.Blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	img, _, err := imageio.DecodeBytes(data, in.limits())
	return img, err
}

// modelSide is the short side below which images are not halved before
// detection and embedding: the embedder looks at 224x224, the detector at
// 416x416, so detail beyond this buys nothing but resampling time.
const modelSide = 256

// forModels converts img to RGBA and halves it (2x2 box filter) while its
// short side stays at least modelSide. It returns the factor from the
// result's coordinates back to img's.
func forModels(img image.Image) (*image.RGBA, int) {
	rgba := toRGBA(img)
	f := 1
	for min(rgba.Rect.Dx(), rgba.Rect.Dy())/2 >= modelSide {
		rgba = halve(rgba)
		f *= 2
	}
	return rgba, f
}

// halve averages each 2x2 block (an odd last row or column is dropped).
func halve(src *image.RGBA) *image.RGBA {
	w, h := src.Rect.Dx()/2, src.Rect.Dy()/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		r0 := src.Pix[(2*y)*src.Stride:]
		r1 := src.Pix[(2*y+1)*src.Stride:]
		d := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			i, o := 8*x, 4*x
			for c := 0; c < 4; c++ {
				d[o+c] = uint8((uint16(r0[i+c]) + uint16(r0[i+4+c]) + uint16(r1[i+c]) + uint16(r1[i+4+c]) + 2) / 4)
			}
		}
	}
	return dst
}

// scaleRect maps a rectangle from a halved image back to the original.
func scaleRect(r image.Rectangle, f int, bounds image.Rectangle) image.Rectangle {
	if f == 1 {
		return r
	}
	return image.Rect(r.Min.X*f, r.Min.Y*f, r.Max.X*f, r.Max.Y*f).Add(bounds.Min).Intersect(bounds)
}

// toRGBA converts a decoded image to RGBA once. The detector and embedder
// each resample the image (and crops of it) with a filter kernel; from a
// YCbCr JPEG every kernel tap would redo the colour conversion.
func toRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	return dst
}

// markReady flips the batch's pending products whose images are all
// embedded (or that have none) to ready, drops vectors of images the
// product no longer has, and bumps the version when anything changed.
func (in *Ingester) markReady(ctx context.Context, batch int64) error {
	db := in.Store.db
	return db.Tx(ctx, func(tx *sql.Tx) error {
		batchSeqs := `SELECT p.seq FROM ` + batchProducts
		res, err := tx.ExecContext(ctx, db.Rebind(`UPDATE products SET status = 'ready', error = ''
			WHERE status = 'pending' AND seq IN (`+batchSeqs+`)
			AND NOT EXISTS (SELECT 1 FROM product_images i WHERE i.product_seq = products.seq AND i.state <> 'embedded')`), batch)
		if err != nil {
			return fmt.Errorf("catalog: mark ready: %w", err)
		}
		if _, err := tx.ExecContext(ctx, db.Rebind(`DELETE FROM product_vectors WHERE product_seq IN (`+batchSeqs+`)
			AND image_sha256 NOT IN (SELECT i.sha256 FROM product_images i WHERE i.product_seq = product_vectors.product_seq)`), batch); err != nil {
			return fmt.Errorf("catalog: drop stale vectors: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			_, err = in.Store.bump(ctx, tx)
		}
		return err
	})
}

func boxString(r image.Rectangle) string {
	return fmt.Sprintf("%d,%d,%d,%d", r.Min.X, r.Min.Y, r.Max.X, r.Max.Y)
}

func parseBox(s string) image.Rectangle {
	var r image.Rectangle
	if _, err := fmt.Sscanf(s, "%d,%d,%d,%d", &r.Min.X, &r.Min.Y, &r.Max.X, &r.Max.Y); err != nil {
		return image.Rectangle{}
	}
	return r
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
