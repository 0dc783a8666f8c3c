package video

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/media"
)

// scene is a generated 640x360 frame: a gradient, plus noise of the given
// amplitude (as compression leaves in a still shot), a square of side
// box at (bx, by) when box > 0, and brightness shifted by lift.
func scene(index int, seed uint64, noise, box, bx, by, lift int) media.Frame {
	const w, h = 640, 360
	r := rand.New(rand.NewPCG(seed, uint64(index)))
	pix := make([]byte, w*h*3)
	for y := range h {
		for x := range w {
			for c := range 3 {
				v := (x*200/w+y*50/h+c*10)%230 + lift
				if noise > 0 {
					v += r.IntN(2*noise+1) - noise
				}
				if box > 0 && x >= bx && x < bx+box && y >= by && y < by+box {
					v = 250 - c*100
				}
				pix[(y*w+x)*3+c] = byte(min(255, max(0, v)))
			}
		}
	}
	return media.Frame{Index: index, Width: w, Height: h, Pix: pix}
}

func TestNearDuplicates(t *testing.T) {
	type step struct {
		frame  media.Frame
		shot   int
		copyOf int // -1: analysed
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a still shot with compression noise repeats its first frame", []step{
			{scene(0, 1, 4, 0, 0, 0, 0), 0, -1},
			{scene(12, 1, 4, 0, 0, 0, 0), 0, 0},
			{scene(24, 1, 4, 0, 0, 0, 0), 0, 0},
		}},
		{"a small item coming into view is analysed", []step{
			{scene(0, 2, 2, 0, 0, 0, 0), 0, -1},
			{scene(12, 2, 2, 24, 300, 150, 0), 0, -1},
			{scene(24, 2, 2, 24, 300, 150, 0), 0, 12},
		}},
		{"the same picture in the next shot is analysed", []step{
			{scene(0, 3, 0, 0, 0, 0, 0), 0, -1},
			{scene(12, 3, 0, 0, 0, 0, 0), 1, -1},
		}},
		{"slow drift is compared with the last analysed frame", []step{
			{scene(0, 4, 0, 0, 0, 0, 0), 0, -1},
			{scene(12, 4, 0, 0, 0, 0, 2), 0, 0},
			{scene(24, 4, 0, 0, 0, 0, 4), 0, -1},
			{scene(36, 4, 0, 0, 0, 0, 6), 0, 24},
		}},
		{"a frame too small to compare is analysed", []step{
			{media.Frame{Index: 0, Width: 8, Height: 8, Pix: make([]byte, 8*8*3)}, 0, -1},
			{media.Frame{Index: 12, Width: 8, Height: 8, Pix: make([]byte, 8*8*3)}, 0, -1},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d nearDuplicates
			for _, st := range tc.steps {
				src, dup := d.check(st.frame, st.shot)
				switch {
				case st.copyOf < 0 && dup:
					t.Errorf("frame %d: copy of %d, want analysed", st.frame.Index, src)
				case st.copyOf >= 0 && (!dup || src != st.copyOf):
					t.Errorf("frame %d: copy of %d (%v), want copy of %d", st.frame.Index, src, dup, st.copyOf)
				}
				if !dup {
					d.analysed(st.frame, st.shot)
				}
			}
		})
	}
}

// TestDetectionsRows checks that copied frames take their source's
// detections at their own frame and time, in frame order.
func TestDetectionsRows(t *testing.T) {
	plan := planDetection([]sampledFrame{{Frame: 0, T: 0, Shot: 0}, {Frame: 12, T: 0.5, Shot: 0}, {Frame: 24, T: 1, Shot: 0}, {Frame: 36, T: 1.5, Shot: 1}})
	d := &detections{plan: plan, copies: map[int]int{12: 0, 24: 0},
		dets: []detRow{{Frame: 36, K: 0, Label: "c"}, {Frame: 0, K: 1, Label: "b"}, {Frame: 0, K: 0, Label: "a"}}}
	var got []string
	for _, r := range d.rows() {
		got = append(got, r.Label+"@"+itoa(r.Frame)+"/"+ftoa(r.T))
	}
	want := []string{"a@0/0", "b@0/0", "a@12/0.5", "b@12/0.5", "a@24/1", "b@24/1", "c@36/0"}
	if len(got) != len(want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rows %v, want %v", got, want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
