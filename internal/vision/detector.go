package vision

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"
)

// Box is an axis-aligned box in pixel coordinates of the original image,
// X0,Y0 inclusive top-left and X1,Y1 exclusive bottom-right.
type Box struct {
	X0, Y0, X1, Y1 float32
}

// W is the box width.
func (b Box) W() float32 { return max(0, b.X1-b.X0) }

// H is the box height.
func (b Box) H() float32 { return max(0, b.Y1-b.Y0) }

// Area is W*H.
func (b Box) Area() float32 { return b.W() * b.H() }

// Rect rounds the box to integer pixels.
func (b Box) Rect() image.Rectangle {
	return image.Rect(int(math.Floor(float64(b.X0))), int(math.Floor(float64(b.Y0))),
		int(math.Ceil(float64(b.X1))), int(math.Ceil(float64(b.Y1))))
}

// IoU is the intersection over union of two boxes.
func (b Box) IoU(o Box) float32 {
	ix := min(b.X1, o.X1) - max(b.X0, o.X0)
	iy := min(b.Y1, o.Y1) - max(b.Y0, o.Y0)
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	return inter / (b.Area() + o.Area() - inter)
}

// Clamp limits the box to r.
func (b Box) Clamp(r image.Rectangle) Box {
	c := func(v float32, lo, hi int) float32 { return min(max(v, float32(lo)), float32(hi)) }
	return Box{c(b.X0, r.Min.X, r.Max.X), c(b.Y0, r.Min.Y, r.Max.Y), c(b.X1, r.Min.X, r.Max.X), c(b.Y1, r.Min.Y, r.Max.Y)}
}

// Detection is one object found by the detector.
type Detection struct {
	Class int
	Label string
	Score float32
	Box   Box
}

// DetectorOptions tune detection.
type DetectorOptions struct {
	SessionOptions
	// ScoreThreshold drops detections below it (default 0.3).
	ScoreThreshold float32
	// IoUThreshold is the class-aware NMS overlap limit (default 0.45).
	IoUThreshold float32
	// MaxDetections per image after NMS (default 100).
	MaxDetections int
	// MinBoxSide drops boxes thinner than this many original pixels (default 2).
	MinBoxSide float32
}

func (o DetectorOptions) withDefaults() DetectorOptions {
	if o.ScoreThreshold <= 0 {
		o.ScoreThreshold = 0.3
	}
	if o.IoUThreshold <= 0 {
		o.IoUThreshold = 0.45
	}
	if o.MaxDetections <= 0 {
		o.MaxDetections = 100
	}
	if o.MinBoxSide <= 0 {
		o.MinBoxSide = 2
	}
	return o
}

// Detector runs an object detection model. It is safe for concurrent use.
type Detector struct {
	spec    ModelSpec
	opts    DetectorOptions
	classes []string
	sess    *session
}

// OpenDetector loads the detector described by spec from m.
func OpenDetector(m *Manifest, spec ModelSpec, opts DetectorOptions) (*Detector, error) {
	if spec.Role != RoleDetector && spec.Role != RoleGarmentDetector {
		return nil, fmt.Errorf("vision: open detector %s: role is %q", spec.Name, spec.Role)
	}
	classes, err := m.ClassNames(spec)
	if err != nil {
		return nil, err
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("vision: open detector %s: no class names", spec.Name)
	}
	if spec.Format == FormatYOLOX && len(spec.Strides) == 0 {
		spec.Strides = []int{8, 16, 32}
	}
	opts = opts.withDefaults()
	var edit func([]byte) ([]byte, error)
	if spec.Input.Trim > 0 {
		hw := []int{2, 3}
		if spec.Input.Layout == "nhwc" {
			hw = []int{1, 2}
		}
		edit = func(b []byte) ([]byte, error) { return spatialDims(b, spec.Input.Name, hw) }
	}
	s, err := newEditedSession(m.Path(spec.File), spec.Name, []string{spec.Input.Name}, []string{spec.Outputs.Detections}, opts.SessionOptions, edit)
	if err != nil {
		return nil, err
	}
	d := &Detector{spec: spec, opts: opts, classes: classes, sess: s}
	if spec.Input.Trim > 0 {
		// A graph with a fixed size inside fails here, not on a video.
		probe := image.NewRGBA(image.Rect(0, 0, spec.Input.Trim, spec.Input.Height))
		if _, err := d.Detect(context.Background(), probe); err != nil {
			s.close()
			return nil, fmt.Errorf("vision: open detector %s: input.trim set but the model does not run trimmed: %w", spec.Name, err)
		}
	}
	return d, nil
}

// inputFor returns the model input an image of the given bounds is run
// at: the spec's, or with Trim the letterboxed image's size rounded up to
// a multiple of Trim (see InputSpec.Trim). The letterbox scale stays the
// full canvas's: one side of the trimmed input still fills its length.
func (d *Detector) inputFor(b image.Rectangle) InputSpec {
	in := d.spec.Input
	w, h := b.Dx(), b.Dy()
	if in.Trim <= 0 || w <= 0 || h <= 0 {
		return in
	}
	r := min(float64(in.Width)/float64(w), float64(in.Height)/float64(h))
	fit := func(side, limit int) int {
		n := int(math.Ceil(float64(side)*r - 1e-9))
		return min(limit, max(in.Trim, (n+in.Trim-1)/in.Trim*in.Trim))
	}
	in.Width, in.Height = fit(w, in.Width), fit(h, in.Height)
	return in
}

