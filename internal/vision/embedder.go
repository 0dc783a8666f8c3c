package vision

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"
)

// Label is one classifier class with its probability.
type Label struct {
	Class int
	Name  string
	Score float32
}

// Analysis is what one forward pass of an image embedder yields.
type Analysis struct {
	// Embedding is L2-normalised.
	Embedding []float32
	// Probs are softmax class probabilities (nil when the model has no
	// logits output).
	Probs []float32
	// Top are the most probable classes, best first.
	Top []Label
}

// ImageEmbedder turns images into L2-normalised vectors; when the model
// also has classifier logits, the same pass yields class probabilities. It
// serves both the product embedder and the appearance (re-ID) model and is
// safe for concurrent use.
type ImageEmbedder struct {
	spec     ModelSpec
	synonyms [][]string
	sess     *session
	logits   bool
	maxBatch int
}

// OpenImageEmbedder loads an image_embedder or appearance model.
func OpenImageEmbedder(m *Manifest, spec ModelSpec, o SessionOptions) (*ImageEmbedder, error) {
	if spec.Role != RoleImageEmbedder && spec.Role != RoleAppearance {
		return nil, fmt.Errorf("vision: open embedder %s: role is %q", spec.Name, spec.Role)
	}
	syn, err := m.classSynonyms(spec.Classes)
	if err != nil {
		return nil, fmt.Errorf("vision: open embedder %s: classes: %w", spec.Name, err)
	}
	outs := []string{spec.Outputs.Embedding}
	logits := spec.Outputs.Logits != ""
	if logits {
		outs = append(outs, spec.Outputs.Logits)
	}
	s, err := newSession(m.Path(spec.File), spec.Name, []string{spec.Input.Name}, outs, o)
	if err != nil {
		return nil, err
	}
	return &ImageEmbedder{spec: spec, synonyms: syn, sess: s, logits: logits, maxBatch: 16}, nil
}

// Spec returns the model description.
func (e *ImageEmbedder) Spec() ModelSpec { return e.spec }

// Dim is the embedding length (0 when the manifest does not say).
func (e *ImageEmbedder) Dim() int { return e.spec.EmbeddingDim }

// ClassName returns the display name of class c, or "" if unknown.
func (e *ImageEmbedder) ClassName(c int) string {
	if c < 0 || c >= len(e.synonyms) {
		return ""
	}
	return e.synonyms[c][0]
}

// ClassSynonyms returns all names of class c.
func (e *ImageEmbedder) ClassSynonyms(c int) []string {
	if c < 0 || c >= len(e.synonyms) {
		return nil
	}
	return slices.Clone(e.synonyms[c])
}

// Close releases the session.
func (e *ImageEmbedder) Close() error { return e.sess.close() }

// EmbedImages returns one L2-normalised vector per image.
func (e *ImageEmbedder) EmbedImages(ctx context.Context, imgs []image.Image) ([][]float32, error) {
	as, err := e.Analyze(ctx, imgs, 0)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(as))
	for i, a := range as {
		out[i] = a.Embedding
	}
	return out, nil
}

// Analyze embeds the images and, when the model has logits, returns class
// probabilities and the topK classes from the same forward pass.
func (e *ImageEmbedder) Analyze(ctx context.Context, imgs []image.Image, topK int) ([]Analysis, error) {
	in := e.spec.Input
	per := 3 * in.Width * in.Height
	res := make([]Analysis, 0, len(imgs))
	i := 0
	for _, k := range batchPlan(len(imgs), in.Batch, e.maxBatch) {
		n := max(k, in.Batch)
		buf := make([]float32, n*per)
		for j := 0; j < k; j++ {
			if _, err := preprocess(imgs[i+j], in, buf[j*per:(j+1)*per]); err != nil {
				return nil, fmt.Errorf("vision: embed image %d: %w", i+j, err)
			}
		}
		as, err := e.runBatch(ctx, buf, n, k, topK)
		if err != nil {
			return nil, err
		}
		res = append(res, as...)
		i += k
	}
	return res, nil
}

func (e *ImageEmbedder) runBatch(ctx context.Context, buf []float32, n, k, topK int) ([]Analysis, error) {
	in := e.spec.Input
	outs, err := e.sess.runImages(ctx, in, buf, n, "embed")
	if err != nil {
		return nil, err
	}
	defer destroyAll(outs)
	emb, eshape, err := floatOutput(outs[0], e.spec.Outputs.Embedding)
	if err != nil {
		return nil, fmt.Errorf("vision: embed: %w", err)
	}
	if len(eshape) < 2 || eshape[0] != int64(n) {
		return nil, fmt.Errorf("vision: embed: embedding shape %v, want [%d, D]", eshape, n)
	}
	dim := len(emb) / n
	if e.spec.EmbeddingDim > 0 && dim != e.spec.EmbeddingDim {
		return nil, fmt.Errorf("vision: embed: embedding has %d values, manifest says %d", dim, e.spec.EmbeddingDim)
	}
	var logits []float32
	nc := 0
	if e.logits {
		logits, _, err = floatOutput(outs[1], e.spec.Outputs.Logits)
		if err != nil {
			return nil, fmt.Errorf("vision: embed: %w", err)
		}
		nc = len(logits) / n
	}
	res := make([]Analysis, k)
	for j := 0; j < k; j++ {
		v := slices.Clone(emb[j*dim : (j+1)*dim])
		Normalize(v)
		res[j].Embedding = v
		if nc > 0 {
			p := softmax(logits[j*nc : (j+1)*nc])
			res[j].Probs = p
			res[j].Top = e.top(p, topK)
		}
	}
	return res, nil
}

func (e *ImageEmbedder) top(p []float32, k int) []Label {
	if k <= 0 {
		return nil
	}
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case p[a] > p[b]:
			return -1
		case p[a] < p[b]:
			return 1
		}
		return a - b
	})
	k = min(k, len(p))
	out := make([]Label, k)
	for i := 0; i < k; i++ {
		out[i] = Label{Class: idx[i], Name: e.ClassName(idx[i]), Score: p[idx[i]]}
	}
	return out
}

func softmax(x []float32) []float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	out := make([]float32, len(x))
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - m))
		out[i] = float32(e)
		sum += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / sum)
	}
	return out
}

// Normalize scales v to unit L2 norm in place (a zero vector stays zero).
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

// Cosine returns the dot product of two L2-normalised vectors.
func Cosine(a, b []float32) float32 {
	var s float32
	for i := range min(len(a), len(b)) {
		s += a[i] * b[i]
	}
	return s
}

// Mean returns the element-wise mean of vectors (nil for none). Subtracting
// a catalogue's mean before comparing (Centered) gives ImageNet-backbone
// embeddings, whose features are all non-negative, much more contrast.
func Mean(vecs [][]float32) []float32 {
	if len(vecs) == 0 {
		return nil
	}
	m := make([]float32, len(vecs[0]))
	for _, v := range vecs {
		for k := range min(len(v), len(m)) {
			m[k] += v[k]
		}
	}
	inv := 1 / float32(len(vecs))
	for k := range m {
		m[k] *= inv
	}
	return m
}

// Centered returns v minus mean, L2-normalised, as a new vector.
func Centered(v, mean []float32) []float32 {
	out := slices.Clone(v)
	for k := range min(len(out), len(mean)) {
		out[k] -= mean[k]
	}
	Normalize(out)
	return out
}
