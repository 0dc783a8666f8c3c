// Package project learns a linear projection of a frozen embedding that
// keeps what tells one catalog product from another and drops what
// changes between two views of the same product (light, pose, framing,
// cover). It is learned whitening with a discriminant rotation (as in
// Radenović et al., "CNN Image Retrieval Learns from BoW", 2016): whiten
// the within-product scatter, then keep the directions of largest
// between-product scatter in the whitened space. The fit is closed form
// (two symmetric eigendecompositions), so it is deterministic and takes
// seconds on a CPU, with no training loop to tune.
package project

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Config tunes Fit.
type Config struct {
	// Dim is the projected dimension (default 256; at most the input's
	// dimension and the number of groups less one).
	Dim int
	// Shrink mixes the within-product scatter with a multiple of the
	// identity (0..1, default 0.2) so rare directions are not blown up.
	Shrink float64
	// MaxVectors caps how many vectors estimate the scatters (default
	// 20000); a larger catalog is sampled evenly by group.
	MaxVectors int
}

func (c Config) withDefaults() Config {
	if c.Dim <= 0 {
		c.Dim = 256
	}
	if c.Shrink <= 0 {
		c.Shrink = 0.2
	}
	if c.MaxVectors <= 0 {
		c.MaxVectors = 20000
	}
	return c
}

// Projection maps an embedding of dimension In to one of dimension Out:
// y = W (x - Mean), L2-normalised.
type Projection struct {
	In, Out int
	Mean    []float32 // In
	W       []float32 // Out x In, row-major
}

// Apply projects v (of length In) and returns the unit-length result.
func (p *Projection) Apply(v []float32) []float32 {
	out := make([]float32, p.Out)
	c := make([]float32, p.In)
	for i := range c {
		c[i] = v[i] - p.Mean[i]
	}
	var n float64
	for o := range out {
		row := p.W[o*p.In : (o+1)*p.In]
		var s float32
		for i, x := range c {
			s += row[i] * x
		}
		out[o] = s
		n += float64(s) * float64(s)
	}
	if n > 0 {
		inv := float32(1 / math.Sqrt(n))
		for i := range out {
			out[i] *= inv
		}
	}
	return out
}

// ApplyAll projects many vectors at once (a blocked matrix product: several
// times faster than Apply in a loop on a catalog's worth of vectors).
func (p *Projection) ApplyAll(vs [][]float32) [][]float32 {
	const chunk = 1024 // bounds the float64 copies
	out := make([][]float32, 0, len(vs))
	w := mat.NewDense(p.Out, p.In, nil)
	for r := range p.Out {
		for c := range p.In {
			w.Set(r, c, float64(p.W[r*p.In+c]))
		}
	}
	for lo := 0; lo < len(vs); lo += chunk {
		part := vs[lo:min(lo+chunk, len(vs))]
		x := mat.NewDense(len(part), p.In, nil)
		for i, v := range part {
			for c := range p.In {
				x.Set(i, c, float64(v[c]-p.Mean[c]))
			}
		}
		var y mat.Dense
		y.Mul(x, w.T())
		for i := range part {
			row := y.RawRowView(i)
			o := make([]float32, p.Out)
			var n float64
			for k, f := range row {
				o[k] = float32(f)
				n += f * f
			}
			if n > 0 {
				inv := float32(1 / math.Sqrt(n))
				for k := range o {
					o[k] *= inv
				}
			}
			out = append(out, o)
		}
	}
	return out
}

// ErrTooFew is returned when the groups cannot define a projection.
var ErrTooFew = errors.New("project: too few groups with two or more vectors")

// Fit learns a projection from groups of vectors: each group holds the
// vectors of one product (its catalog images and their synthetic views).
// Groups with one vector add to the between-product scatter only.
func Fit(groups [][][]float32, cfg Config) (*Projection, error) {
	cfg = cfg.withDefaults()
	d, total, multi := 0, 0, 0
	for _, g := range groups {
		for _, v := range g {
			if d == 0 {
				d = len(v)
			} else if len(v) != d {
				return nil, fmt.Errorf("project: vectors of dimension %d and %d", d, len(v))
			}
		}
		total += len(g)
		if len(g) >= 2 {
			multi++
		}
	}
	if multi < 2 || d == 0 {
		return nil, ErrTooFew
	}
	out := min(cfg.Dim, d, len(groups)-1)
	// Keep at most MaxVectors by taking every step-th vector of each group
	// (a group keeps at least two when it has them).
	step := max(1, (total+cfg.MaxVectors-1)/cfg.MaxVectors)

	mean := make([]float64, d)
	for _, g := range groups {
		for _, v := range g {
			for i, x := range v {
				mean[i] += float64(x)
			}
		}
	}
	for i := range mean {
		mean[i] /= float64(total)
	}

	// Rows of within-group deviations and of group means' deviations.
	var within, between []float64
	nw, nb := 0, 0
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		mu := make([]float64, d)
		for _, v := range g {
			for i, x := range v {
				mu[i] += float64(x)
			}
		}
		for i := range mu {
			mu[i] /= float64(len(g))
		}
		w := math.Sqrt(float64(len(g)))
		for i := range mu {
			between = append(between, (mu[i]-mean[i])*w)
		}
		nb++
		if len(g) < 2 {
			continue
		}
		for j := 0; j < len(g); j += min(step, len(g)-1) {
			for i, x := range g[j] {
				within = append(within, float64(x)-mu[i])
			}
			nw++
		}
	}
	sw := scatter(mat.NewDense(nw, d, within), cfg.Shrink)
	// Whitening of the within scatter by its Cholesky factor: any square
	// root serves, since the rotation below undoes the choice, and
	// Cholesky costs a fraction of an eigendecomposition.
	var chol mat.Cholesky
	if !chol.Factorize(sw) {
		return nil, errors.New("project: within-product scatter is not positive definite")
	}
	var l, linv mat.TriDense
	chol.LTo(&l)
	if err := linv.InverseTri(&l); err != nil {
		return nil, fmt.Errorf("project: whiten: %w", err)
	}
	// Group means' deviations in the whitened space (one row per group).
	var bw mat.Dense
	bw.Mul(mat.NewDense(nb, d, between), linv.T())
	// Leading directions of the between scatter there: from the smaller
	// of the d x d scatter and the groups' Gram matrix.
	top, err := leading(&bw, out)
	if err != nil {
		return nil, err
	}
	var w mat.Dense
	w.Mul(top.T(), &linv)

	p := &Projection{In: d, Out: out, Mean: make([]float32, d), W: make([]float32, out*d)}
	for i, m := range mean {
		p.Mean[i] = float32(m)
	}
	for r := range out {
		for c := range d {
			p.W[r*d+c] = float32(w.At(r, c))
		}
	}
	return p, nil
}

