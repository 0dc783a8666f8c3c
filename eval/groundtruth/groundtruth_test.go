package groundtruth

import (
	"bytes"
	"strings"
	"testing"
)

func valid() *Video {
	return &Video{
		Schema: Schema, Video: "v.mp4", FPS: 25, Frames: 100,
		Shots: []Shot{
			{StartFrame: 0, EndFrame: 49, TransitionIn: TransitionNone},
			{StartFrame: 50, EndFrame: 99, TransitionIn: TransitionFade, TransitionFrames: []int{45, 54}},
		},
		Items: []Item{{ProductID: "7", StartS: 0.4, EndS: 1.2, Boxes: []Box{
			{T: 0.4, X: 0.1, Y: 0.1, W: 0.2, H: 0.3}, {T: 0.8, X: 0.2, Y: 0.1, W: 0.2, H: 0.3},
		}}},
	}
}

func TestRoundTrip(t *testing.T) {
	var a, b bytes.Buffer
	if err := Encode(&a, valid()); err != nil {
		t.Fatal(err)
	}
	v, err := Decode(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := Encode(&b, v); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("round trip changed the document:\n%s\n%s", a.Bytes(), b.Bytes())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(v *Video)
		want   string
	}{
		{"schema", func(v *Video) { v.Schema = "x" }, "schema"},
		{"fps", func(v *Video) { v.FPS = 0 }, "fps"},
		{"gap", func(v *Video) { v.Shots[1].StartFrame = 51 }, "tile"},
		{"short", func(v *Video) { v.Shots[1].EndFrame = 98 }, "100 frames"},
		{"transition", func(v *Video) { v.Shots[1].TransitionIn = "iris" }, "unknown transition"},
		{"span", func(v *Video) { v.Shots[1].TransitionFrames = []int{54, 45} }, "transition_frames"},
		{"product", func(v *Video) { v.Items[0].ProductID = "" }, "product_id"},
		{"time", func(v *Video) { v.Items[0].EndS = 0.1 }, "end_s"},
		{"box", func(v *Video) { v.Items[0].Boxes[0].X = 0.9 }, "unit square"},
		{"order", func(v *Video) { v.Items[0].Boxes[0].T = 2 }, "sorted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := valid()
			tc.mutate(v)
			err := v.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.want)
			}
		})
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid document rejected: %v", err)
	}
}

func TestBoxAt(t *testing.T) {
	it := valid().Items[0]
	for _, tc := range []struct {
		t     float64
		ok    bool
		wantX float64
	}{{0.3, false, 0}, {0.4, true, 0.1}, {0.59, true, 0.1}, {0.61, true, 0.2}, {1.19, true, 0.2}, {1.2, false, 0}} {
		b, ok := it.BoxAt(tc.t)
		if ok != tc.ok || b.X != tc.wantX {
			t.Errorf("BoxAt(%v) = %+v, %v; want x=%v, %v", tc.t, b, ok, tc.wantX, tc.ok)
		}
	}
}

func TestDecodeBadInput(t *testing.T) {
	for _, doc := range []string{"", "{", `{"schema":"vitrine.groundtruth/v1","fps":25,"frames":10,"bogus":1}`} {
		if _, err := Decode(strings.NewReader(doc)); err == nil {
			t.Errorf("Decode(%q): no error", doc)
		}
	}
}
