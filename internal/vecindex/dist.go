package vecindex

import (
	"math"

	"github.com/viterin/vek/vek32"
)

// dot returns the inner product of a and b, which must have equal length.
// vek32 dispatches to AVX2 assembly when the CPU has it (about 9x faster
// than scalar Go at 512-d) and to portable Go otherwise.
func dot(a, b []float32) float32 {
	return vek32.Dot(a, b)
}

// dotGo is the portable reference: eight independent accumulators keep the
// FP pipeline busy and let the compiler drop bounds checks.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3) + (s4 + s5) + (s6 + s7)
}

// normalize copies v scaled to unit L2 norm. It reports false for vectors
// that cannot be normalised (zero norm, NaN or Inf components).
func normalize(v []float32) ([]float32, bool) {
	var s float64
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		s += f * f
	}
	if s == 0 || math.IsInf(s, 0) {
		return nil, false
	}
	inv := 1 / math.Sqrt(s)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out, true
}
