package vision

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
	"golang.org/x/image/draw"
	"golang.org/x/sync/errgroup"
)

// XFeat (Potje et al., CVPR 2024; verlab/accelerated_features, Apache-2.0)
// finds keypoints and 64-d descriptors in one pass. The exported graph takes
// a fixed 640x640 RGB image scaled to 0..1 (it averages the channels to grey
// and instance-normalises them itself) and returns, at 1/8 resolution, the
// dense descriptor map, 65 keypoint logits per 8x8 cell (one per pixel of
// the cell plus "no keypoint") and a reliability map. Post-processing
// follows upstream detectAndCompute.

// XFeatFile is the XFeat model's file name in the models directory.
const XFeatFile = "xfeat_640_rgb.onnx"

// XFeatSHA256 is the digest of the XFeat model file that was measured.
const XFeatSHA256 = "54041f61f0d9b1968451a65fe0fd79e96692b1d8266c54a6939a73e847df5988"

// DescriptorDim is the length of a local descriptor.
const DescriptorDim = 64

// DescriptorScale maps unit-length descriptor components to int8: a stored
// value q stands for q/DescriptorScale, so the int32 dot product of two
// stored descriptors divided by DescriptorScale² is their cosine.
const DescriptorScale = 127

const (
	xfeatSide   = 640 // model input side
	xfeatCells  = xfeatSide / 8
	xfeatInput  = "input"
	xfeatDesc   = "output" // [1, 64, 80, 80]
	xfeatLogits = "1266"   // [1, 65, 80, 80]
	xfeatRel    = "266"    // [1, 1, 80, 80]
)

// LocalFeatures are the keypoints and descriptors of one image region.
type LocalFeatures struct {
	// W and H are the size of the image the features were extracted from.
	W, H int
	// Region is the part of the image that was described, with (0, 0) the
	// image's top-left corner.
	Region image.Rectangle
	// Points are keypoint positions in the image's pixel coordinates (the
	// same origin as Region), all inside Region.
	Points [][2]float32
	// Scores are keypoint strengths in 0..1 (heatmap x reliability), in
	// decreasing order.
	Scores []float32
	// Desc holds DescriptorDim int8 values per point: the L2-normalised
	// descriptor times DescriptorScale, rounded.
	Desc []int8
	// Tiles is the LocalFeatureOptions.Tiles of the extractor (0 or 1: the
	// whole model input): the scale the region was described at, which
	// features compared with each other must share.
	Tiles int
}

// Len is the number of keypoints.
func (f *LocalFeatures) Len() int { return len(f.Points) }

// Descriptor returns the stored descriptor of point i.
func (f *LocalFeatures) Descriptor(i int) []int8 {
	return f.Desc[i*DescriptorDim : (i+1)*DescriptorDim : (i+1)*DescriptorDim]
}

// Top returns the k strongest points (all when k <= 0 or k >= Len),
// sharing f's storage: features extracted with many points can be
// matched with fewer, as LighterGlue's cost calls for.
func (f *LocalFeatures) Top(k int) *LocalFeatures {
	if k <= 0 || k >= f.Len() {
		return f
	}
	return &LocalFeatures{W: f.W, H: f.H, Region: f.Region, Points: f.Points[:k:k], Scores: f.Scores[:k:k], Desc: f.Desc[: k*DescriptorDim : k*DescriptorDim], Tiles: f.Tiles}
}

// Subset returns the features whose points lie inside r (image
// coordinates), with Region clipped to r: one extraction of a whole frame
// can serve several boxes in it.
func (f *LocalFeatures) Subset(r image.Rectangle) *LocalFeatures {
	out := &LocalFeatures{W: f.W, H: f.H, Region: f.Region.Intersect(r), Tiles: f.Tiles}
	for i, p := range f.Points {
		if p[0] >= float32(r.Min.X) && p[0] < float32(r.Max.X) && p[1] >= float32(r.Min.Y) && p[1] < float32(r.Max.Y) {
			out.Points = append(out.Points, p)
			out.Scores = append(out.Scores, f.Scores[i])
			out.Desc = append(out.Desc, f.Descriptor(i)...)
		}
	}
	return out
}

// Local feature blob layout, little-endian:
//
//	"VLF" version(1) dim(1) tiles(1)  W H  x0 y0 x1 y1 (Region)  n  (uint16 each)
//	n x (x, y)     uint16: position / W (or H) * 65535, rounded
//	n x score      uint16: score * 65535, rounded
//	n x dim        int8:   descriptors
//
// 70 bytes per point plus a 20-byte header (71.7 kB for 1024 points).
// Version 1 had no tiles byte (features of the whole model input).
const (
	blobMagic   = "VLF"
	blobVersion = 2
	blobHeader  = 4 + 1 + 1 + 7*2
	blobPerPt   = 4 + 2 + DescriptorDim
	// MaxLocalFeatures is the most keypoints a blob holds.
	MaxLocalFeatures = math.MaxUint16
)

// ErrBadBlob is returned by UnmarshalBinary for data that is not a valid
// local feature blob.
var ErrBadBlob = errors.New("vision: invalid local feature blob")

