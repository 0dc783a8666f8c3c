package video

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

// keptFrames keeps, from the detect step to the match step, the parts of
// the analysed frames that verification cuts crops from: the union of a
// frame's detection boxes, widened as cropRect widens them, in the video's
// work directory. The match step then verifies without decoding the video
// a second time. A frame that is missing (kept on another node, over the
// budget, removed by the retention policy) is decoded as before, so the
// files are a cache: losing them costs time, never results.
type keptFrames struct {
	dir string
	// used counts the bytes written, against keptFramesBudget.
	used *atomic.Int64
}

// keptFramesBudget bounds the bytes one video's kept frames take (about
// 1,500 frames' boxes at the default detect size); frames past it are not
// kept.
const keptFramesBudget = 1 << 30

// keptFrameMagic starts a kept-frame file: "VKF", version 1.
var keptFrameMagic = [4]byte{'V', 'K', 'F', 1}

// keptFrameHeader is the magic and six uint16: frame width and height, and
// the kept rectangle's x0, y0, x1, y1; RGB rows of the rectangle follow.
const keptFrameHeader = 4 + 6*2

// keptFramesOf returns the kept frames of video id.
func (s *Service) keptFramesOf(id string) keptFrames {
	return keptFrames{dir: filepath.Join(s.cfg.WorkDir, id, "frames"), used: new(atomic.Int64)}
}

func (k keptFrames) path(frame int) string {
	return filepath.Join(k.dir, strconv.Itoa(frame)+".vkf")
}

// reset removes what an earlier detect run kept and makes the directory.
func (k keptFrames) reset() error {
	if err := os.RemoveAll(k.dir); err != nil {
		return fmt.Errorf("kept frames: %w", err)
	}
	if err := os.MkdirAll(k.dir, 0o750); err != nil {
		return fmt.Errorf("kept frames: %w", err)
	}
	return nil
}

// remove removes the kept frames.
func (k keptFrames) remove() error {
	if err := os.RemoveAll(k.dir); err != nil {
		return fmt.Errorf("kept frames: %w", err)
	}
	return nil
}

// put keeps the part of frame img that crops of boxes (normalised x0, y0,
// x1, y1) are cut from; nothing without a box to crop or past the budget.
// The file appears whole or not at all (written aside, then renamed).
func (k keptFrames) put(frame int, img *image.RGBA, boxes [][4]float64) error {
	var r image.Rectangle
	for _, b := range boxes {
		if c, ok := cropRect(img, b); ok {
			r = r.Union(c)
		}
	}
	if r.Empty() {
		return nil
	}
	b := img.Bounds()
	size := keptFrameHeader + 3*r.Dx()*r.Dy()
	if k.used.Add(int64(size)) > keptFramesBudget {
		return nil
	}
	buf := make([]byte, keptFrameHeader, size)
	copy(buf, keptFrameMagic[:])
	for i, v := range []int{b.Dx(), b.Dy(), r.Min.X - b.Min.X, r.Min.Y - b.Min.Y, r.Max.X - b.Min.X, r.Max.Y - b.Min.Y} {
		binary.LittleEndian.PutUint16(buf[4+2*i:], uint16(v))
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			buf = append(buf, row[i], row[i+1], row[i+2])
		}
	}
	tmp, err := os.CreateTemp(k.dir, "frame-*")
	if err != nil {
		return fmt.Errorf("kept frames: %w", err)
	}
	if _, err := tmp.Write(buf); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("kept frames: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("kept frames: %w", err)
	}
	if err := os.Rename(tmp.Name(), k.path(frame)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("kept frames: %w", err)
	}
	return nil
}

// alias makes frame share what src kept: a near-duplicate frame takes its
// source frame's detections, so its crops are cut from the same picture.
func (k keptFrames) alias(frame, src int) error {
	err := os.Link(k.path(src), k.path(frame))
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil // src kept nothing: neither does frame
	}
	return fmt.Errorf("kept frames: %w", err)
}

// errKeptFrame marks a kept-frame file that is not one.
var errKeptFrame = errors.New("kept frames: not a kept frame")

// get returns the kept frame as a frame-sized image whose kept rectangle
// holds the pixels (the rest is zero); an error wrapping fs.ErrNotExist
// when the frame was not kept.
func (k keptFrames) get(frame int) (*image.RGBA, error) {
	b, err := os.ReadFile(k.path(frame))
	if err != nil {
		return nil, fmt.Errorf("kept frames: %w", err)
	}
	if len(b) < keptFrameHeader || [4]byte(b[:4]) != keptFrameMagic {
		return nil, fmt.Errorf("%w: frame %d", errKeptFrame, frame)
	}
	var v [6]int
	for i := range v {
		v[i] = int(binary.LittleEndian.Uint16(b[4+2*i:]))
	}
	w, h, r := v[0], v[1], image.Rect(v[2], v[3], v[4], v[5])
	if r.Empty() || !r.In(image.Rect(0, 0, w, h)) || len(b) != keptFrameHeader+3*r.Dx()*r.Dy() {
		return nil, fmt.Errorf("%w: frame %d", errKeptFrame, frame)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	src := b[keptFrameHeader:]
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			row[i], row[i+1], row[i+2], row[i+3] = src[0], src[1], src[2], 0xff
			src = src[3:]
		}
	}
	return img, nil
}
