package vision

import (
	"context"
	"fmt"
	"slices"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vitrine-dev/vitrine/internal/vision/cliptok"
)

// TextEncoder embeds text into the space of a CLIP-style image embedder.
// It is safe for concurrent use.
type TextEncoder struct {
	spec ModelSpec
	tok  *cliptok.Tokenizer
	sess *session
}

// OpenTextEncoder loads a text_embedder model and its tokenizer. The model
// takes int64 token ids [N, context_length] (and optionally an int64
// attention mask) and outputs float32 [N, D].
func OpenTextEncoder(m *Manifest, spec ModelSpec, o SessionOptions) (*TextEncoder, error) {
	if spec.Role != RoleTextEmbedder || spec.Tokenizer == nil {
		return nil, fmt.Errorf("vision: open text encoder %s: role %q without tokenizer", spec.Name, spec.Role)
	}
	tok, err := cliptok.Load(m.Path(spec.Tokenizer.Vocab), m.Path(spec.Tokenizer.Merges))
	if err != nil {
		return nil, fmt.Errorf("vision: open text encoder %s: %w", spec.Name, err)
	}
	inputs := []string{spec.Input.Name}
	if spec.Input.AttentionMask != "" {
		inputs = append(inputs, spec.Input.AttentionMask)
	}
	s, err := newSession(m.Path(spec.File), spec.Name, inputs, []string{spec.Outputs.Embedding}, o)
	if err != nil {
		return nil, err
	}
	return &TextEncoder{spec: spec, tok: tok, sess: s}, nil
}

// Spec returns the model description.
func (t *TextEncoder) Spec() ModelSpec { return t.spec }

// Tokenizer returns the tokenizer.
func (t *TextEncoder) Tokenizer() *cliptok.Tokenizer { return t.tok }

// Close releases the session.
func (t *TextEncoder) Close() error { return t.sess.close() }

// EmbedTexts returns one L2-normalised vector per text.
func (t *TextEncoder) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	ctxLen := t.spec.Tokenizer.ContextLength
	res := make([][]float32, 0, len(texts))
	i := 0
	for _, k := range batchPlan(len(texts), t.spec.Input.Batch, 32) {
		n := max(k, t.spec.Input.Batch)
		ids := make([]int64, n*ctxLen)
		mask := make([]int64, n*ctxLen)
		for j := 0; j < k; j++ {
			a, m, err := t.tok.Frame(texts[i+j], ctxLen, t.spec.Tokenizer.PadID)
			if err != nil {
				return nil, fmt.Errorf("vision: embed text %d: %w", i+j, err)
			}
			copy(ids[j*ctxLen:], a)
			copy(mask[j*ctxLen:], m)
		}
		vecs, err := t.run(ctx, ids, mask, n, k)
		if err != nil {
			return nil, err
		}
		res = append(res, vecs...)
		i += k
	}
	return res, nil
}

func (t *TextEncoder) run(ctx context.Context, ids, mask []int64, n, k int) ([][]float32, error) {
	ctxLen := int64(t.spec.Tokenizer.ContextLength)
	it, err := ort.NewTensor(ort.NewShape(int64(n), ctxLen), ids)
	if err != nil {
		return nil, fmt.Errorf("vision: embed text: ids tensor: %w", err)
	}
	defer it.Destroy()
	in := []ort.Value{it}
	if t.spec.Input.AttentionMask != "" {
		mt, err := ort.NewTensor(ort.NewShape(int64(n), ctxLen), mask)
		if err != nil {
			return nil, fmt.Errorf("vision: embed text: mask tensor: %w", err)
		}
		defer mt.Destroy()
		in = append(in, mt)
	}
	outs, err := t.sess.run(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("vision: embed text: %w", err)
	}
	defer destroyAll(outs)
	data, shape, err := floatOutput(outs[0], t.spec.Outputs.Embedding)
	if err != nil {
		return nil, fmt.Errorf("vision: embed text: %w", err)
	}
	if len(shape) != 2 || shape[0] != int64(n) {
		return nil, fmt.Errorf("vision: embed text: output shape %v, want [%d, D]", shape, n)
	}
	dim := int(shape[1])
	if t.spec.EmbeddingDim > 0 && dim != t.spec.EmbeddingDim {
		return nil, fmt.Errorf("vision: embed text: output has %d values, manifest says %d", dim, t.spec.EmbeddingDim)
	}
	out := make([][]float32, k)
	for j := range out {
		v := slices.Clone(data[j*dim : (j+1)*dim])
		Normalize(v)
		out[j] = v
	}
	return out, nil
}