// MarshalBinary encodes the features compactly (see the blob layout above):
// positions keep 1/65535 of the image size, scores 1/65535, descriptors
// their int8 values.
func (f *LocalFeatures) MarshalBinary() ([]byte, error) {
	n := len(f.Points)
	switch {
	case f.W <= 0 || f.H <= 0 || f.W > math.MaxUint16 || f.H > math.MaxUint16:
		return nil, fmt.Errorf("vision: marshal local features: image size %dx%d", f.W, f.H)
	case n > MaxLocalFeatures:
		return nil, fmt.Errorf("vision: marshal local features: %d points, at most %d", n, MaxLocalFeatures)
	case len(f.Scores) != n || len(f.Desc) != n*DescriptorDim:
		return nil, fmt.Errorf("vision: marshal local features: %d points, %d scores, %d descriptor values", n, len(f.Scores), len(f.Desc))
	case !f.Region.In(image.Rect(0, 0, f.W, f.H)):
		return nil, fmt.Errorf("vision: marshal local features: region %v outside the %dx%d image", f.Region, f.W, f.H)
	}
	b := make([]byte, 0, blobHeader+n*blobPerPt)
	b = append(b, blobMagic...)
	b = append(b, blobVersion, DescriptorDim, byte(max(f.Tiles, 1)))
	for _, v := range []int{f.W, f.H, f.Region.Min.X, f.Region.Min.Y, f.Region.Max.X, f.Region.Max.Y, n} {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	fix := func(v float32, side int) uint16 {
		return uint16(math.Round(float64(min(max(v/float32(side), 0), 1)) * math.MaxUint16))
	}
	for _, p := range f.Points {
		b = binary.LittleEndian.AppendUint16(b, fix(p[0], f.W))
		b = binary.LittleEndian.AppendUint16(b, fix(p[1], f.H))
	}
	for _, s := range f.Scores {
		b = binary.LittleEndian.AppendUint16(b, fix(s, 1))
	}
	for _, d := range f.Desc {
		b = append(b, byte(d))
	}
	return b, nil
}

// UnmarshalBinary decodes a blob written by MarshalBinary. Any input is
// safe: malformed data yields an error wrapping ErrBadBlob.
func (f *LocalFeatures) UnmarshalBinary(b []byte) error {
	if len(b) < blobHeader-1 || string(b[:3]) != blobMagic {
		return fmt.Errorf("%w: no header", ErrBadBlob)
	}
	tiles, head := 1, blobHeader
	switch b[3] {
	case 1:
		head-- // no tiles byte
	case blobVersion:
		tiles = int(b[5])
		if tiles != 1 && tiles != 2 && tiles != 4 {
			return fmt.Errorf("%w: %d tiles", ErrBadBlob, tiles)
		}
	default:
		return fmt.Errorf("%w: version %d, want 1 or %d", ErrBadBlob, b[3], blobVersion)
	}
	if b[4] != DescriptorDim {
		return fmt.Errorf("%w: descriptor length %d, want %d", ErrBadBlob, b[4], DescriptorDim)
	}
	if len(b) < head {
		return fmt.Errorf("%w: no header", ErrBadBlob)
	}
	var h [7]int
	for i := range h {
		h[i] = int(binary.LittleEndian.Uint16(b[head-14+2*i:]))
	}
	w, ht, n := h[0], h[1], h[6]
	r := image.Rect(h[2], h[3], h[4], h[5])
	if w == 0 || ht == 0 || r.Min.X >= r.Max.X || r.Min.Y >= r.Max.Y || !r.In(image.Rect(0, 0, w, ht)) {
		return fmt.Errorf("%w: image %dx%d, region %v", ErrBadBlob, w, ht, r)
	}
	if len(b) != head+n*blobPerPt {
		return fmt.Errorf("%w: %d bytes for %d points, want %d", ErrBadBlob, len(b), n, head+n*blobPerPt)
	}
	out := LocalFeatures{W: w, H: ht, Region: r, Points: make([][2]float32, n), Scores: make([]float32, n), Desc: make([]int8, n*DescriptorDim), Tiles: tiles}
	p := b[head:]
	for i := range out.Points {
		x := float32(binary.LittleEndian.Uint16(p[4*i:])) / math.MaxUint16 * float32(w)
		y := float32(binary.LittleEndian.Uint16(p[4*i+2:])) / math.MaxUint16 * float32(ht)
		out.Points[i] = [2]float32{x, y}
	}
	p = p[4*n:]
	for i := range out.Scores {
		out.Scores[i] = float32(binary.LittleEndian.Uint16(p[2*i:])) / math.MaxUint16
	}
	p = p[2*n:]
	for i := range out.Desc {
		out.Desc[i] = max(int8(p[i]), -DescriptorScale) // as the encoder writes
	}
	*f = out
	return nil
}

// LocalFeatureOptions configure OpenLocalFeatures.
type LocalFeatureOptions struct {
	SessionOptions
	// File is the model file, relative to the models directory (default
	// XFeatFile).
	File string
	// RuntimeLib is the ONNX Runtime library path (see FindRuntimeLibrary).
	RuntimeLib string
	// Verify checks the default model file against XFeatSHA256 before
	// loading.
	Verify bool
	// Resize is how a region becomes the 640x640 model input: ResizeStretch
	// (the default, as XFeat was exported) or ResizeLetterboxCenter (keeps
	// the aspect ratio, pads with the region's mean grey).
	Resize string
	// Threshold is the heatmap value a keypoint needs (default 0.05).
	Threshold float32
	// PixelsPerPoint caps the keypoints of a region at its area in pixels
	// divided by this (default 64), so a small crop, upsampled to the model
	// input, yields fewer points.
	PixelsPerPoint int
	// Tiles is how many regions one model run describes: 1 (DefaultTiles)
	// gives a region the whole 640x640 input; 2 gives each of two regions
	// a 320x640 half (garments and people are taller than wide), for half
	// the runs; 4 gives each of four a 320x320 quarter (see ExtractMany).
	// Features are comparable only between extractors with the same
	// Tiles: the scale at which a region is described differs.
	Tiles int
}

// LocalFeatureExtractor runs XFeat. It is safe for concurrent use.
type LocalFeatureExtractor struct {
	opts LocalFeatureOptions
	sess *session
	bufs sync.Pool // *xfeatBuffers
}

type xfeatBuffers struct {
	rows  []float32 // the crop resized horizontally, 3 interleaved channels
	input []float32 // 3 x 640 x 640
	heat  []float32 // 640 x 640
	desc  []float32 // 80 x 80 x 64, L2-normalised per cell
}

// OpenLocalFeatures initialises the runtime if needed and loads the XFeat
// model from modelsDir (see LocalFeatureOptions.File).
func OpenLocalFeatures(modelsDir string, o LocalFeatureOptions) (*LocalFeatureExtractor, error) {
	if o.Resize == "" {
		o.Resize = ResizeStretch
	}
	if o.Resize != ResizeStretch && o.Resize != ResizeLetterboxCenter {
		return nil, fmt.Errorf("vision: open local features: resize %q, want %q or %q", o.Resize, ResizeStretch, ResizeLetterboxCenter)
	}
	if o.Threshold <= 0 {
		o.Threshold = 0.05
	}
	if o.PixelsPerPoint <= 0 {
		o.PixelsPerPoint = 64
	}
	switch o.Tiles {
	case 0:
		o.Tiles = DefaultTiles
	case 1, 2, 4:
	default:
		return nil, fmt.Errorf("vision: open local features: %d tiles, want 1, 2 or 4", o.Tiles)
	}
	custom := o.File != ""
	if !custom {
		o.File = XFeatFile
	}
	path := o.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(modelsDir, path)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("vision: open local features: %w", err)
	}
	if o.Verify && !custom {
		m := &Manifest{dir: modelsDir}
		if err := m.VerifySHA256(ModelSpec{Name: "xfeat", File: XFeatFile, SHA256: XFeatSHA256}); err != nil {
			return nil, err
		}
	}
	if err := InitRuntime(o.RuntimeLib); err != nil {
		return nil, err
	}
	s, err := newSession(path, "xfeat", []string{xfeatInput}, []string{xfeatDesc, xfeatLogits, xfeatRel}, o.SessionOptions)
	if err != nil {
		return nil, err
	}
	return &LocalFeatureExtractor{opts: o, sess: s}, nil
}

