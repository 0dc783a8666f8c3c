package video

import (
	"image"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/shots"
)

// TestChooseFramesAndKeyframes checks the video's use of internal/sample:
// shot indexes carried over, black holds skipped, the incoming dissolve
// avoided, the rate cap kept, and keyframes taken from the sampled frames.
func TestChooseFramesAndKeyframes(t *testing.T) {
	const fps = 10.0
	// 60 frames: shot 0 frames 0-19, black hold 20-29, shot 2 frames 30-59
	// entered through a dissolve over frames 30-34.
	d := decodeOutput{Frames: 60}
	for i := range 60 {
		d.PTS = append(d.PTS, float64(i)/fps)
		sharp := float32(10 + i%7)
		if i == 13 || i == 52 {
			sharp = 100 // the sharpest frame of its shot
		}
		if i >= 30 && i <= 34 {
			sharp = 500 // dissolve frames look busy; they must not be picked
		}
		d.Sharp = append(d.Sharp, sharp)
	}
	d.Shots = shots.Result{
		Shots: []shots.Shot{
			{Index: 0, StartFrame: 0, EndFrame: 20, Start: 0, End: 2, Transition: shots.Cut},
			{Index: 1, StartFrame: 20, EndFrame: 30, Start: 2, End: 3, Transition: shots.Cut, TransitionStart: 20, TransitionEnd: 20, Black: true},
			{Index: 2, StartFrame: 30, EndFrame: 60, Start: 3, End: 6, Transition: shots.Dissolve, TransitionStart: 30, TransitionEnd: 34},
		},
		Black:  []shots.Segment{{StartFrame: 20, EndFrame: 30, Start: 2, End: 3}},
		Frames: 60,
	}
	for _, tc := range []struct {
		name      string
		rate      float64
		perShot   map[int]int
		keyframes map[int]int
	}{
		{"2 per second", 2, map[int]int{0: 4, 2: 5}, map[int]int{0: 13, 1: 25, 2: 52}},
		{"1 per second", 1, map[int]int{0: 2, 2: 2}, map[int]int{0: 13, 1: 25, 2: 52}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames := chooseFrames(d, tc.rate)
			got := map[int]int{}
			for _, f := range frames {
				got[f.Shot]++
				if f.Shot == 1 {
					t.Errorf("frame %d picked from the black hold", f.Frame)
				}
				if f.Frame >= 30 && f.Frame <= 34 {
					t.Errorf("frame %d picked inside the dissolve", f.Frame)
				}
				if f.T != d.PTS[f.Frame] || f.Sharpness != float64(d.Sharp[f.Frame]) {
					t.Errorf("frame %d: t=%v sharpness=%v, want %v %v", f.Frame, f.T, f.Sharpness, d.PTS[f.Frame], d.Sharp[f.Frame])
				}
			}
			for shot, n := range tc.perShot {
				if got[shot] != n {
					t.Errorf("shot %d: %d frames, want %d (all: %v)", shot, got[shot], n, frames)
				}
			}
			rows := planShots(d, frames)
			if len(rows) != 3 {
				t.Fatalf("%d shot rows, want 3", len(rows))
			}
			for _, r := range rows {
				if want := tc.keyframes[r.Index]; r.KeyFrame != want || r.KeyframeS != d.PTS[want] {
					t.Errorf("shot %d: keyframe %d at %v s, want %d", r.Index, r.KeyFrame, r.KeyframeS, want)
				}
			}
		})
	}
}

func TestSquareAround(t *testing.T) {
	frame := image.Rect(0, 0, 640, 360)
	for _, tc := range []struct {
		name string
		box  image.Rectangle
		want image.Rectangle
	}{
		{"wide box in the middle", image.Rect(270, 160, 370, 200), image.Rect(265, 125, 375, 235)},
		{"tall box", image.Rect(300, 100, 320, 200), image.Rect(255, 95, 365, 205)},
		{"shifted inside at the left edge", image.Rect(0, 150, 100, 170), image.Rect(0, 105, 110, 215)},
		{"shifted inside at the bottom right", image.Rect(600, 340, 640, 360), image.Rect(596, 316, 640, 360)},
		{"larger than the frame: cut", image.Rect(0, 0, 640, 300), image.Rect(0, 0, 640, 360)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := squareAround(tc.box, frame, 0.1)
			if got != tc.want {
				t.Errorf("squareAround(%v) = %v, want %v", tc.box, got, tc.want)
			}
			if !tc.box.In(got) {
				t.Errorf("%v does not contain the box %v", got, tc.box)
			}
		})
	}
}
