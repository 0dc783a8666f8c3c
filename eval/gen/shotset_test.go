package gen

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vitrine-dev/vitrine/eval/groundtruth"
)

// handCheckedShotSet is seed 3 of the shot set at 144x256 with 10 shots.
// Its frames were looked at one by one around every boundary: a cut from a
// blue dress to a split screen (a light blue top over a checked shirt) at
// 51; a right-to-left wipe to another split screen over 100-110; a cut to
// a close framing of that screen's upper photo at 177; cuts at 248 (a
// caption banner is on screen before it) and 286; a flash at 355-356 (355
// washed, 356 white) before a split screen at 357; a dissolve of both
// halves over 394-414, while a picture-in-picture fades out; the next shot
// sliding up from the bottom over 465-477; a cut into a side-by-side split
// screen at 547.
var handCheckedShotSet = struct {
	seed   uint64
	frames int
	shots  []groundtruth.Shot
	kinds  []string
}{
	seed: 3, frames: 586,
	shots: []groundtruth.Shot{
		{StartFrame: 0, EndFrame: 50, TransitionIn: "none"},
		{StartFrame: 51, EndFrame: 104, TransitionIn: "cut"},
		{StartFrame: 105, EndFrame: 176, TransitionIn: "wipe", TransitionFrames: []int{100, 110}},
		{StartFrame: 177, EndFrame: 247, TransitionIn: "cut"},
		{StartFrame: 248, EndFrame: 285, TransitionIn: "cut"},
		{StartFrame: 286, EndFrame: 356, TransitionIn: "cut"},
		{StartFrame: 357, EndFrame: 403, TransitionIn: "fade", TransitionFrames: []int{355, 357}},
		{StartFrame: 404, EndFrame: 470, TransitionIn: "dissolve", TransitionFrames: []int{394, 414}},
		{StartFrame: 471, EndFrame: 546, TransitionIn: "wipe", TransitionFrames: []int{465, 477}},
		{StartFrame: 547, EndFrame: 585, TransitionIn: "cut"},
	},
	kinds: []string{ShotSimilarCut, ShotWipe, ShotZoomCut, ShotCut, ShotCut, ShotFlash, ShotDissolve, ShotSlide, ShotSplitCut},
}

// TestShotSetTruth renders the hand-checked shot-set video and checks its
// truth against what was seen, and the frames against the truth: cuts jump
// where the truth says and nowhere near, the flash is white, the dissolve
// is a blend and the wipe is made of its two ends.
func TestShotSetTruth(t *testing.T) {
	samples := virgioSamples(t)
	ctx := context.Background()
	hc := handCheckedShotSet
	cfg := ShotSetConfig{CatalogDir: filepath.Join(samples, "catalog_virgio"), Seed: hc.seed, Width: 144, Height: 256, Shots: 10}
	res, err := ShotSet(ctx, cfg, t.TempDir(), "hand")
	if err != nil {
		t.Fatal(err)
	}
	if res.Truth.Frames != hc.frames {
		t.Fatalf("truth has %d frames, want %d", res.Truth.Frames, hc.frames)
	}
	for i, s := range res.Truth.Shots {
		w := hc.shots[i]
		if s.StartFrame != w.StartFrame || s.EndFrame != w.EndFrame || s.TransitionIn != w.TransitionIn || !slices.Equal(s.TransitionFrames, w.TransitionFrames) {
			t.Errorf("shot %d = %+v, seen %+v", i, s, w)
		}
	}
	if !slices.Equal(res.Kinds, hc.kinds) {
		t.Errorf("kinds %v, seen %v", res.Kinds, hc.kinds)
	}
	if len(res.Events) == 0 || !slices.ContainsFunc(res.Events, func(e ShotSetEvent) bool { return e.Kind == EventText && e.Frame > 177 && e.Frame < 248 }) {
		t.Errorf("events %+v lack the caption seen in shot 3", res.Events)
	}

	fr, err := decodeFrames(ctx, "ffmpeg", cfg.Width, cfg.Height, 25, res.VideoPath, 0, hc.frames)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([][]byte, hc.frames)
	for i := range frames {
		if frames[i], err = fr.next(); err != nil {
			t.Fatal(err)
		}
	}
	if err := fr.close(); err != nil {
		t.Fatal(err)
	}
	diff := func(a, b []byte) float64 {
		s := 0.0
		for i := range a {
			s += math.Abs(float64(a[i]) - float64(b[i]))
		}
		return s / float64(len(a))
	}
	for _, s := range hc.shots[1:] {
		if s.TransitionIn != "cut" {
			continue
		}
		// The cut is the largest change within five frames either side,
		// several times any other.
		b := s.StartFrame
		jump := diff(frames[b-1], frames[b])
		for j := b - 5; j <= b+5; j++ {
			if j != b && j > 0 && j < hc.frames && diff(frames[j-1], frames[j]) > jump/3 {
				t.Errorf("cut at %d changes %.1f, but frame %d changes %.1f", b, jump, j, diff(frames[j-1], frames[j]))
			}
		}
	}
	mean := func(f []byte) float64 {
		s := 0.0
		for _, v := range f {
			s += float64(v)
		}
		return s / float64(len(f))
	}
	if m := mean(frames[356]); m < 245 {
		t.Errorf("flash frame 356 has mean %.0f, want white", m)
	}
	if m := mean(frames[355]); m < 200 || m > 250 {
		t.Errorf("first flash frame 355 has mean %.0f, want washed", m)
	}
	if m := mean(frames[357]); m > 200 {
		t.Errorf("frame 357 after the flash has mean %.0f, want a picture", m)
	}
	// The dissolve's middle is close to the blend of its ends (the shots
	// move a little meanwhile).
	blendErr, ends := 0.0, diff(frames[394], frames[414])
	for i := range frames[404] {
		blendErr += math.Abs(float64(frames[404][i]) - (float64(frames[394][i])+float64(frames[414][i]))/2)
	}
	if blendErr /= float64(len(frames[404])); blendErr > 0.5*ends {
		t.Errorf("dissolve middle is off the blend of its ends by %.1f; the ends differ by %.1f", blendErr, ends)
	}
	// The wipe's middle shows, pixel by pixel, one end or the other; the
	// dissolve's does not.
	eitherEnd := func(a, m, b []byte) float64 {
		either, changed := 0, 0
		for i := 0; i < len(m); i += 3 {
			if diff(a[i:i+3], b[i:i+3]) < 60 {
				continue
			}
			changed++
			if min(diff(m[i:i+3], a[i:i+3]), diff(m[i:i+3], b[i:i+3])) < 20 {
				either++
			}
		}
		return float64(either) / float64(max(1, changed))
	}
	if f := eitherEnd(frames[99], frames[105], frames[111]); f < 0.75 {
		t.Errorf("wipe middle matches an end at %.2f of the changed pixels, want 0.75", f)
	}
	if f := eitherEnd(frames[393], frames[404], frames[415]); f > 0.2 {
		t.Errorf("dissolve middle matches an end at %.2f of the changed pixels, want under 0.2", f)
	}
}

