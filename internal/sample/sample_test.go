package sample

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/shots"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// seq makes n candidates at fps with sharpness from f.
func seq(start, n int, fps float64, f func(i int) float64) []Candidate {
	out := make([]Candidate, n)
	for k := range n {
		i := start + k
		out[k] = Candidate{Index: i, PTS: float64(i) / fps, Sharpness: f(i)}
	}
	return out
}

func TestChoose(t *testing.T) {
	wave := func(i int) float64 { return 1 + math.Sin(float64(i)*0.7) } // sharpness varies frame to frame
	tests := []struct {
		name      string
		cands     []Candidate
		shot      Shot
		opts      Options
		wantN     int
		forbidden [][2]int // picks must not fall here
	}{
		{"10 s shot at the default rate", seq(0, 250, 25, wave), Shot{0, 250, nil, false}, Options{}, 20, nil},
		{"rate 0.5", seq(0, 250, 25, wave), Shot{0, 250, nil, false}, Options{Rate: 0.5}, 5, nil},
		{"short shot still gets one", seq(100, 5, 25, wave), Shot{100, 105, nil, false}, Options{}, 1, nil},
		{"min per shot", seq(100, 10, 25, wave), Shot{100, 110, nil, false}, Options{MinPerShot: 3}, 3, nil},
		{"max per shot", seq(0, 250, 25, wave), Shot{0, 250, nil, false}, Options{MaxPerShot: 4}, 4, nil},
		{"avoids transitions", seq(0, 100, 25, wave), Shot{0, 100, [][2]int{{0, 19}, {80, 99}}, false}, Options{}, 4, [][2]int{{0, 19}, {80, 99}}},
		{"all avoided falls back", seq(0, 10, 25, wave), Shot{0, 10, [][2]int{{0, 9}}, false}, Options{}, 1, nil},
		{"candidates outside the shot are ignored", seq(0, 100, 25, wave), Shot{50, 60, nil, false}, Options{}, 1, [][2]int{{0, 49}, {60, 99}}},
		{"no candidates", nil, Shot{0, 10, nil, false}, Options{}, 0, nil},
		{"skipped shot", seq(0, 50, 25, wave), Shot{0, 50, nil, true}, Options{}, 0, nil},
		{"bad rate uses the default", seq(0, 50, 25, wave), Shot{0, 50, nil, false}, Options{Rate: math.NaN()}, 4, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Choose(tc.cands, tc.shot, tc.opts)
			if len(got) != tc.wantN {
				t.Fatalf("%d picks %+v, want %d", len(got), got, tc.wantN)
			}
			for k, c := range got {
				if c.Index < tc.shot.StartFrame || c.Index >= tc.shot.EndFrame {
					t.Errorf("pick %d outside the shot", c.Index)
				}
				if avoided(c.Index, tc.forbidden) {
					t.Errorf("pick %d in an avoided range", c.Index)
				}
				if k > 0 && c.Index <= got[k-1].Index {
					t.Errorf("picks not increasing: %v", got)
				}
			}
		})
	}
}

// TestChooseSharpestPerSlot checks the picks are each the sharpest frame
// of their slot and spread over the shot.
func TestChooseSharpestPerSlot(t *testing.T) {
	sharp := map[int]bool{7: true, 31: true, 60: true, 95: true} // one in each 1 s slot at 25 fps
	cands := seq(0, 100, 25, func(i int) float64 {
		if sharp[i] {
			return 10
		}
		return 1
	})
	got := Choose(cands, Shot{0, 100, nil, false}, Options{Rate: 1})
	var idx []int
	for _, c := range got {
		idx = append(idx, c.Index)
	}
	want := []int{7, 31, 60, 95}
	if len(idx) != len(want) {
		t.Fatalf("picks %v, want %v", idx, want)
	}
	for i := range want {
		if idx[i] != want[i] {
			t.Fatalf("picks %v, want %v", idx, want)
		}
	}
	// Two sharp frames at a slot edge: the second is too close to the first.
	cands = seq(0, 50, 25, func(i int) float64 {
		if i == 24 || i == 25 {
			return 10
		}
		return 1
	})
	got = Choose(cands, Shot{0, 50, nil, false}, Options{Rate: 1})
	if len(got) != 2 || got[1].PTS-got[0].PTS < 0.5 {
		t.Errorf("picks %+v are not spread", got)
	}
}

func TestVariableFrameRate(t *testing.T) {
	// Frames with a gap of 2 s in the middle (dropped frames).
	var cands []Candidate
	for i := range 20 {
		cands = append(cands, Candidate{Index: i, PTS: float64(i) * 0.04, Sharpness: 1})
	}
	for i := 20; i < 40; i++ {
		cands = append(cands, Candidate{Index: i, PTS: 2.8 + float64(i-20)*0.04, Sharpness: 1})
	}
	got := Choose(cands, Shot{0, 40, nil, false}, Options{})
	if len(got) < 2 || len(got) > 7 {
		t.Fatalf("%d picks over 3.6 s with a gap: %+v", len(got), got)
	}
}