// Spec returns the model description.
func (d *Detector) Spec() ModelSpec { return d.spec }

// Classes returns the class names, indexed by Detection.Class.
func (d *Detector) Classes() []string { return slices.Clone(d.classes) }

// Close releases the session.
func (d *Detector) Close() error { return d.sess.close() }

// Detect finds objects in one image. Boxes are in img's own coordinate
// space (the space of img.Bounds(), so a SubImage keeps its parent's
// coordinates) and lie inside img.Bounds().
func (d *Detector) Detect(ctx context.Context, img image.Image) ([]Detection, error) {
	out, err := d.DetectBatch(ctx, []image.Image{img})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// DetectBatch runs Detect on several images, batching as far as the model
// allows; result i belongs to imgs[i].
func (d *Detector) DetectBatch(ctx context.Context, imgs []image.Image) ([][]Detection, error) {
	res := make([][]Detection, 0, len(imgs))
	for i := 0; i < len(imgs); {
		if imgs[i] == nil {
			return nil, fmt.Errorf("vision: detect image %d: %w", i, ErrEmptyImage)
		}
		// A run holds images of one input size.
		in := d.inputFor(imgs[i].Bounds())
		same := 1
		for i+same < len(imgs) && imgs[i+same] != nil {
			next := d.inputFor(imgs[i+same].Bounds())
			if next.Width != in.Width || next.Height != in.Height {
				break
			}
			same++
		}
		per := 3 * in.Width * in.Height
		for _, k := range batchPlan(same, in.Batch, 8) {
			n := max(k, in.Batch)
			buf := make([]float32, n*per)
			tfs := make([]transform, k)
			for j := 0; j < k; j++ {
				t, err := preprocess(imgs[i+j], in, buf[j*per:(j+1)*per])
				if err != nil {
					return nil, fmt.Errorf("vision: detect image %d: %w", i+j, err)
				}
				tfs[j] = t
			}
			dets, err := d.runBatch(ctx, in, buf, n, k)
			if err != nil {
				return nil, err
			}
			for j := 0; j < k; j++ {
				res = append(res, d.finish(dets[j], tfs[j], imgs[i+j].Bounds()))
			}
			i += k
		}
	}
	return res, nil
}

// runBatch runs n preprocessed images (k real ones) of input in and
// returns the raw candidate detections of each in model-input
// coordinates.
func (d *Detector) runBatch(ctx context.Context, in InputSpec, buf []float32, n, k int) ([][]Detection, error) {
	outs, err := d.sess.runImages(ctx, in, buf, n, "detect")
	if err != nil {
		return nil, err
	}
	defer destroyAll(outs)
	data, oshape, err := floatOutput(outs[0], d.spec.Outputs.Detections)
	if err != nil {
		return nil, fmt.Errorf("vision: detect: %w", err)
	}
	if len(oshape) != 3 || oshape[0] != int64(n) {
		return nil, fmt.Errorf("vision: detect: output shape %v, want [%d, ?, ?]", oshape, n)
	}
	per := int(oshape[1] * oshape[2])
	res := make([][]Detection, k)
	for j := 0; j < k; j++ {
		o := data[j*per : (j+1)*per]
		switch d.spec.Format {
		case FormatYOLOX:
			res[j], err = decodeYOLOX(o, int(oshape[1]), int(oshape[2]), in.Width, in.Height, d.spec.Strides, d.opts.ScoreThreshold)
		case FormatYOLOv8:
			res[j], err = decodeYOLOv8(o, int(oshape[1]), int(oshape[2]), d.opts.ScoreThreshold)
		case FormatYOLOv5:
			res[j], err = decodeYOLOv5(o, int(oshape[1]), int(oshape[2]), d.opts.ScoreThreshold)
		}
		if err != nil {
			return nil, fmt.Errorf("vision: detect: %w", err)
		}
	}
	return res, nil
}

// finish maps candidates to original pixels, clamps, filters and runs NMS.
func (d *Detector) finish(cands []Detection, t transform, bounds image.Rectangle) []Detection {
	local := image.Rect(0, 0, bounds.Dx(), bounds.Dy())
	kept := cands[:0]
	for _, c := range cands {
		x0, y0 := t.toOrig(float64(c.Box.X0), float64(c.Box.Y0))
		x1, y1 := t.toOrig(float64(c.Box.X1), float64(c.Box.Y1))
		c.Box = Box{float32(x0), float32(y0), float32(x1), float32(y1)}.Clamp(local)
		if c.Box.W() < d.opts.MinBoxSide || c.Box.H() < d.opts.MinBoxSide {
			continue
		}
		if c.Class >= 0 && c.Class < len(d.classes) {
			c.Label = d.classes[c.Class]
		}
		kept = append(kept, c)
	}
	out := NMS(kept, d.opts.IoUThreshold, d.opts.MaxDetections)
	for i := range out {
		b := &out[i].Box
		b.X0 += float32(bounds.Min.X)
		b.X1 += float32(bounds.Min.X)
		b.Y0 += float32(bounds.Min.Y)
		b.Y1 += float32(bounds.Min.Y)
	}
	return out
}

// decodeYOLOX decodes a raw YOLOX head: rows of [dx, dy, logw, logh, obj,
// cls...] on the stride grids, in stride order and row-major within a
// stride. Scores are obj*cls (both already sigmoided); one candidate per
// anchor with its best class.
func decodeYOLOX(o []float32, rows, cols, inW, inH int, strides []int, thr float32) ([]Detection, error) {
	nc := cols - 5
	if nc <= 0 {
		return nil, fmt.Errorf("yolox output has %d columns, want 5+classes", cols)
	}
	want := 0
	for _, s := range strides {
		want += (inW / s) * (inH / s)
	}
	if want != rows {
		return nil, fmt.Errorf("yolox output has %d rows, strides %v on %dx%d give %d", rows, strides, inW, inH, want)
	}
	var out []Detection
	r := 0
	for _, s := range strides {
		gw, gh := inW/s, inH/s
		fs := float32(s)
		for gy := 0; gy < gh; gy++ {
			for gx := 0; gx < gw; gx++ {
				row := o[r*cols : (r+1)*cols]
				r++
				score, bc, ok := objClass(row, thr)
				if !ok {
					continue
				}
				cx := (row[0] + float32(gx)) * fs
				cy := (row[1] + float32(gy)) * fs
				w := float32(math.Exp(float64(min(row[2], 20)))) * fs
				h := float32(math.Exp(float64(min(row[3], 20)))) * fs
				out = append(out, Detection{Class: bc, Score: score, Box: Box{cx - w/2, cy - h/2, cx + w/2, cy + h/2}})
			}
		}
	}
	return out, nil
}

// decodeYOLOv8 decodes a [4+nc, N] head (channels first): cx, cy, w, h in
// input pixels followed by per-class scores.
func decodeYOLOv8(o []float32, chans, n int, thr float32) ([]Detection, error) {
	nc := chans - 4
	if nc <= 0 {
		return nil, fmt.Errorf("yolov8 output has %d channels, want 4+classes", chans)
	}
	var out []Detection
	for i := 0; i < n; i++ {
		best, bc := float32(0), -1
		for c := 0; c < nc; c++ {
			if v := o[(4+c)*n+i]; v > best {
				best, bc = v, c
			}
		}
		if bc < 0 || best < thr {
			continue
		}
		cx, cy, w, h := o[i], o[n+i], o[2*n+i], o[3*n+i]
		out = append(out, Detection{Class: bc, Score: best, Box: Box{cx - w/2, cy - h/2, cx + w/2, cy + h/2}})
	}
	return out, nil
}

// objClass scores one YOLO output row (box, objectness, class
// probabilities): objectness times its best class probability, and that
// class; ok is false below thr.
func objClass(row []float32, thr float32) (score float32, class int, ok bool) {
	obj := row[4]
	if obj < thr {
		return 0, -1, false // score = obj*cls <= obj
	}
	best, bc := float32(0), -1
	for c, v := range row[5:] {
		if v > best {
			best, bc = v, c
		}
	}
	score = obj * best
	if bc < 0 || score < thr {
		return 0, -1, false
	}
	return score, bc, true
}

// decodeYOLOv5 decodes a [N, 5+nc] head (rows): cx, cy, w, h in input
// pixels, objectness, then per-class probabilities, all already sigmoided.
// The score is objectness times the best class probability, as YOLOv5's
// single-label NMS keeps it.
func decodeYOLOv5(o []float32, rows, cols int, thr float32) ([]Detection, error) {
	if cols <= 5 {
		return nil, fmt.Errorf("yolov5 output has %d columns, want 5+classes", cols)
	}
	var out []Detection
	for r := 0; r < rows; r++ {
		row := o[r*cols : (r+1)*cols]
		score, bc, ok := objClass(row, thr)
		if !ok {
			continue
		}
		cx, cy, w, h := row[0], row[1], row[2], row[3]
		out = append(out, Detection{Class: bc, Score: score, Box: Box{cx - w/2, cy - h/2, cx + w/2, cy + h/2}})
	}
	return out, nil
}

// NMS runs class-aware non-maximum suppression: a box is dropped when a
// higher-scoring box of the same class overlaps it by more than iou. At most
// maxN boxes are returned (all when maxN <= 0), best first.
func NMS(dets []Detection, iou float32, maxN int) []Detection {
	sorted := slices.Clone(dets)
	slices.SortStableFunc(sorted, func(a, b Detection) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	var keep []Detection
	for _, d := range sorted {
		ok := true
		for _, k := range keep {
			if k.Class == d.Class && k.Box.IoU(d.Box) > iou {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, d)
			if maxN > 0 && len(keep) == maxN {
				break
			}
		}
	}
	return keep
}
