package video

import "github.com/vitrine-dev/vitrine/internal/media"

// A sampled frame is a near-duplicate when it shows the same picture as
// the last analysed frame of its shot: a static shot (a product held
// still, a title card, a closing hold) sampled twice a second would
// otherwise run every model on the same picture again. Pictures are
// compared as sigSide×sigSide grids of block mean luma; a frame is a
// near-duplicate when no block changed by more than nearDupBlock grey
// levels. A block is about 1/1000 of the picture, so a small item coming
// into view changes one; compression noise in a still shot moves block
// means by well under a grey level. Comparing with the last analysed frame,
// not the previous sample, bounds the drift a run of copies can hide.
const (
	sigSide      = 32
	nearDupBlock = 3.0
)

// frameSig is a frame's grid of block mean luma (0..255).
type frameSig [sigSide * sigSide]float32

// signature returns f's block mean luma grid. It samples every other pixel
// of every other row: enough for block means, a quarter of the work.
func signature(f media.Frame) (frameSig, bool) {
	var sig frameSig
	if f.Width < sigSide || f.Height < sigSide || len(f.Pix) < f.Width*f.Height*3 {
		return sig, false
	}
	var n [sigSide * sigSide]float32
	for y := 0; y < f.Height; y += 2 {
		by := y * sigSide / f.Height
		row := f.Pix[y*f.Width*3:]
		for x := 0; x < f.Width; x += 2 {
			p := row[x*3:]
			l := 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
			b := by*sigSide + x*sigSide/f.Width
			sig[b] += l
			n[b]++
		}
	}
	for i := range sig {
		if n[i] > 0 {
			sig[i] /= n[i]
		}
	}
	return sig, true
}

// maxBlockDiff is the largest change of a block between a and b.
func maxBlockDiff(a, b *frameSig) float32 {
	var m float32
	for i := range a {
		d := a[i] - b[i]
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}

// nearDuplicates follows the frames of a video in order and tells which
// repeat the last analysed frame of their shot.
type nearDuplicates struct {
	ok    bool
	shot  int
	frame int
	sig   frameSig
	// next is the signature check computed, kept for analysed.
	next      frameSig
	nextOK    bool
	nextFrame int
}

// check reports whether f, of shot, is a near-duplicate of the last
// analysed frame of that shot, and that frame's index.
func (d *nearDuplicates) check(f media.Frame, shot int) (int, bool) {
	d.next, d.nextOK = signature(f)
	d.nextFrame = f.Index
	if !d.ok || !d.nextOK || d.shot != shot {
		return 0, false
	}
	if maxBlockDiff(&d.sig, &d.next) > nearDupBlock {
		return 0, false
	}
	return d.frame, true
}

// analysed records f, of shot, as analysed: later frames are compared
// with it. check must have been called with f first.
func (d *nearDuplicates) analysed(f media.Frame, shot int) {
	if d.nextFrame != f.Index {
		d.next, d.nextOK = signature(f)
	}
	d.ok, d.shot, d.frame, d.sig = d.nextOK, shot, f.Index, d.next
}