// TestShotSetStill checks that a pan/zoom-only video is one shot whose
// frames change slowly.
func TestShotSetStill(t *testing.T) {
	samples := virgioSamples(t)
	cfg := ShotSetConfig{CatalogDir: filepath.Join(samples, "catalog_virgio"), Seed: 5, Width: 144, Height: 256, StillS: 4}
	res, err := ShotSet(context.Background(), cfg, t.TempDir(), "still")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Truth.Shots) != 1 || res.Truth.Frames != 100 || len(res.Kinds) != 0 || len(res.Events) != 0 {
		t.Fatalf("still video truth %+v, kinds %v, events %v", res.Truth, res.Kinds, res.Events)
	}
}

// TestShotSetKinds checks that a set restricted to some transition kinds
// draws only those.
func TestShotSetKinds(t *testing.T) {
	samples := virgioSamples(t)
	cfg := ShotSetConfig{CatalogDir: filepath.Join(samples, "catalog_virgio"), Seed: 7, Width: 144, Height: 256, Shots: 6,
		Kinds: []string{ShotWhipPan, ShotFadeWhite}}
	res, err := ShotSet(context.Background(), cfg, t.TempDir(), "kinds")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Kinds) != 5 {
		t.Fatalf("%d boundaries, want 5", len(res.Kinds))
	}
	for i, k := range res.Kinds {
		if k != ShotWhipPan && k != ShotFadeWhite {
			t.Errorf("boundary %d is a %s, want only %s and %s", i, k, ShotWhipPan, ShotFadeWhite)
		}
	}
}

func TestShotSetConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  ShotSetConfig
	}{
		{"no catalog", ShotSetConfig{}},
		{"odd size", ShotSetConfig{CatalogDir: "x", Width: 145, Height: 256}},
		{"too many shots", ShotSetConfig{CatalogDir: "x", Shots: 201}},
		{"short shots", ShotSetConfig{CatalogDir: "x", MinShotS: 0.5}},
		{"long still", ShotSetConfig{CatalogDir: "x", StillS: 601}},
		{"unknown kind", ShotSetConfig{CatalogDir: "x", Kinds: []string{ShotWhipPan, "jump-cut"}}},
	}
	for _, tc := range tests {
		if _, err := ShotSet(context.Background(), tc.cfg, t.TempDir(), "x"); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
