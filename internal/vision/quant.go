package vision

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Quantised models store their weights as int8 and their activations as
// uint8. ONNX Runtime multiplies such u8s8 pairs on x86 CPUs without
// AVX-512 VNNI (AVX2-only Intel and AMD parts) with an instruction that
// adds two products into a saturating 16-bit lane: large activations times
// large weights clip, and the same image gets a different embedding there
// than on a VNNI CPU. On an AVX2-only AMD EPYC the int8 MobileNetV2 then
// put almost every pedestrian near some catalog product (23.6 false matches
// per minute on the negative videos against 0.7 on a VNNI Xeon). Shifting
// the weights and their zero points by 128 to uint8 changes no value the
// model computes ((w+128) - (zp+128) = w - zp) but selects the u8u8 kernels,
// which widen to 16 bits before multiplying and are exact on every CPU.

// ONNX protobuf field numbers (onnx.proto3) that the rewrites (this one
// and spatialDims) read or write.
const (
	modelGraph = 7 // ModelProto.graph

	graphNode        = 1  // GraphProto.node
	graphInitializer = 5  // GraphProto.initializer
	graphInput       = 11 // GraphProto.input
	graphOutput      = 12 // GraphProto.output
	graphValueInfo   = 13 // GraphProto.value_info

	nodeInput     = 1 // NodeProto.input
	nodeOpType    = 4 // NodeProto.op_type
	nodeDomain    = 7 // NodeProto.domain
	nodeAttribute = 5 // NodeProto.attribute

	valueInfoName = 1 // ValueInfoProto.name
	valueInfoType = 2 // ValueInfoProto.type

	typeTensor      = 1 // TypeProto.tensor_type
	tensorTypeShape = 2 // TypeProto.Tensor.shape
	shapeDim        = 1 // TensorShapeProto.dim
	dimParam        = 2 // TensorShapeProto.Dimension.dim_param

	tensorDataType     = 2 // TensorProto.data_type
	tensorInt32Data    = 5 // TensorProto.int32_data
	tensorName         = 8 // TensorProto.name
	tensorRawData      = 9 // TensorProto.raw_data
	tensorDataLocation = 14

	dtypeUint8 = 2
	dtypeInt8  = 3
)

// weightInputs names, per quantised operator, the input indices of its
// quantised weight and of that weight's zero point.
var weightInputs = map[string][2]int{
	"QLinearConv":   {3, 5},
	"QLinearMatMul": {3, 5},
}

// unsignedWeights returns model with the int8 weight initializers of its
// QLinearConv and QLinearMatMul nodes (and their zero points) stored as
// uint8, and how many operators it changed. A model it cannot rewrite
// safely (a weight that is also a graph input, used by another operator, or
// stored outside the file; a subgraph) comes back unchanged with n = 0.
func unsignedWeights(model []byte) (out []byte, n int, err error) {
	graph, err := field(model, modelGraph)
	if err != nil {
		return nil, 0, err
	}
	if graph == nil {
		return model, 0, nil
	}
	g, err := scanGraph(graph)
	if err != nil {
		return nil, 0, err
	}
	convert := map[string]bool{}
	for _, nd := range g.nodes {
		idx, ok := weightInputs[nd.op]
		if !ok || (nd.domain != "" && nd.domain != "ai.onnx") || len(nd.inputs) <= idx[1] {
			continue
		}
		w, zp := nd.inputs[idx[0]], nd.inputs[idx[1]]
		if g.dtype[w] == dtypeInt8 && g.dtype[zp] == dtypeInt8 {
			convert[w], convert[zp] = true, true
			n++
		}
	}
	if n == 0 || g.subgraphs {
		return model, 0, nil
	}
	// Every other use of a converted tensor must be one that reads it as a
	// quantised value with its zero point, or the types would no longer
	// agree.
	for _, nd := range g.nodes {
		idx, ok := weightInputs[nd.op]
		for k, in := range nd.inputs {
			if !convert[in] {
				continue
			}
			if ok && (k == idx[0] || k == idx[1]) {
				continue
			}
			return model, 0, nil
		}
	}
	for name := range convert {
		if g.inputs[name] || !g.inline[name] {
			return model, 0, nil
		}
	}
	newGraph, err := rewrite(graph, func(num protowire.Number, v []byte) ([]byte, error) {
		if num != graphInitializer {
			return v, nil
		}
		name, err := stringField(v, tensorName)
		if err != nil || !convert[name] {
			return v, err
		}
		return toUint8(v)
	})
	if err != nil {
		return nil, 0, err
	}
	out, err = rewriteAt(model, []protowire.Number{modelGraph}, func([]byte) ([]byte, error) { return newGraph, nil })
	if err != nil {
		return nil, 0, err
	}
	return out, n, nil
}

type node struct {
	op, domain string
	inputs     []string
}

type graphScan struct {
	nodes     []node
	dtype     map[string]uint64 // initializer name -> data type
	inline    map[string]bool   // initializers whose data is in the file
	inputs    map[string]bool   // graph input names
	subgraphs bool              // some node has an attribute holding a graph
}

