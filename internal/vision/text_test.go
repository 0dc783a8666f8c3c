package vision

import (
	"context"
	"encoding/binary"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/vision/cliptok"
)

// Minimal protobuf writer for the few ONNX messages the tiny text model
// needs (field numbers from onnx.proto).
type pb []byte

func (b pb) varint(v uint64) pb {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
func (b pb) tag(field, wire int) pb    { return b.varint(uint64(field<<3 | wire)) }
func (b pb) int(field int, v int64) pb { return b.tag(field, 0).varint(uint64(v)) }
func (b pb) bytes(field int, v []byte) pb {
	return append(b.tag(field, 2).varint(uint64(len(v))), v...)
}
func (b pb) str(field int, s string) pb { return b.bytes(field, []byte(s)) }
func (b pb) msg(field int, m pb) pb     { return b.bytes(field, m) }
func (b pb) ints(field int, vs ...int64) pb { // unpacked repeated int64
	for _, v := range vs {
		b = b.int(field, v)
	}
	return b
}

const (
	onnxFloat = 1
	onnxInt64 = 7
)

// valueInfo describes a tensor with symbolic ("N") or fixed dims.
func valueInfo(name string, elem int64, dims ...any) pb {
	var shape pb
	for _, d := range dims {
		switch d := d.(type) {
		case string:
			shape = shape.msg(1, pb{}.str(2, d))
		case int:
			shape = shape.msg(1, pb{}.int(1, int64(d)))
		}
	}
	tensor := pb{}.int(1, elem).msg(2, shape)
	return pb{}.str(1, name).msg(2, pb{}.msg(1, tensor))
}

// tinyTextModel writes an ONNX model: int64 ids [N, ctx] -> Gather rows of
// table -> ReduceMean over tokens -> float [N, D].
func tinyTextModel(t *testing.T, path string, table [][]float32, ctxLen int) {
	t.Helper()
	v, d := len(table), len(table[0])
	raw := make([]byte, 0, 4*v*d)
	for _, row := range table {
		for _, x := range row {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
		}
	}
	init := pb{}.ints(1, int64(v), int64(d)).int(2, onnxFloat).str(8, "table").bytes(9, raw)
	gather := pb{}.str(1, "table").str(1, "input_ids").str(2, "tok").str(3, "gather").str(4, "Gather").
		msg(5, pb{}.str(1, "axis").int(3, 0).int(20, 2))
	mean := pb{}.str(1, "tok").str(2, "text_embeds").str(3, "mean").str(4, "ReduceMean").
		msg(5, pb{}.str(1, "axes").ints(8, 1).int(20, 7)).
		msg(5, pb{}.str(1, "keepdims").int(3, 0).int(20, 2))
	graph := pb{}.msg(1, gather).msg(1, mean).str(2, "tiny_text").msg(5, init).
		msg(11, valueInfo("input_ids", onnxInt64, "N", ctxLen)).
		msg(12, valueInfo("text_embeds", onnxFloat, "N", d))
	model := pb{}.int(1, 8).str(2, "vitrine-test").msg(7, graph).msg(8, pb{}.str(1, "").int(2, 13))
	if err := os.WriteFile(path, model, 0o600); err != nil {
		t.Fatal(err)
	}
}

const tinyCtx = 8

// tinyTextManifest adds a text encoder backed by table to the default
// manifest, paired with the image embedder.
func tinyTextManifest(t *testing.T, table [][]float32, models string) *Manifest {
	t.Helper()
	dir := t.TempDir()
	model := filepath.Join(dir, "tiny_text.onnx")
	tinyTextModel(t, model, table, tinyCtx)
	tokDir, err := filepath.Abs(filepath.Join("cliptok", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	m := DefaultManifest()
	m.SetDir(models)
	m.Models = append(m.Models, ModelSpec{
		Name: "tiny-text", File: model, Role: RoleTextEmbedder,
		Input:        InputSpec{Name: "input_ids"},
		Outputs:      OutputSpec{Embedding: "text_embeds"},
		EmbeddingDim: len(table[0]),
		Tokenizer: &TokenizerSpec{Kind: "clip-bpe", Vocab: filepath.Join(tokDir, "vocab.json"),
			Merges: filepath.Join(tokDir, "merges.txt"), ContextLength: tinyCtx},
	})
	for i := range m.Models {
		if m.Models[i].Role == RoleImageEmbedder {
			m.Models[i].TextModel = "tiny-text"
		}
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

func testVocab(t *testing.T) *cliptok.Tokenizer {
	t.Helper()
	tok, err := cliptok.Load(filepath.Join("cliptok", "testdata", "vocab.json"), filepath.Join("cliptok", "testdata", "merges.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTextEncoderTinyModel(t *testing.T) {
	const dim = 16
	tok := testVocab(t)
	r := rand.New(rand.NewPCG(5, 6))
	table := make([][]float32, 80)
	for i := range table {
		table[i] = make([]float32, dim)
		for k := range table[i] {
			table[i][k] = r.Float32()*2 - 1
		}
	}
	// Needs no shared data: the model, vocabulary and merges are generated
	// or in testdata.
	m := tinyTextManifest(t, table, t.TempDir())
	if err := InitRuntime(""); err != nil {
		t.Fatal(err)
	}
	spec, _ := m.Model("tiny-text")
	enc, err := OpenTextEncoder(m, spec, SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	texts := []string{"red dress", "shirt", "Red  DRESS", "jeans"}
	got, err := enc.EmbedTexts(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range texts {
		ids, _, err := tok.Frame(s, tinyCtx, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, dim)
		for _, id := range ids {
			for k := range want {
				want[k] += table[id][k] / tinyCtx
			}
		}
		Normalize(want)
		for k := range want {
			if math.Abs(float64(got[i][k]-want[k])) > 1e-5 {
				t.Fatalf("%q: got %v, want %v", s, got[i], want)
			}
		}
	}
	if Cosine(got[0], got[2]) < 0.9999 || Cosine(got[0], got[1]) > 0.99 {
		t.Errorf("same text should match, different texts differ: %.4f %.4f", Cosine(got[0], got[2]), Cosine(got[0], got[1]))
	}
}

// TestGarmentPromptsWithTextEncoder labels garment regions by zero-shot
// prompts: the tiny text model maps "shirt" and "jeans" to the image
// embeddings of a catalog T-shirt and jeans, so the prompt path must label
// the red T-shirt and blue jeans of the turntable video accordingly.
func TestGarmentPromptsWithTextEncoder(t *testing.T) {
	ctx := context.Background()
	base := testModels(t)
	cat := filepath.Join(testenv.Samples(t), "catalog", "images")
	refs, err := base.Embedder.EmbedImages(ctx, []image.Image{
		loadImage(t, filepath.Join(cat, "16331.jpg")), // T-shirt
		loadImage(t, filepath.Join(cat, "16820.jpg")), // jeans
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := testVocab(t)
	table := make([][]float32, 80)
	for i := range table {
		table[i] = make([]float32, 1280)
	}
	table[tok.Encode("shirt")[0]] = refs[0]
	table[tok.Encode("jeans")[0]] = refs[1]
	m := tinyTextManifest(t, table, testenv.Models(t))
	// Labels outside the apparel table may go in any region, so the prompt
	// scores alone decide.
	m.Garments.Prompts = map[string]string{"shirt": "shirt", "denim": "jeans"}
	ms, err := Open(ctx, Options{Manifest: m, Threads: 2, SkipAppearance: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	tv, err := ms.EmbedTexts(ctx, []string{"shirt", "jeans"})
	if err != nil {
		t.Fatal(err)
	}
	if Cosine(tv[0], refs[0]) < 0.999 || Cosine(tv[1], refs[1]) < 0.999 {
		t.Fatalf("text vectors do not land on their images: %.4f %.4f", Cosine(tv[0], refs[0]), Cosine(tv[1], refs[1]))
	}
	img := turntableFrame(t, "1")
	dets, err := ms.Detector.Detect(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	items, err := ms.Garments.Items(ctx, img, dets)
	if err != nil {
		t.Fatal(err)
	}
	got := map[RegionKind]string{}
	for _, it := range items {
		t.Logf("%s %q %.3f", it.Kind, it.Label, it.Score)
		got[it.Kind] = it.Label
	}
	if got[RegionUpper] != "shirt" || got[RegionLower] != "denim" {
		t.Fatalf("prompt labels %v, want upper=shirt lower=denim", got)
	}
}