// leading returns the k unit eigenvectors of x^T x with the largest
// eigenvalues, as the columns of a d x k matrix, largest first.
func leading(x *mat.Dense, k int) (*mat.Dense, error) {
	n, d := x.Dims()
	var es mat.EigenSym
	var vecs mat.Dense
	if n >= d {
		if !es.Factorize(scatter(x, 0), true) {
			return nil, errors.New("project: between-product scatter did not factorise")
		}
		es.VectorsTo(&vecs)
	} else {
		// x^T x and x x^T share their non-zero eigenvalues; an eigenvector
		// v of the n x n Gram matrix gives x^T v / sqrt(l) of the other.
		g := mat.NewSymDense(n, nil)
		g.SymOuterK(1, x)
		if !es.Factorize(g, true) {
			return nil, errors.New("project: between-product scatter did not factorise")
		}
		var gv mat.Dense
		es.VectorsTo(&gv)
		vecs.Mul(x.T(), &gv)
		vals := es.Values(nil)
		for c := range n {
			s := 1 / math.Sqrt(max(vals[c], 1e-12))
			for r := range d {
				vecs.Set(r, c, vecs.At(r, c)*s)
			}
		}
	}
	// Eigenvalues come in ascending order.
	_, m := vecs.Dims()
	top := mat.NewDense(d, k, nil)
	for c := range k {
		for r := range d {
			top.Set(r, c, vecs.At(r, m-1-c))
		}
	}
	return top, nil
}

// scatter returns X^T X / rows, shrunk towards a multiple of the identity.
func scatter(x *mat.Dense, shrink float64) *mat.SymDense {
	rows, d := x.Dims()
	s := mat.NewSymDense(d, nil)
	s.SymOuterK(1/float64(max(rows, 1)), x.T())
	if shrink > 0 {
		var tr float64
		for i := range d {
			tr += s.At(i, i)
		}
		iso := tr / float64(d)
		for i := range d {
			for j := i; j < d; j++ {
				v := (1 - shrink) * s.At(i, j)
				if i == j {
					v += shrink * iso
				}
				s.SetSym(i, j, v)
			}
		}
	}
	return s
}

const magic = "VTPROJ1\n"

// MarshalBinary encodes the projection (little-endian float32s after a
// short header).
func (p *Projection) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(magic)
	for _, v := range []any{uint32(p.In), uint32(p.Out), p.Mean, p.W} {
		if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (p *Projection) UnmarshalBinary(data []byte) error {
	r := bytes.NewReader(data)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(r, head); err != nil || string(head) != magic {
		return errors.New("project: not a projection file")
	}
	var in, out uint32
	if err := binary.Read(r, binary.LittleEndian, &in); err != nil {
		return fmt.Errorf("project: header: %w", err)
	}
	if err := binary.Read(r, binary.LittleEndian, &out); err != nil {
		return fmt.Errorf("project: header: %w", err)
	}
	if in == 0 || out == 0 || in > 1<<16 || out > in || int64(r.Len()) != 4*(int64(in)+int64(in)*int64(out)) {
		return fmt.Errorf("project: bad size %d x %d for %d bytes", out, in, r.Len())
	}
	q := Projection{In: int(in), Out: int(out), Mean: make([]float32, in), W: make([]float32, in*out)}
	if err := binary.Read(r, binary.LittleEndian, q.Mean); err != nil {
		return fmt.Errorf("project: mean: %w", err)
	}
	if err := binary.Read(r, binary.LittleEndian, q.W); err != nil {
		return fmt.Errorf("project: weights: %w", err)
	}
	*p = q
	return nil
}
