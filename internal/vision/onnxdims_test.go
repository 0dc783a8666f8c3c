package vision

import (
	"os"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestSpatialDims(t *testing.T) {
	dir := testenv.Models(t)
	if err := InitRuntime(""); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(dir + "/yolox_nano_coco_416.onnx")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		input   string
		in, out []int64
	}{
		{"height and width", "images", []int64{1, 3, -1, -1}, []int64{1, -1, -1}},
		// Only the named input changes; ONNX Runtime then infers the
		// output's size from the fixed one again.
		{"another input's name", "pixels", []int64{1, 3, 416, 416}, []int64{1, 3549, 85}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := spatialDims(raw, c.input, []int{2, 3})
			if err != nil {
				t.Fatal(err)
			}
			ins, outs, err := ort.GetInputOutputInfoWithONNXData(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(ins) != 1 || len(outs) != 1 {
				t.Fatalf("inputs %v outputs %v", ins, outs)
			}
			if got := []int64(ins[0].Dimensions); !slices.Equal(got, c.in) {
				t.Errorf("input dims %v, want %v", got, c.in)
			}
			if got := []int64(outs[0].Dimensions); !slices.Equal(got, c.out) {
				t.Errorf("output dims %v, want %v", got, c.out)
			}
		})
	}
	if _, err := spatialDims([]byte{0xff, 0xff}, "images", []int{2, 3}); err == nil {
		t.Error("garbage bytes rewritten without an error")
	}
}
