package verify

import (
	"math"
	"sync"

	"github.com/viterin/vek"
	"github.com/viterin/vek/vek32"

	"github.com/vitrine-dev/vitrine/internal/vision"
)

// Pair is a mutual nearest-neighbour match: point A of the first feature
// set and point B of the second.
type Pair struct {
	A, B int
	// Cos is the cosine of the two descriptors.
	Cos float32
}

const dim = vision.DescriptorDim

// nnBlock is how many rows of the first set one dot-product pass covers:
// the block's dot products (nnBlock x len(b)) stay in cache.
const nnBlock = 128

// accelerated reports whether vek runs its SIMD kernels here; otherwise
// the packed-integer kernel is faster than vek's portable fallback.
var accelerated = vek.Info().Acceleration

type nnScratch struct {
	af, bt, dots []float32
	bi           []int64
}

var nnPool = sync.Pool{New: func() any { return new(nnScratch) }}

// MutualNN returns the pairs of points of a and b whose descriptors are
// each other's nearest neighbour (highest dot product; ties go to the
// lower index) with cosine at least minCos, in order of a's points. Dot
// products are exact integer sums of the int8 descriptors.
func MutualNN(a, b *vision.LocalFeatures, minCos float64) []Pair {
	na, nb := min(a.Len(), len(a.Desc)/dim), min(b.Len(), len(b.Desc)/dim)
	if na == 0 || nb == 0 {
		return nil
	}
	s := nnPool.Get().(*nnScratch)
	defer nnPool.Put(s)
	// Dot products are integers held exactly in float32 (see below).
	rowBest := make([]float32, na)
	rowArg := make([]int32, na)
	colBest := make([]float32, nb)
	colArg := make([]int32, nb)
	for j := range colBest {
		colBest[j] = float32(math.Inf(-1))
	}
	s.dots = grow(s.dots, min(na, nnBlock)*nb)
	if accelerated {
		// int8 products summed over 64 terms stay below 2^21 in
		// magnitude, so float32 holds every dot product exactly.
		s.af = grow(s.af, na*dim)
		for i, v := range a.Desc[:na*dim] {
			s.af[i] = float32(v)
		}
		s.bt = grow(s.bt, dim*nb)
		for j := 0; j < nb; j++ {
			d := b.Desc[j*dim : (j+1)*dim]
			for k, v := range d {
				s.bt[k*nb+j] = float32(v)
			}
		}
	} else {
		s.bi = grow(s.bi, nb*dim)
		for i, v := range b.Desc[:nb*dim] {
			s.bi[i] = int64(v)
		}
	}
	for i0 := 0; i0 < na; i0 += nnBlock {
		m := min(nnBlock, na-i0)
		dots := s.dots[:m*nb]
		if accelerated {
			vek32.MatMul_Into(dots, s.af[i0*dim:(i0+m)*dim], s.bt[:dim*nb], dim)
		} else {
			dotsPacked(dots, a.Desc[i0*dim:(i0+m)*dim], s.bi[:nb*dim], m, nb)
		}
		for r := 0; r < m; r++ {
			i := int32(i0 + r)
			row := dots[r*nb : (r+1)*nb]
			cb, ca := colBest[:len(row)], colArg[:len(row)]
			best, arg := float32(math.Inf(-1)), int32(0)
			for j, v := range row {
				if v > best {
					best, arg = v, int32(j)
				}
				if v > cb[j] {
					cb[j], ca[j] = v, i
				}
			}
			rowBest[i], rowArg[i] = best, arg
		}
	}
	minDot := minCos * vision.DescriptorScale * vision.DescriptorScale
	var out []Pair
	for i := range rowBest {
		j := rowArg[i]
		if colArg[j] == int32(i) && float64(rowBest[i]) >= minDot {
			out = append(out, Pair{A: i, B: int(j), Cos: float32(rowBest[i]) / (vision.DescriptorScale * vision.DescriptorScale)})
		}
	}
	return out
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// dotsPacked writes the m x nb dot products of a's rows (int8) with b's
// rows (widened to int64) into dst. Without SIMD, three rows of a share
// each multiplication: packed into 21-bit lanes of an int64, one multiply
// by b's value adds the product to all three sums, and since no sum of 64
// int8 products exceeds 2^20 in magnitude, the lanes never overflow.
func dotsPacked(dst []float32, a []int8, b []int64, m, nb int) {
	var p [dim]int64
	for r := 0; r < m; r += 3 {
		for k := 0; k < dim; k++ {
			var v int64
			for l := 2; l >= 0; l-- {
				v <<= 21
				if r+l < m {
					v += int64(a[(r+l)*dim+k])
				}
			}
			p[k] = v
		}
		for j := 0; j < nb; j++ {
			y := b[j*dim : (j+1)*dim : (j+1)*dim]
			var s0, s1 int64
			for k := 0; k < dim; k += 2 {
				s0 += p[k] * y[k]
				s1 += p[k+1] * y[k+1]
			}
			s := s0 + s1
			l0 := s << 43 >> 43
			s = (s - l0) >> 21
			l1 := s << 43 >> 43
			l2 := (s - l1) >> 21
			dst[r*nb+j] = float32(l0)
			if r+1 < m {
				dst[(r+1)*nb+j] = float32(l1)
			}
			if r+2 < m {
				dst[(r+2)*nb+j] = float32(l2)
			}
		}
	}
}
