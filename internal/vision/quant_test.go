package vision

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Builders of the few ONNX protobuf messages the rewrite reads.

func msg(fields ...[]byte) []byte { return bytes.Join(fields, nil) }

func bytesField(num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
}

func varintField(num protowire.Number, x uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), x)
}

func testNode(op string, inputs ...string) []byte {
	var fs [][]byte
	for _, in := range inputs {
		fs = append(fs, bytesField(nodeInput, []byte(in)))
	}
	fs = append(fs, bytesField(nodeOpType, []byte(op)))
	return bytesField(graphNode, msg(fs...))
}

func rawTensor(name string, dtype uint64, raw ...byte) []byte {
	return bytesField(graphInitializer, msg(varintField(1, uint64(len(raw))), varintField(tensorDataType, dtype),
		bytesField(tensorName, []byte(name)), bytesField(tensorRawData, raw)))
}

func int32Tensor(name string, dtype uint64, vals ...int32) []byte {
	var packed []byte
	for _, v := range vals {
		packed = protowire.AppendVarint(packed, uint64(int64(v)))
	}
	return bytesField(graphInitializer, msg(varintField(tensorDataType, dtype),
		bytesField(tensorInt32Data, packed), bytesField(tensorName, []byte(name))))
}

func testModel(graph ...[]byte) []byte {
	return msg(varintField(1, 7), bytesField(modelGraph, msg(graph...)))
}

// conv is a QLinearConv with weight "w" and weight zero point "wzp".
var conv = testNode("QLinearConv", "x", "xs", "xzp", "w", "ws", "wzp", "ys", "yzp")

// initializers returns the data type and data of every initializer of
// model, by name.
func initializers(t *testing.T, model []byte) map[string][2]any {
	t.Helper()
	graph, err := field(model, modelGraph)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]any{}
	err = each(graph, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != graphInitializer {
			return nil
		}
		var name string
		var dt uint64
		var data []int64
		err := each(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
			switch num {
			case tensorName:
				name = string(v)
			case tensorDataType:
				dt = x
			case tensorRawData:
				for _, c := range v {
					if dt == dtypeInt8 {
						data = append(data, int64(int8(c)))
					} else {
						data = append(data, int64(c))
					}
				}
			case tensorInt32Data:
				for rest := v; len(rest) > 0; {
					x, n := protowire.ConsumeVarint(rest)
					rest = rest[n:]
					data = append(data, int64(int32(x)))
				}
			}
			return nil
		})
		out[name] = [2]any{dt, data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnsignedWeights(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model []byte
		ops   int
		// want maps initializer names to their data type and values after
		// the rewrite (nil: the model must come back unchanged).
		want map[string][2]any
	}{
		{
			name:  "raw int8 weights become uint8 plus 128",
			model: testModel(conv, rawTensor("w", dtypeInt8, 0x00, 0x7f, 0x80, 0xff), rawTensor("wzp", dtypeInt8, 0x00), rawTensor("xzp", dtypeUint8, 3)),
			ops:   1,
			want: map[string][2]any{
				"w":   {uint64(dtypeUint8), []int64{128, 255, 0, 127}},
				"wzp": {uint64(dtypeUint8), []int64{128}},
				"xzp": {uint64(dtypeUint8), []int64{3}},
			},
		},
		{
			name: "int32_data weights and a matmul",
			model: testModel(testNode("QLinearMatMul", "x", "xs", "xzp", "w", "ws", "wzp", "ys", "yzp"),
				int32Tensor("w", dtypeInt8, -128, -1, 0, 5), int32Tensor("wzp", dtypeInt8, -2)),
			ops: 1,
			want: map[string][2]any{
				"w":   {uint64(dtypeUint8), []int64{0, 127, 128, 133}},
				"wzp": {uint64(dtypeUint8), []int64{126}},
			},
		},
		{
			name:  "uint8 weights are left alone",
			model: testModel(conv, rawTensor("w", dtypeUint8, 1, 2), rawTensor("wzp", dtypeUint8, 128)),
		},
		{
			name:  "float model",
			model: testModel(testNode("Conv", "x", "w"), rawTensor("w", 1, 0, 0, 128, 63)),
		},
		{
			name:  "weight read by another operator",
			model: testModel(conv, testNode("Identity", "w"), rawTensor("w", dtypeInt8, 1), rawTensor("wzp", dtypeInt8, 0)),
		},
		{
			name: "weight that is also a graph input",
			model: testModel(conv, rawTensor("w", dtypeInt8, 1), rawTensor("wzp", dtypeInt8, 0),
				bytesField(graphInput, bytesField(valueInfoName, []byte("w")))),
		},
		{
			name: "weight stored outside the file",
			model: testModel(conv, rawTensor("wzp", dtypeInt8, 0), bytesField(graphInitializer, msg(varintField(tensorDataType, dtypeInt8),
				bytesField(tensorName, []byte("w")), varintField(tensorDataLocation, 1)))),
		},
		{
			name: "graph with a subgraph",
			model: testModel(conv, rawTensor("w", dtypeInt8, 1), rawTensor("wzp", dtypeInt8, 0),
				bytesField(graphNode, msg(bytesField(nodeOpType, []byte("If")), bytesField(nodeAttribute, bytesField(attrGraph, nil))))),
		},
		{
			name:  "no graph",
			model: varintField(1, 7),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, n, err := unsignedWeights(tc.model)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.ops {
				t.Fatalf("rewrote %d operators, want %d", n, tc.ops)
			}
			if tc.want == nil {
				if !bytes.Equal(out, tc.model) {
					t.Fatal("model changed")
				}
				return
			}
			got := initializers(t, out)
			for name, want := range tc.want {
				g := got[name]
				if g[0] != want[0] || !slices.Equal(g[1].([]int64), want[1].([]int64)) {
					t.Errorf("%s: type %v values %v, want type %v values %v", name, g[0], g[1], want[0], want[1])
				}
			}
		})
	}
}