func scanGraph(graph []byte) (*graphScan, error) {
	g := &graphScan{dtype: map[string]uint64{}, inline: map[string]bool{}, inputs: map[string]bool{}}
	err := each(graph, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case graphNode:
			nd, sub, err := scanNode(v)
			if err != nil {
				return err
			}
			g.nodes = append(g.nodes, nd)
			g.subgraphs = g.subgraphs || sub
		case graphInitializer:
			var name string
			var dt, loc uint64
			hasData := false
			err := each(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch {
				case num == tensorName && typ == protowire.BytesType:
					name = string(v)
				case num == tensorDataType && typ == protowire.VarintType:
					dt = x
				case num == tensorDataLocation && typ == protowire.VarintType:
					loc = x
				case num == tensorRawData || num == tensorInt32Data:
					hasData = true
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("initializer: %w", err)
			}
			g.dtype[name] = dt
			// A zero-size tensor has no data field; it is still inline.
			g.inline[name] = loc == 0 && (hasData || dt != 0)
		case graphInput:
			name, err := stringField(v, valueInfoName)
			if err != nil {
				return fmt.Errorf("graph input: %w", err)
			}
			g.inputs[name] = true
		}
		return nil
	})
	return g, err
}

// attrGraph and attrGraphs are AttributeProto's g and graphs fields.
const (
	attrGraph  = 6
	attrGraphs = 11
)

func scanNode(b []byte) (nd node, subgraph bool, err error) {
	err = each(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case nodeInput:
			nd.inputs = append(nd.inputs, string(v))
		case nodeOpType:
			nd.op = string(v)
		case nodeDomain:
			nd.domain = string(v)
		case nodeAttribute:
			return each(v, func(num protowire.Number, typ protowire.Type, _ []byte, _ uint64) error {
				if typ == protowire.BytesType && (num == attrGraph || num == attrGraphs) {
					subgraph = true
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return node{}, false, fmt.Errorf("node: %w", err)
	}
	return nd, subgraph, nil
}

// toUint8 rewrites one int8 TensorProto as uint8 holding every value plus
// 128.
func toUint8(t []byte) ([]byte, error) {
	var out []byte
	err := each(t, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == tensorDataType && typ == protowire.VarintType:
			out = protowire.AppendTag(out, num, typ)
			out = protowire.AppendVarint(out, dtypeUint8)
		case num == tensorRawData && typ == protowire.BytesType:
			shifted := make([]byte, len(v))
			for i, c := range v {
				shifted[i] = c ^ 0x80 // int8 two's complement + 128 = uint8
			}
			out = protowire.AppendTag(out, num, typ)
			out = protowire.AppendBytes(out, shifted)
		case num == tensorInt32Data && typ == protowire.BytesType: // packed
			var packed []byte
			for rest := v; len(rest) > 0; {
				x, k := protowire.ConsumeVarint(rest)
				if k < 0 {
					return fmt.Errorf("int32_data: %w", protowire.ParseError(k))
				}
				rest = rest[k:]
				packed = protowire.AppendVarint(packed, uint64(int64(int32(x))+128))
			}
			out = protowire.AppendTag(out, num, typ)
			out = protowire.AppendBytes(out, packed)
		case num == tensorInt32Data && typ == protowire.VarintType:
			out = protowire.AppendTag(out, num, typ)
			out = protowire.AppendVarint(out, uint64(int64(int32(x))+128))
		default:
			out = appendField(out, num, typ, v, x)
		}
		return nil
	})
	return out, err
}

// each calls f for every field of the message b: v holds the bytes of a
// length-delimited field, x the value of a varint or fixed field.
func each(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("vision: onnx protobuf: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x32 uint32
			x32, n = protowire.ConsumeFixed32(b)
			x = uint64(x32)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		default:
			return errors.New("vision: onnx protobuf: unsupported wire type")
		}
		if n < 0 {
			return fmt.Errorf("vision: onnx protobuf: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func appendField(out []byte, num protowire.Number, typ protowire.Type, v []byte, x uint64) []byte {
	out = protowire.AppendTag(out, num, typ)
	switch typ {
	case protowire.BytesType:
		return protowire.AppendBytes(out, v)
	case protowire.VarintType:
		return protowire.AppendVarint(out, x)
	case protowire.Fixed32Type:
		return protowire.AppendFixed32(out, uint32(x))
	default:
		return protowire.AppendFixed64(out, x)
	}
}

// rewrite copies message b with every length-delimited field replaced by
// what f returns for it.
func rewrite(b []byte, f func(num protowire.Number, v []byte) ([]byte, error)) ([]byte, error) {
	out := make([]byte, 0, len(b))
	err := each(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		if typ == protowire.BytesType {
			nv, err := f(num, v)
			if err != nil {
				return err
			}
			v = nv
		}
		out = appendField(out, num, typ, v, x)
		return nil
	})
	return out, err
}

// rewriteAt copies message b with f applied to every length-delimited
// field reached through the nested fields of path (the first number a
// field of b, the next one of that field's message, and so on).
func rewriteAt(b []byte, path []protowire.Number, f func(v []byte) ([]byte, error)) ([]byte, error) {
	return rewrite(b, func(num protowire.Number, v []byte) ([]byte, error) {
		switch {
		case num != path[0]:
			return v, nil
		case len(path) == 1:
			return f(v)
		}
		return rewriteAt(v, path[1:], f)
	})
}

// field returns the last length-delimited field num of message b (nil when
// absent).
func field(b []byte, num protowire.Number) ([]byte, error) {
	var out []byte
	err := each(b, func(n protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if n == num && typ == protowire.BytesType {
			out = v
		}
		return nil
	})
	return out, err
}

func stringField(b []byte, num protowire.Number) (string, error) {
	v, err := field(b, num)
	return string(v), err
}
