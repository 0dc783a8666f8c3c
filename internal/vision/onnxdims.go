package vision

import (
	"fmt"
	"slices"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// spatialDims returns model with the given dimensions of its graph input
// name (height and width, e.g. 2 and 3 of NCHW) and every dimension but the
// first of its graph outputs made symbolic, and the graph's recorded
// intermediate shapes (value_info) dropped, so a fully convolutional
// network exported at one input size runs at another. ONNX Runtime infers
// the shapes again; a graph that is not fully convolutional (a reshape to
// a fixed size, a fixed grid) fails at its first run of another size.
func spatialDims(model []byte, name string, input []int) ([]byte, error) {
	named := func(prefix string, i int) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, dimParam, protowire.BytesType), []byte(prefix+strconv.Itoa(i)))
	}
	// shape rewrites the shape of one graph input or output.
	shape := func(vi []byte, prefix string, symbolic func(i int) bool) ([]byte, error) {
		return rewriteAt(vi, []protowire.Number{valueInfoType, typeTensor, tensorTypeShape}, func(v []byte) ([]byte, error) {
			i := -1
			return rewriteAt(v, []protowire.Number{shapeDim}, func(d []byte) ([]byte, error) {
				if i++; symbolic(i) {
					return named(prefix, i), nil
				}
				return d, nil
			})
		})
	}
	out, err := rewrite(model, func(num protowire.Number, graph []byte) ([]byte, error) {
		if num != modelGraph {
			return graph, nil
		}
		g := make([]byte, 0, len(graph))
		err := each(graph, func(n protowire.Number, typ protowire.Type, v []byte, x uint64) error {
			if typ == protowire.BytesType {
				var err error
				switch n {
				case graphValueInfo:
					return nil
				case graphInput:
					// Older exports list the weights as inputs too.
					var vn string
					if vn, err = stringField(v, valueInfoName); err == nil && vn == name {
						v, err = shape(v, "in", func(i int) bool { return slices.Contains(input, i) })
					}
				case graphOutput:
					v, err = shape(v, "out", func(i int) bool { return i > 0 })
				}
				if err != nil {
					return err
				}
			}
			g = appendField(g, n, typ, v, x)
			return nil
		})
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("symbolic input size: %w", err)
	}
	return out, nil
}