func TestUnsignedWeightsRejectsCorruptModels(t *testing.T) {
	for name, b := range map[string][]byte{
		"truncated tag":   {0x80},
		"truncated bytes": {0x3a, 0x05, 0x01},
		"bad graph":       bytesField(modelGraph, []byte{0x0a, 0x09}),
	} {
		if _, _, err := unsignedWeights(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestUnsignedWeightsOnEmbedder checks the rewrite of the shipped int8
// MobileNetV2: every convolution and the classifier change, and nothing but
// the weights' types and values.
func TestUnsignedWeightsOnEmbedder(t *testing.T) {
	ms := testModels(t)
	path := ms.Manifest.Path(ms.Embedder.Spec().File)
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, n, err := unsignedWeights(in)
	if err != nil {
		t.Fatal(err)
	}
	if n != 53 {
		t.Fatalf("rewrote %d operators, want the 52 convolutions and the classifier", n)
	}
	before, after := initializers(t, in), initializers(t, out)
	changed := 0
	for name, b := range before {
		a := after[name]
		if b[0] == uint64(dtypeInt8) {
			changed++
			if a[0] != uint64(dtypeUint8) {
				t.Fatalf("%s: type %v after the rewrite", name, a[0])
			}
			bv, av := b[1].([]int64), a[1].([]int64)
			for i := range bv {
				if av[i] != bv[i]+128 {
					t.Fatalf("%s[%d]: %d became %d", name, i, bv[i], av[i])
				}
			}
			continue
		}
		if a[0] != b[0] || !slices.Equal(a[1].([]int64), b[1].([]int64)) {
			t.Fatalf("%s changed", name)
		}
	}
	if changed != 2*n {
		t.Fatalf("%d int8 tensors, want a weight and a zero point per operator", changed)
	}
}

// TestEmbedderClassifiesCatalogProducts pins the ImageNet class the
// embedder gives clear catalog packshots. With the int8 weights run by
// ONNX Runtime's saturating u8s8 kernels (x86 without VNNI), the shoe came
// out a sandal (0.16) and the sunglasses at 0.47.
func TestEmbedderClassifiesCatalogProducts(t *testing.T) {
	ms := testModels(t)
	imgs := catalogImages(t)
	as, err := ms.Embedder.Analyze(context.Background(), imgs, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"sunglasses": 836, "jeans": 608, "backpack": 414, "shoes": 770}
	for i, p := range catalogProducts {
		c, ok := want[p.kind]
		if !ok {
			continue
		}
		top := as[i].Top[0]
		if top.Class != c || top.Score < 0.5 {
			t.Errorf("%s %s: top class %d %s (%.2f), want %d %s with at least 0.5", p.kind, p.id, top.Class, top.Name, top.Score, c, ms.Embedder.ClassName(c))
		}
	}
}