// Options returns the options in effect (defaults filled in).
func (x *LocalFeatureExtractor) Options() LocalFeatureOptions { return x.opts }

// Tiles is how many regions one model run describes
// (LocalFeatureOptions.Tiles).
func (x *LocalFeatureExtractor) Tiles() int { return x.opts.Tiles }

// Close releases the session.
func (x *LocalFeatureExtractor) Close() error { return x.sess.close() }

// Extract returns at most maxPoints keypoints (default 1024 when <= 0;
// fewer for small regions, see LocalFeatureOptions.PixelsPerPoint) of the
// part of img inside region (the whole image when region is empty),
// strongest first. The region is cut out and resized to the model input
// (or to a tile of it, see LocalFeatureOptions.Tiles and Resize); points
// are in img's pixel coordinates with (0, 0) its top-left corner. One call
// runs the model once (about 90 ms on two cores).
func (x *LocalFeatureExtractor) Extract(ctx context.Context, img image.Image, region image.Rectangle, maxPoints int) (*LocalFeatures, error) {
	fs, err := x.ExtractMany(ctx, []LocalRegion{{Image: img, Region: region}}, maxPoints)
	if err != nil {
		return nil, err
	}
	return fs[0], nil
}

// LocalRegion is a region of an image to describe (the whole image when
// Region is empty); with Mirror, the region of the image flipped left to
// right (see ExtractMirrored).
type LocalRegion struct {
	Image  image.Image
	Region image.Rectangle
	Mirror bool
}

// ExtractMany returns the features of each region as Extract (or, for a
// mirrored region, ExtractMirrored) would, in order, describing
// LocalFeatureOptions.Tiles regions per model run.
func (x *LocalFeatureExtractor) ExtractMany(ctx context.Context, rs []LocalRegion, maxPoints int) ([]*LocalFeatures, error) {
	jobs := make([]localJob, len(rs))
	for i, lr := range rs {
		var err error
		if jobs[i], err = newLocalJob(lr, maxPoints); err != nil {
			return nil, err
		}
	}
	return x.extractJobs(ctx, jobs)
}

// newLocalJob returns the job that describes lr.
func newLocalJob(lr LocalRegion, maxPoints int) (localJob, error) {
	if lr.Image == nil {
		return localJob{}, ErrEmptyImage
	}
	b := lr.Image.Bounds()
	r, err := clipRegion(b, lr.Region)
	if err != nil {
		return localJob{}, err
	}
	rel := r.Sub(b.Min)
	j := localJob{crop: Crop(lr.Image, r), region: rel, w: b.Dx(), h: b.Dy(), maxPoints: maxPoints, mirror: lr.Mirror}
	if lr.Mirror {
		j.region = image.Rect(b.Dx()-rel.Max.X, rel.Min.Y, b.Dx()-rel.Min.X, rel.Max.Y)
	}
	return j, nil
}