func TestShotsFromAndPlan(t *testing.T) {
	black := ShotsFrom(shots.Result{Shots: []shots.Shot{{Index: 0, StartFrame: 0, EndFrame: 20, Transition: shots.None, Black: true}}})
	if len(black) != 1 || !black[0].Skip || len(Plan(seq(0, 20, 25, func(int) float64 { return 1 }), black, Options{})) != 0 {
		t.Errorf("black shot not skipped: %+v", black)
	}
	res := shots.Result{
		Frames: 300,
		Shots: []shots.Shot{
			{Index: 0, StartFrame: 0, EndFrame: 100, Transition: shots.None},
			{Index: 1, StartFrame: 100, EndFrame: 200, Transition: shots.Dissolve, TransitionStart: 90, TransitionEnd: 110},
			{Index: 2, StartFrame: 200, EndFrame: 300, Transition: shots.Cut, TransitionStart: 200, TransitionEnd: 200},
		},
		Black: []shots.Segment{{StartFrame: 280, EndFrame: 300}},
	}
	sh := ShotsFrom(res)
	if len(sh) != 3 || len(sh[0].Avoid) != 1 || len(sh[1].Avoid) != 1 || len(sh[2].Avoid) != 1 {
		t.Fatalf("shots %+v", sh)
	}
	picks := Plan(seq(0, 300, 25, func(i int) float64 { return float64(i % 7) }), sh, Options{})
	perShot := map[int]int{}
	for _, p := range picks {
		perShot[p.Shot]++
		if (p.Index >= 90 && p.Index <= 110) || p.Index >= 280 {
			t.Errorf("pick %d in a transition or black frames", p.Index)
		}
		if p.Index < res.Shots[p.Shot].StartFrame || p.Index >= res.Shots[p.Shot].EndFrame {
			t.Errorf("pick %d not in shot %d", p.Index, p.Shot)
		}
	}
	for i := range 3 {
		if perShot[i] < 1 || perShot[i] > 8 {
			t.Errorf("shot %d has %d picks", i, perShot[i])
		}
	}
}

func TestSharpness(t *testing.T) {
	const w, h = 64, 48
	checker := make([]byte, w*h*3)
	flat := make([]byte, w*h*3)
	for y := range h {
		for x := range w {
			v := byte(40)
			if (x/4+y/4)%2 == 0 {
				v = 220
			}
			for k := range 3 {
				checker[(y*w+x)*3+k] = v
				flat[(y*w+x)*3+k] = 128
			}
		}
	}
	blurred := boxBlur(checker, w, h, 2)
	s, b, f := Sharpness(w, h, checker), Sharpness(w, h, blurred), Sharpness(w, h, flat)
	if !(s > b && b > f && f == 0) {
		t.Errorf("sharp %v blurred %v flat %v", s, b, f)
	}
	for _, bad := range []struct{ w, h, n int }{{2, 2, 12}, {10, 10, 10}, {-1, 5, 0}} {
		if v := Sharpness(bad.w, bad.h, make([]byte, bad.n)); v != 0 {
			t.Errorf("Sharpness(%d,%d,%d bytes) = %v", bad.w, bad.h, bad.n, v)
		}
	}
}

func boxBlur(src []byte, w, h, r int) []byte {
	out := make([]byte, len(src))
	for y := range h {
		for x := range w {
			for k := range 3 {
				sum, n := 0, 0
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						xx, yy := x+dx, y+dy
						if xx < 0 || yy < 0 || xx >= w || yy >= h {
							continue
						}
						sum += int(src[(yy*w+xx)*3+k])
						n++
					}
				}
				out[(y*w+x)*3+k] = byte(sum / n)
			}
		}
	}
	return out
}

// TestRealVideo runs decode, shot detection, sharpness and planning on the
// fades sample: no pick may land on a black frame or in a transition, and
// every shot gets between one and Rate frames per second.
func TestRealVideo(t *testing.T) {
	path := filepath.Join(testenv.Samples(t, "videos"), "videos", "pyscenedetect_testvideo_fades.mp4")
	ctx := context.Background()
	info, err := media.Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	det := shots.NewDetector(shots.Config{FPS: info.FPS})
	var cands []Candidate
	err = media.Frames(ctx, path, media.FrameOptions{Info: &info}, func(f media.Frame) error {
		cands = append(cands, Candidate{Index: f.Index, PTS: f.PTS, Sharpness: Sharpness(f.Width, f.Height, f.Pix)})
		return det.Add(shots.Frame(f))
	})
	if err != nil {
		t.Fatal(err)
	}
	res := det.Result()
	sh := ShotsFrom(res)
	picks := Plan(cands, sh, Options{})
	per := make([]int, len(sh))
	for _, p := range picks {
		per[p.Shot]++
		for _, b := range res.Black {
			if p.Index >= b.StartFrame && p.Index < b.EndFrame {
				t.Errorf("pick %d on a black frame", p.Index)
			}
		}
		for _, s := range res.Shots {
			if s.Transition.Gradual() && p.Index >= s.TransitionStart && p.Index <= s.TransitionEnd {
				t.Errorf("pick %d inside the transition into shot %d", p.Index, s.Index)
			}
		}
	}
	for i, s := range res.Shots {
		dur := s.End - s.Start
		if per[i] < 1 || float64(per[i]) > dur*DefaultRate+1e-9 {
			t.Errorf("shot %d (%.2f s) has %d picks", i, dur, per[i])
		}
	}
	t.Logf("%d shots, %d picks for %d frames", len(res.Shots), len(picks), len(cands))
}