// ExtractMirrored returns the features of the region of img and those of
// its mirror image (img flipped left to right), for matching a query that
// may show the product mirrored (selfie cameras, flipped edits): XFeat
// descriptors are not mirror-invariant. The mirrored features are those of
// the flipped image, in its coordinates: a point x there is W - x in img.
// With tiles both come from one model run.
func (x *LocalFeatureExtractor) ExtractMirrored(ctx context.Context, img image.Image, region image.Rectangle, maxPoints int) (plain, mirrored *LocalFeatures, err error) {
	rs := []LocalRegion{{Image: img, Region: region}, {Image: img, Region: region, Mirror: true}}
	if x.opts.Tiles > 1 {
		// Both regions share one run.
		fs, err := x.ExtractMany(ctx, rs, maxPoints)
		if err != nil {
			return nil, nil, err
		}
		return fs[0], fs[1], nil
	}
	jobs := make([]localJob, 2)
	for i, lr := range rs {
		var err error
		if jobs[i], err = newLocalJob(lr, maxPoints); err != nil {
			return nil, nil, err
		}
	}
	// One resize for both runs: the mirrored input is the plain one
	// flipped (the resampling filter is symmetric). For a catalog photo
	// the resize took about a tenth of an import's CPU time.
	a, b := x.buffers(), x.buffers()
	defer x.bufs.Put(a)
	defer x.bufs.Put(b)
	ts, content, err := x.fillInput(jobs[:1], a)
	if err != nil {
		return nil, nil, err
	}
	copy(b.input, a.input)
	flipRows(b.input, content[0])
	var fs [2][]*LocalFeatures
	g, gctx := errgroup.WithContext(ctx)
	for i, bufs := range []*xfeatBuffers{a, b} {
		g.Go(func() error {
			var err error
			fs[i], err = x.describe(gctx, jobs[i:i+1], ts, bufs)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return fs[0][0], fs[1][0], nil
}

// flipRows mirrors the part r of each of the three input planes left to
// right.
func flipRows(planes []float32, r image.Rectangle) {
	const S = xfeatSide
	for c := range 3 {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			slices.Reverse(planes[c*S*S+y*S+r.Min.X : c*S*S+y*S+r.Max.X])
		}
	}
}

// clipRegion clips region to the image bounds b (all of b when region is
// empty) and rejects regions with no pixels.
func clipRegion(b, region image.Rectangle) (image.Rectangle, error) {
	if b.Empty() {
		return image.Rectangle{}, ErrEmptyImage
	}
	if region.Empty() {
		return b, nil
	}
	r := region.Intersect(b)
	if r.Empty() {
		return image.Rectangle{}, fmt.Errorf("vision: region %v outside the image %v: %w", region, b, ErrEmptyImage)
	}
	return r, nil
}

// localJob is a crop to describe, which shows region (image coordinates
// relative to the top-left corner) of a w x h image; with mirror, the crop
// is described flipped left to right and region is in the flipped image.
type localJob struct {
	crop      image.Image
	region    image.Rectangle
	w, h      int
	maxPoints int
	mirror    bool
}

// DefaultTiles is the tiles of an extractor whose options name none.
// Measured on the lead tracks of the bench's generated videos, each crop
// against its first five products (both described the same way): of 483
// tracks with a right candidate, whole inputs separated the right product
// from the others in 375, halves in 364, quarters in 352; the ranking of
// right above wrong candidates (AUC) was 0.787, 0.782 and 0.774. End to
// end, halves (with a calibration refitted for them) cut verification by
// a fifth but promoted more colour variants and look-alikes of the shot's
// products over them: re-shot published precision 1.0 -> 0.889 on the
// same detections. Whole inputs stay the default.
const DefaultTiles = 1

// tileMargin is how far from a tile's inner edges a keypoint must lie:
// near them the network sees the neighbouring tile too.
const tileMargin = 8

// tileRects returns the input rectangles of n tiles (1: the whole input;
// 2: the left and right halves; 4: the quadrants).
func tileRects(n int) []image.Rectangle {
	const S, h = xfeatSide, xfeatSide / 2
	switch n {
	case 2:
		return []image.Rectangle{image.Rect(0, 0, h, S), image.Rect(h, 0, S, S)}
	case 4:
		return []image.Rectangle{image.Rect(0, 0, h, h), image.Rect(h, 0, S, h), image.Rect(0, h, h, S), image.Rect(h, h, S, S)}
	}
	return []image.Rectangle{image.Rect(0, 0, S, S)}
}

// innerTile is the part of tile where keypoints are kept: tileMargin in
// from the edges it shares with other tiles.
func innerTile(tile image.Rectangle) image.Rectangle {
	if tile.Min.X > 0 {
		tile.Min.X += tileMargin
	}
	if tile.Min.Y > 0 {
		tile.Min.Y += tileMargin
	}
	if tile.Max.X < xfeatSide {
		tile.Max.X -= tileMargin
	}
	if tile.Max.Y < xfeatSide {
		tile.Max.Y -= tileMargin
	}
	return tile
}

// extractJobs describes the jobs, Tiles at a time per model run, with as
// many runs at once as the session allows (SessionOptions.Runs): each
// run's Go side (resizing, keypoint selection) overlaps another's
// inference. Two single-thread runs described a video crop in 27 ms where
// one run of two threads took 38 ms (two cores).
func (x *LocalFeatureExtractor) extractJobs(ctx context.Context, jobs []localJob) ([]*LocalFeatures, error) {
	out := make([]*LocalFeatures, len(jobs))
	n := x.opts.Tiles
	runs := (len(jobs) + n - 1) / n
	workers := min(runs, cap(x.sess.slots))
	if workers <= 1 {
		for lo := 0; lo < len(jobs); lo += n {
			fs, err := x.extractRun(ctx, jobs[lo:min(lo+n, len(jobs))])
			if err != nil {
				return nil, err
			}
			copy(out[lo:], fs)
		}
		return out, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for lo := 0; lo < len(jobs); lo += n {
		g.Go(func() error {
			fs, err := x.extractRun(gctx, jobs[lo:min(lo+n, len(jobs))])
			copy(out[lo:], fs)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// buffers returns a run's buffers from the pool (or new ones).
func (x *LocalFeatureExtractor) buffers() *xfeatBuffers {
	if bufs, ok := x.bufs.Get().(*xfeatBuffers); ok {
		return bufs
	}
	return &xfeatBuffers{
		input: make([]float32, 3*xfeatSide*xfeatSide),
		heat:  make([]float32, xfeatSide*xfeatSide),
		desc:  make([]float32, xfeatCells*xfeatCells*DescriptorDim),
	}
}

// extractRun describes up to Tiles jobs in one model run.
func (x *LocalFeatureExtractor) extractRun(ctx context.Context, jobs []localJob) ([]*LocalFeatures, error) {
	bufs := x.buffers()
	defer x.bufs.Put(bufs)
	ts, _, err := x.fillInput(jobs, bufs)
	if err != nil {
		return nil, err
	}
	return x.describe(ctx, jobs, ts, bufs)
}

// fillInput writes the jobs' crops into the tiles of bufs.input and
// returns, per job, the transform from input pixels to its crop and the
// input rectangle its picture fills.
func (x *LocalFeatureExtractor) fillInput(jobs []localJob, bufs *xfeatBuffers) ([]transform, []image.Rectangle, error) {
	tiles := tileRects(x.opts.Tiles)
	ts := make([]transform, len(jobs))
	content := make([]image.Rectangle, len(jobs))
	for i := range tiles {
		// Unused tiles repeat the last region, whose copy is not read:
		// a blank tile would change the statistics below.
		j := jobs[min(i, len(jobs)-1)]
		t, dr, err := resizeToTensor(j.crop, x.opts.Resize, bufs, tiles[i])
		if err != nil {
			return nil, nil, fmt.Errorf("vision: local features: %w", err)
		}
		if j.mirror {
			// The flipped picture maps to the flipped crop as the plain
			// one to the crop: t holds for both.
			flipRows(bufs.input, dr)
		}
		if i < len(jobs) {
			ts[i], content[i] = t, dr
		}
		if len(tiles) > 1 {
			standardiseTile(bufs.input, tiles[i])
		}
	}
	return ts, content, nil
}

// describe runs the model on bufs.input, which holds the jobs' crops (ts
// their transforms), and picks each job's keypoints.
func (x *LocalFeatureExtractor) describe(ctx context.Context, jobs []localJob, ts []transform, bufs *xfeatBuffers) ([]*LocalFeatures, error) {
	tiles := tileRects(x.opts.Tiles)
	in := InputSpec{Name: xfeatInput, Width: xfeatSide, Height: xfeatSide, Batch: 1, Layout: "nchw", Channels: "rgb", Scale: 1.0 / 255, Resize: x.opts.Resize}
	outs, err := x.sess.runImages(ctx, in, bufs.input, 1, "local features")
	if err != nil {
		return nil, err
	}
	defer destroyAll(outs)
	var maps [3][]float32
	for i, name := range []string{xfeatDesc, xfeatLogits, xfeatRel} {
		data, shape, err := floatOutput(outs[i], name)
		if err != nil {
			return nil, fmt.Errorf("vision: local features: %w", err)
		}
		want := []int64{1, []int64{DescriptorDim, 65, 1}[i], xfeatCells, xfeatCells}
		if !slices.Equal(shape, want) {
			return nil, fmt.Errorf("vision: local features: output %q has shape %v, want %v", name, shape, want)
		}
		maps[i] = data
	}
	kps := detectKeypoints(maps[1], maps[2], bufs.heat, x.opts.Threshold)
	normaliseCells(maps[0], bufs.desc)
	res := make([]*LocalFeatures, len(jobs))
	desc := make([]float32, DescriptorDim)
	for i, j := range jobs {
		maxPoints := j.maxPoints
		if maxPoints <= 0 {
			maxPoints = 1024
		}
		k := min(maxPoints, max(1, j.region.Dx()*j.region.Dy()/x.opts.PixelsPerPoint), MaxLocalFeatures)
		keep := innerTile(tiles[i])
		f := &LocalFeatures{W: j.w, H: j.h, Region: j.region, Tiles: x.opts.Tiles}
		cw, ch := float64(j.crop.Bounds().Dx()), float64(j.crop.Bounds().Dy())
		for _, kp := range kps {
			if len(f.Points) == k {
				break
			}
			if !image.Pt(kp.x, kp.y).In(keep) {
				continue
			}
			ox, oy := ts[i].toOrig(float64(kp.x)+0.5, float64(kp.y)+0.5)
			if ox < 0 || oy < 0 || ox >= cw || oy >= ch {
				continue // letterbox padding
			}
			sampleDescriptor(bufs.desc, kp.x, kp.y, desc)
			Normalize(desc)
			f.Points = append(f.Points, [2]float32{float32(j.region.Min.X) + float32(ox), float32(j.region.Min.Y) + float32(oy)})
			f.Scores = append(f.Scores, kp.score)
			for _, v := range desc {
				f.Desc = append(f.Desc, int8(math.Round(float64(min(max(v, -1), 1)*DescriptorScale))))
			}
		}
		res[i] = f
	}
	return res, nil
}

// standardiseTile gives the grey image of one tile of the input planes
// the mean and contrast every tile gets. XFeat first averages the channels
// to grey and normalises that image's mean and standard deviation; over a
// mosaic of standardised tiles this equals normalising each tile alone, so
// a tile's keypoints do not depend on its neighbours' contrast (without
// it, a plain garment beside a patterned one lost three quarters of its
// keypoints).
func standardiseTile(planes []float32, tile image.Rectangle) {
	const S = xfeatSide
	const mean, sd = 0.5, 0.2
	var sum, sq float64
	n := float64(tile.Dx() * tile.Dy())
	for y := tile.Min.Y; y < tile.Max.Y; y++ {
		for x := tile.Min.X; x < tile.Max.X; x++ {
			i := y*S + x
			g := float64(planes[i]+planes[S*S+i]+planes[2*S*S+i]) / 3
			sum += g
			sq += g * g
		}
	}
	m := sum / n
	s := math.Sqrt(max(sq/n-m*m, 0))
	k := float32(sd / max(s, 1e-3))
	off := float32(mean) - float32(m)*k
	for c := range 3 {
		for y := tile.Min.Y; y < tile.Max.Y; y++ {
			row := planes[c*S*S+y*S+tile.Min.X : c*S*S+y*S+tile.Max.X]
			for i, v := range row {
				row[i] = v*k + off
			}
		}
	}
}

// resizeToTensor resizes img to a tile of the 640x640 model input in
// bufs.input (RGB planes, 0..1): stretched, or letterboxed (centred, aspect
// kept, padded with the image's mean grey). It resamples with a triangle
// filter whose support widens when shrinking (like x/image/draw's
// BiLinear, about five times faster on these sizes). Transparent pixels are composited on
// white. The returned transform maps input pixels back to img's pixels,
// relative to its top-left corner; the rectangle is the part of the input
// the picture fills (all of tile unless letterboxed).
func resizeToTensor(img image.Image, mode string, bufs *xfeatBuffers, tile image.Rectangle) (transform, image.Rectangle, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return transform{}, image.Rectangle{}, ErrEmptyImage
	}
	if w > maxSide || h > maxSide {
		return transform{}, image.Rectangle{}, fmt.Errorf("vision: image %dx%d larger than %d pixels a side", w, h, maxSide)
	}
	src, ok := img.(*image.RGBA)
	if !ok || !src.Opaque() {
		src = image.NewRGBA(image.Rect(0, 0, w, h))
		op := draw.Src
		if o, ok := img.(interface{ Opaque() bool }); !ok || !o.Opaque() {
			draw.Draw(src, src.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
			op = draw.Over
		}
		draw.Draw(src, src.Bounds(), img, b.Min, op)
	}
	const S = xfeatSide
	tw, th := tile.Dx(), tile.Dy()
	dr := tile
	t := transform{sx: float64(tw) / float64(w), sy: float64(th) / float64(h), ox: float64(tile.Min.X), oy: float64(tile.Min.Y)}
	plane := bufs.input
	if mode == ResizeLetterboxCenter {
		r := min(float64(tw)/float64(w), float64(th)/float64(h))
		nw, nh := max(1, int(float64(w)*r)), max(1, int(float64(h)*r))
		x0, y0 := tile.Min.X+(tw-nw)/2, tile.Min.Y+(th-nh)/2
		dr = image.Rect(x0, y0, x0+nw, y0+nh)
		t = transform{sx: r, sy: r, ox: float64(x0), oy: float64(y0)}
		pad := float32(meanGrey(src)) / 255
		for c := range 3 {
			for y := tile.Min.Y; y < tile.Max.Y; y++ {
				row := plane[c*S*S+y*S+tile.Min.X : c*S*S+y*S+tile.Max.X]
				for i := range row {
					row[i] = pad
				}
			}
		}
	}
	xs := filterTaps(w, dr.Dx(), t.sx)
	ys := filterTaps(h, dr.Dy(), t.sy)
	// Horizontal pass over every source row, then vertical into the planes.
	nw := dr.Dx()
	bufs.rows = slices.Grow(bufs.rows[:0], h*nw*3)[:h*nw*3]
	for y := 0; y < h; y++ {
		row := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+y):]
		out := bufs.rows[y*nw*3 : (y+1)*nw*3]
		for ox, tp := range xs {
			var r, g, bl float32
			for i, wt := range tp.w {
				p := row[4*(tp.first+i):]
				r += wt * float32(p[0])
				g += wt * float32(p[1])
				bl += wt * float32(p[2])
			}
			out[3*ox], out[3*ox+1], out[3*ox+2] = r, g, bl
		}
	}
	const inv = 1.0 / 255
	for oy, tp := range ys {
		base := (dr.Min.Y+oy)*S + dr.Min.X
		rp, gp, bp := plane[base:base+nw], plane[S*S+base:S*S+base+nw], plane[2*S*S+base:2*S*S+base+nw]
		clear(rp)
		clear(gp)
		clear(bp)
		for i, wt := range tp.w {
			in := bufs.rows[(tp.first+i)*nw*3 : (tp.first+i+1)*nw*3]
			wt *= inv
			for ox := range nw {
				rp[ox] += wt * in[3*ox]
				gp[ox] += wt * in[3*ox+1]
				bp[ox] += wt * in[3*ox+2]
			}
		}
	}
	return t, dr, nil
}

// taps are the source pixels first, first+1, ... and their weights for one
// output pixel.
type taps struct {
	first int
	w     []float32
}

// filterTaps returns, for each of n output pixels along an axis of src
// source pixels scaled by scale, the triangle filter taps (support 1
// source pixel when enlarging, 1/scale when shrinking), normalised, with
// edge pixels repeated.
func filterTaps(src, n int, scale float64) []taps {
	support := max(1, 1/scale)
	out := make([]taps, n)
	for o := range out {
		c := (float64(o)+0.5)/scale - 0.5
		lo := int(math.Floor(c-support)) + 1
		hi := int(math.Ceil(c+support)) - 1
		first := min(max(lo, 0), src-1)
		last := min(max(hi, 0), src-1)
		w := make([]float32, last-first+1)
		var sum float64
		for i := lo; i <= hi; i++ {
			v := 1 - math.Abs(float64(i)-c)/support
			if v <= 0 {
				continue
			}
			w[min(max(i, 0), src-1)-first] += float32(v)
			sum += v
		}
		if sum == 0 {
			w[min(max(int(math.Round(c)), 0), src-1)-first] = 1
			sum = 1
		}
		for i := range w {
			w[i] /= float32(sum)
		}
		out[o] = taps{first: first, w: w}
	}
	return out
}

// meanGrey is the mean luminance of img, sampled on a grid of about 64x64.
func meanGrey(img *image.RGBA) uint8 {
	b := img.Bounds()
	sx, sy := max(1, b.Dx()/64), max(1, b.Dy()/64)
	var sum, n uint64
	for y := b.Min.Y; y < b.Max.Y; y += sy {
		for x := b.Min.X; x < b.Max.X; x += sx {
			c := img.RGBAAt(x, y)
			sum += (299*uint64(c.R) + 587*uint64(c.G) + 114*uint64(c.B)) / 1000
			n++
		}
	}
	return uint8(sum / max(n, 1))
}

type keypoint struct {
	x, y  int // pixel of the 640x640 model input
	score float32
}

// detectKeypoints turns the keypoint logits into the 640x640 heatmap
// (softmax over the 65 channels of each cell, the first 64 spread over its
// 8x8 pixels), keeps the local maxima of 5x5 windows above thr and scores
// them by heat x reliability, strongest first.
func detectKeypoints(logits, rel, heat []float32, thr float32) []keypoint {
	keypointHeat(logits, heat, thr)
	return pickKeypoints(heat, rel, thr)
}

// keypointHeat fills heat with the softmax of the logits, where it can be
// above skip. A pixel's softmax is at most exp(its logit - the cell's
// largest), so a cell whose pixels all lie below the largest by more than
// -ln(skip) cannot reach it: its heat is left 0 without the 65 exps (most
// cells, where the dustbin wins). For pickKeypoints with a threshold of
// skip, 0 is as good as the true values, in the local-maximum test too:
// both stay under any pixel above it. skip 0 computes every cell.
func keypointHeat(logits, heat []float32, skip float32) {
	const plane = xfeatCells * xfeatCells
	var e [65]float64
	// The margin keeps rounding on the side of computing.
	skipBelow := float32(math.Log(float64(max(skip, 1e-30)))) - 1e-3
	for cy := 0; cy < xfeatCells; cy++ {
		for cx := 0; cx < xfeatCells; cx++ {
			cell := cy*xfeatCells + cx
			mp := float32(math.Inf(-1))
			for c := 0; c < 64; c++ {
				mp = max(mp, logits[c*plane+cell])
			}
			m := max(mp, logits[64*plane+cell])
			if skip > 0 && mp-m < skipBelow {
				for c := 0; c < 64; c++ {
					heat[(cy*8+c/8)*xfeatSide+cx*8+c%8] = 0
				}
				continue
			}
			var sum float64
			for c := 0; c < 65; c++ {
				e[c] = math.Exp(float64(logits[c*plane+cell] - m))
				sum += e[c]
			}
			for c := 0; c < 64; c++ {
				heat[(cy*8+c/8)*xfeatSide+cx*8+c%8] = float32(e[c] / sum)
			}
		}
	}
}

// pickKeypoints keeps the local maxima of heat's 5x5 windows above thr,
// scored by heat x reliability, strongest first.
func pickKeypoints(heat, rel []float32, thr float32) []keypoint {
	var kps []keypoint
	for y := 0; y < xfeatSide; y++ {
		row := heat[y*xfeatSide : (y+1)*xfeatSide]
		for x, v := range row {
			if v <= thr || !localMax(heat, x, y, v) {
				continue
			}
			kps = append(kps, keypoint{x: x, y: y, score: v * sampleMap(rel, x, y)})
		}
	}
	slices.SortStableFunc(kps, func(a, b keypoint) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	return kps
}

// localMax reports whether v = heat(x, y) is the maximum of its 5x5
// window (ties keep every equal pixel, as upstream's max-pool test does).
func localMax(heat []float32, x, y int, v float32) bool {
	for yy := max(0, y-2); yy <= min(xfeatSide-1, y+2); yy++ {
		row := heat[yy*xfeatSide : (yy+1)*xfeatSide]
		for xx := max(0, x-2); xx <= min(xfeatSide-1, x+2); xx++ {
			if row[xx] > v {
				return false
			}
		}
	}
	return true
}

// cellCoord maps input pixel p to the continuous coordinate of the 80-cell
// map that upstream's grid_sample (align_corners=False) reads.
func cellCoord(p int) float64 {
	return float64(p)/float64(xfeatSide-1)*xfeatCells - 0.5
}

// bilinearTaps returns the four cells around input pixel (x, y) and their
// weights; taps outside the map get weight 0 (zero padding).
func bilinearTaps(x, y int) (idx [4]int, w [4]float32) {
	u, v := cellCoord(x), cellCoord(y)
	x0, y0 := int(math.Floor(u)), int(math.Floor(v))
	fx, fy := float32(u-float64(x0)), float32(v-float64(y0))
	k := 0
	for dy := 0; dy < 2; dy++ {
		for dx := 0; dx < 2; dx++ {
			cx, cy := x0+dx, y0+dy
			wx, wy := 1-fx, 1-fy
			if dx == 1 {
				wx = fx
			}
			if dy == 1 {
				wy = fy
			}
			if cx >= 0 && cy >= 0 && cx < xfeatCells && cy < xfeatCells {
				idx[k], w[k] = cy*xfeatCells+cx, wx*wy
			}
			k++
		}
	}
	return idx, w
}

// sampleMap reads a one-channel 80x80 map bilinearly at input pixel (x, y).
func sampleMap(m []float32, x, y int) float32 {
	idx, w := bilinearTaps(x, y)
	var s float32
	for i := range idx {
		s += w[i] * m[idx[i]]
	}
	return s
}

// normaliseCells writes the descriptor map (CHW) cell-major into dst, each
// cell's 64 values L2-normalised.
func normaliseCells(chw, dst []float32) {
	const plane = xfeatCells * xfeatCells
	for cell := 0; cell < plane; cell++ {
		d := dst[cell*DescriptorDim : (cell+1)*DescriptorDim]
		for c := range d {
			d[c] = chw[c*plane+cell]
		}
		Normalize(d)
	}
}

// sampleDescriptor interpolates the cell-major descriptor map bilinearly at
// input pixel (x, y) into out.
func sampleDescriptor(cells []float32, x, y int, out []float32) {
	clear(out)
	idx, w := bilinearTaps(x, y)
	for i := range idx {
		if w[i] == 0 {
			continue
		}
		d := cells[idx[i]*DescriptorDim : (idx[i]+1)*DescriptorDim]
		for c, v := range d {
			out[c] += w[i] * v
		}
	}
}

// LighterGlueFile is the file name of LighterGlue for XFeat (3 layers,
// Apache-2.0) in the models directory: a learned matcher, slower than
// mutual nearest neighbours (hundreds of milliseconds per pair at 1024
// points), for a short list.
const LighterGlueFile = "lighterglue_xfeat_l3.onnx"

// LighterGlueSHA256 is the digest of the LighterGlue model file that was
// measured.
const LighterGlueSHA256 = "a721f366f54b20328fa98c799cc31478edb1c31f0c941528df3d363c3753760d"

// GlueMatch is one LighterGlue match: point A of the first feature set,
// point B of the second, and the matcher's confidence.
type GlueMatch struct {
	A, B  int
	Score float32
}

// LighterGlue matches two sets of XFeat features. It is safe for
// concurrent use.
type LighterGlue struct {
	sess *session
}

// OpenLighterGlue initialises the runtime if needed and loads LighterGlue
// from modelsDir (o.File defaults to LighterGlueFile; only the session
// options, RuntimeLib and Verify apply).
func OpenLighterGlue(modelsDir string, o LocalFeatureOptions) (*LighterGlue, error) {
	custom := o.File != ""
	if !custom {
		o.File = LighterGlueFile
	}
	path := o.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(modelsDir, path)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("vision: open lighterglue: %w", err)
	}
	if o.Verify && !custom {
		m := &Manifest{dir: modelsDir}
		if err := m.VerifySHA256(ModelSpec{Name: "lighterglue", File: LighterGlueFile, SHA256: LighterGlueSHA256}); err != nil {
			return nil, err
		}
	}
	if err := InitRuntime(o.RuntimeLib); err != nil {
		return nil, err
	}
	s, err := newSession(path, "lighterglue", []string{"kpts0", "kpts1", "desc0", "desc1"}, []string{"matches", "scores"}, o.SessionOptions)
	if err != nil {
		return nil, err
	}
	return &LighterGlue{sess: s}, nil
}

// Close releases the session.
func (g *LighterGlue) Close() error { return g.sess.close() }

// Match returns the matches between a and b scored above minScore (0.5 is
// the usual floor), best first. Keypoints are normalised within each
// set's region, as LighterGlue normalises them within the image.
func (g *LighterGlue) Match(ctx context.Context, a, b *LocalFeatures, minScore float32) ([]GlueMatch, error) {
	if a.Len() == 0 || b.Len() == 0 {
		return nil, nil
	}
	var in []ort.Value
	defer func() { destroyAll(in) }()
	for _, f := range []*LocalFeatures{a, b} {
		kp, err := ort.NewTensor(ort.NewShape(1, int64(f.Len()), 2), glueKeypoints(f))
		if err != nil {
			return nil, fmt.Errorf("vision: lighterglue: keypoint tensor: %w", err)
		}
		in = append(in, kp)
	}
	for _, f := range []*LocalFeatures{a, b} {
		d := make([]float32, f.Len()*DescriptorDim)
		for i, v := range f.Desc[:len(d)] {
			d[i] = float32(v) / DescriptorScale
		}
		dt, err := ort.NewTensor(ort.NewShape(1, int64(f.Len()), DescriptorDim), d)
		if err != nil {
			return nil, fmt.Errorf("vision: lighterglue: descriptor tensor: %w", err)
		}
		in = append(in, dt)
	}
	outs, err := g.sess.run(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("vision: lighterglue: %w", err)
	}
	defer destroyAll(outs)
	mt, ok := outs[0].(*ort.Tensor[int64])
	if !ok || mt == nil {
		return nil, fmt.Errorf("vision: lighterglue: output \"matches\" is not an int64 tensor")
	}
	scores, _, err := floatOutput(outs[1], "scores")
	if err != nil {
		return nil, fmt.Errorf("vision: lighterglue: %w", err)
	}
	idx := mt.GetData()
	if len(idx) != 2*len(scores) {
		return nil, fmt.Errorf("vision: lighterglue: %d match indices for %d scores", len(idx), len(scores))
	}
	var out []GlueMatch
	for i, s := range scores {
		ia, ib := int(idx[2*i]), int(idx[2*i+1])
		if s <= minScore || ia < 0 || ib < 0 || ia >= a.Len() || ib >= b.Len() {
			continue
		}
		out = append(out, GlueMatch{A: ia, B: ib, Score: s})
	}
	slices.SortStableFunc(out, func(x, y GlueMatch) int {
		switch {
		case x.Score > y.Score:
			return -1
		case x.Score < y.Score:
			return 1
		}
		return 0
	})
	return out, nil
}

// glueKeypoints returns f's points as LighterGlue takes them: (p - c) / s
// with c the region's centre and s half its longer side.
func glueKeypoints(f *LocalFeatures) []float32 {
	r := f.Region
	if r.Empty() {
		r = image.Rect(0, 0, f.W, f.H)
	}
	cx, cy := float32(r.Min.X)+float32(r.Dx())/2, float32(r.Min.Y)+float32(r.Dy())/2
	s := float32(max(r.Dx(), r.Dy(), 1)) / 2
	out := make([]float32, 0, 2*f.Len())
	for _, p := range f.Points {
		out = append(out, (p[0]-cx)/s, (p[1]-cy)/s)
	}
	return out
}
