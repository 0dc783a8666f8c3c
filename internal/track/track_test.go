package track

import (
	"math"
	"math/rand/v2"
	"testing"
)

// object is a synthetic moving box: position at time t is linear.
type object struct {
	ref            int64
	label          string
	x, y, w, h     float64 // at t=0
	vx, vy         float64 // pixels per second
	feature        []float32
	visible        func(t float64) bool
	score          float64
	scaleperSecond float64
}

func (o object) at(t float64, rng *rand.Rand, jitter float64) Detection {
	s := 1 + o.scaleperSecond*t
	w, h := o.w*s, o.h*s
	cx := o.x + o.vx*t + rng.NormFloat64()*jitter
	cy := o.y + o.vy*t + rng.NormFloat64()*jitter
	sc := o.score
	if sc == 0 {
		sc = 0.8
	}
	return Detection{Box: Box{cx - w/2, cy - h/2, cx + w/2, cy + h/2}, Label: o.label, Score: sc, Feature: o.feature, Ref: o.ref}
}

// frames samples the objects at fps from t0 to t1.
func frames(objs []object, t0, t1, fps, jitter float64) []Frame {
	rng := rand.New(rand.NewPCG(1, 2))
	var fs []Frame
	for k := 0; ; k++ {
		t := t0 + float64(k)/fps
		if t > t1+1e-9 {
			break
		}
		f := Frame{T: t, Frame: int(math.Round(t * 30))}
		for _, o := range objs {
			if o.visible == nil || o.visible(t) {
				f.Dets = append(f.Dets, o.at(t, rng, jitter))
			}
		}
		fs = append(fs, f)
	}
	return fs
}

// unit returns a normalised feature with a peak at dimension k plus a
// common non-negative floor, like CNN features of unrelated crops.
func unit(k int) []float32 {
	v := make([]float32, 16)
	for i := range v {
		v[i] = 0.3
	}
	v[k] = 3
	normalize(v)
	return v
}

// purity checks that every track holds detections of exactly one object
// and returns the number of tracks per object.
func purity(t *testing.T, tracks []Track) map[int64]int {
	t.Helper()
	per := map[int64]int{}
	for _, tr := range tracks {
		ref := tr.Dets[0].Ref
		for _, d := range tr.Dets {
			if d.Ref != ref {
				t.Fatalf("track %d mixes objects %d and %d (at %.2fs)", tr.ID, ref, d.Ref, d.T)
			}
		}
		per[ref]++
	}
	return per
}

func TestShot(t *testing.T) {
	tests := []struct {
		name       string
		objs       []object
		dur, fps   float64
		jitter     float64
		cfg        Config
		wantTracks map[int64]int // tracks per object
		wantLen    map[int64]int // detections of the object's first track
	}{
		{
			name: "one item in 20 frames is one track",
			objs: []object{{ref: 1, label: "handbag", x: 100, y: 200, w: 80, h: 60, vx: 30, feature: unit(0)}},
			dur:  9.5, fps: 2, jitter: 3,
			wantTracks: map[int64]int{1: 1}, wantLen: map[int64]int{1: 20},
		},
		{
			name: "moving, growing item without features",
			objs: []object{{ref: 1, label: "cup", x: 50, y: 50, w: 40, h: 40, vx: 60, vy: 20, scaleperSecond: 0.15}},
			dur:  9.5, fps: 2, jitter: 2,
			wantTracks: map[int64]int{1: 1}, wantLen: map[int64]int{1: 20},
		},
		{
			name: "crossing objects with distinct appearance keep their identity",
			objs: []object{
				{ref: 1, label: "person", x: 100, y: 300, w: 120, h: 300, vx: 80, feature: unit(1)},
				{ref: 2, label: "person", x: 900, y: 310, w: 120, h: 300, vx: -80, feature: unit(2)},
			},
			dur: 10, fps: 2, jitter: 2,
			wantTracks: map[int64]int{1: 1, 2: 1}, wantLen: map[int64]int{1: 21, 2: 21},
		},
		{
			name: "crossing objects without features follow the motion model",
			objs: []object{
				{ref: 1, label: "person", x: 100, y: 300, w: 120, h: 300, vx: 80},
				{ref: 2, label: "person", x: 900, y: 340, w: 120, h: 300, vx: -80},
			},
			dur: 10, fps: 2, jitter: 1,
			wantTracks: map[int64]int{1: 1, 2: 1}, wantLen: map[int64]int{1: 21, 2: 21},
		},
		{
			name: "different labels never merge",
			objs: []object{
				{ref: 1, label: "tie", x: 300, y: 300, w: 50, h: 120},
				{ref: 2, label: "handbag", x: 305, y: 300, w: 50, h: 120},
			},
			dur: 3, fps: 2,
			wantTracks: map[int64]int{1: 1, 2: 1}, wantLen: map[int64]int{1: 7, 2: 7},
		},
		{
			name: "short gap is bridged",
			objs: []object{{ref: 1, label: "cup", x: 100, y: 100, w: 50, h: 50, vx: 20, feature: unit(3),
				visible: func(t float64) bool { return t < 2 || t >= 3 }}},
			dur: 5, fps: 2,
			wantTracks: map[int64]int{1: 1}, wantLen: map[int64]int{1: 9},
		},
		{
			name: "long gap splits the track",
			objs: []object{{ref: 1, label: "cup", x: 100, y: 100, w: 50, h: 50, feature: unit(3),
				visible: func(t float64) bool { return t < 2 || t >= 4 }}},
			dur: 6, fps: 2,
			wantTracks: map[int64]int{1: 2}, wantLen: map[int64]int{1: 4},
		},
		{
			name: "weak one-frame detection is dropped",
			objs: []object{{ref: 1, label: "cup", x: 100, y: 100, w: 50, h: 50, score: 0.3, visible: func(t float64) bool { return t == 0 }}},
			dur:  2, fps: 2,
			wantTracks: map[int64]int{},
		},
		{
			name: "strong one-frame detection is kept",
			objs: []object{{ref: 1, label: "cup", x: 100, y: 100, w: 50, h: 50, score: 0.9, visible: func(t float64) bool { return t == 0 }}},
			dur:  2, fps: 2,
			wantTracks: map[int64]int{1: 1}, wantLen: map[int64]int{1: 1},
		},
		{
			name: "appearance change splits a teleporting object",
			objs: []object{
				{ref: 1, label: "person", x: 200, y: 300, w: 100, h: 250, feature: unit(4), visible: func(t float64) bool { return t < 2 }},
				{ref: 2, label: "person", x: 260, y: 300, w: 100, h: 250, feature: unit(5), visible: func(t float64) bool { return t >= 2 }},
			},
			dur: 4, fps: 2,
			wantTracks: map[int64]int{1: 1, 2: 1}, wantLen: map[int64]int{1: 4, 2: 5},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tracks := Shot(tc.cfg, 3, frames(tc.objs, 0, tc.dur, tc.fps, tc.jitter))
			per := purity(t, tracks)
			if len(per) != len(tc.wantTracks) {
				t.Fatalf("tracks per object = %v, want %v", per, tc.wantTracks)
			}
			for ref, n := range tc.wantTracks {
				if per[ref] != n {
					t.Fatalf("object %d has %d tracks, want %d (all: %v)", ref, per[ref], n, per)
				}
			}
			seen := map[int64]bool{}
			for i, tr := range tracks {
				if tr.ID != i+1 || tr.Shot != 3 {
					t.Errorf("track %d: ID %d shot %d", i, tr.ID, tr.Shot)
				}
				ref := tr.Dets[0].Ref
				if !seen[ref] {
					seen[ref] = true
					if want := tc.wantLen[ref]; len(tr.Dets) != want {
						t.Errorf("object %d first track has %d detections, want %d", ref, len(tr.Dets), want)
					}
				}
				for k := 1; k < len(tr.Dets); k++ {
					if tr.Dets[k].T <= tr.Dets[k-1].T {
						t.Errorf("track %d detections out of time order", tr.ID)
					}
				}
			}
		})
	}
}

func TestVideoEndsTracksAtShotBoundaries(t *testing.T) {
	obj := object{ref: 1, label: "handbag", x: 300, y: 300, w: 100, h: 80, feature: unit(0)}
	fs := frames([]object{obj}, 0, 9.5, 2, 0)
	shots := []Span{{Index: 1, StartS: 4, EndS: 8}, {Index: 0, StartS: 0, EndS: 4}, {Index: 2, StartS: 8, EndS: 9}}
	tracks := Video(Config{}, shots, fs)
	// Frames after 9 s lie outside every shot and are ignored.
	want := []struct {
		shot   int
		n      int
		t0, t1 float64
	}{{0, 8, 0, 3.5}, {1, 8, 4, 7.5}, {2, 3, 8, 9}}
	if len(tracks) != len(want) {
		t.Fatalf("got %d tracks, want %d", len(tracks), len(want))
	}
	for i, w := range want {
		tr := tracks[i]
		if tr.ID != i+1 || tr.Shot != w.shot || len(tr.Dets) != w.n || tr.StartS() != w.t0 || tr.EndS() != w.t1 {
			t.Errorf("track %d = id %d shot %d n %d %.1f-%.1f, want %+v", i, tr.ID, tr.Shot, len(tr.Dets), tr.StartS(), tr.EndS(), w)
		}
	}
}

func TestShotBadInput(t *testing.T) {
	nan := math.NaN()
	fs := []Frame{
		{T: 0, Dets: []Detection{{Box: Box{10, 10, 5, 5}, Label: "cup", Score: 1}, {Box: Box{nan, 0, 1, 1}, Label: "cup", Score: 1}}},
		{T: 0.5},
	}
	if got := Shot(Config{}, 0, fs); len(got) != 0 {
		t.Fatalf("degenerate boxes produced tracks: %+v", got)
	}
	if got := Shot(Config{}, 0, nil); len(got) != 0 {
		t.Fatal("no frames produced tracks")
	}
	// Mismatched feature lengths are ignored, not a panic.
	fs = []Frame{
		{T: 0, Dets: []Detection{{Box: Box{0, 0, 10, 10}, Label: "cup", Score: 0.5, Feature: []float32{1}}}},
		{T: 0.5, Dets: []Detection{{Box: Box{1, 0, 11, 10}, Label: "cup", Score: 0.5, Feature: []float32{1, 0}}}},
	}
	if got := Shot(Config{}, 0, fs); len(got) != 1 || len(got[0].Dets) != 2 {
		t.Fatalf("got %+v", got)
	}
}

func TestMaxAssign(t *testing.T) {
	tests := []struct {
		name string
		aff  [][]float64
		min  float64
		want []int
	}{
		{"empty", nil, 0.3, []int{}},
		{"no columns", [][]float64{{}, {}}, 0.3, []int{-1, -1}},
		// Greedy would give row 0 column 0 (0.9) and leave row 1 with 0.1;
		// the optimum is 0.8 + 0.8.
		{"global beats greedy", [][]float64{{0.9, 0.8}, {0.8, 0.1}}, 0.05, []int{1, 0}},
		{"below min stays unassigned", [][]float64{{0.2, 0.25}}, 0.3, []int{-1}},
		{"gated pairs", [][]float64{{-1, 0.5}, {-1, 0.6}}, 0.3, []int{-1, 1}},
		{"more rows than columns", [][]float64{{0.5}, {0.9}, {0.4}}, 0.3, []int{-1, 0, -1}},
		{"more columns than rows", [][]float64{{0.4, 0.9, 0.5}}, 0.3, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := maxAssign(tc.aff, tc.min)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestIoU(t *testing.T) {
	tests := []struct {
		a, b Box
		want float64
	}{
		{Box{0, 0, 10, 10}, Box{0, 0, 10, 10}, 1},
		{Box{0, 0, 10, 10}, Box{5, 0, 15, 10}, 1.0 / 3},
		{Box{0, 0, 10, 10}, Box{10, 10, 20, 20}, 0},
		{Box{0, 0, 0, 0}, Box{0, 0, 0, 0}, 0},
	}
	for _, tc := range tests {
		if got := tc.a.IoU(tc.b); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("IoU(%v,%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func BenchmarkShot(b *testing.B) {
	var objs []object
	for i := 0; i < 15; i++ {
		objs = append(objs, object{ref: int64(i), label: "person", x: float64(60 * i), y: 300, w: 50, h: 120, vx: float64(i%3-1) * 20, feature: unit(i % 16)})
	}
	fs := frames(objs, 0, 30, 2, 2)
	b.ResetTimer()
	for b.Loop() {
		Shot(Config{}, 0, fs)
	}
}

func TestExtent(t *testing.T) {
	shot := Span{Index: 2, StartS: 10, EndS: 14}
	// Frames sampled every half second from 10.25 to 13.75.
	var sampled []float64
	for s := 10.25; s < 14; s += 0.5 {
		sampled = append(sampled, s)
	}
	track := func(ts ...float64) *Track {
		tr := &Track{Shot: 2}
		for _, x := range ts {
			tr.Dets = append(tr.Dets, Detection{T: x})
		}
		return tr
	}
	for _, tc := range []struct {
		name       string
		tr         *Track
		sampled    []float64
		start, end float64
	}{
		{"whole shot", track(10.25, 10.75, 13.75), sampled, 10, 14},
		{"from the first sampled frame", track(10.25, 11.25), sampled, 10, 11.5},
		{"until the last sampled frame", track(12.75, 13.75), sampled, 12.5, 14},
		{"middle", track(11.25, 12.25), sampled, 11, 12.5},
		{"one detection", track(12.25), sampled, 12, 12.5},
		{"no other sampled frame", track(12.25), nil, 10, 14},
		{"sampled frames of other shots ignored", track(10.25), []float64{9.75, 10.25, 14.25}, 10, 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, end := tc.tr.Extent(shot, tc.sampled)
			if math.Abs(start-tc.start) > 1e-9 || math.Abs(end-tc.end) > 1e-9 {
				t.Errorf("Extent = %.3f-%.3f, want %.3f-%.3f", start, end, tc.start, tc.end)
			}
		})
	}
}

// TestTracker checks that feeding frames one at a time gives the tracks
// Shot gives, that a track keeps its ID while active and that it is
// returned by the Add of the frame that ends it.
func TestTracker(t *testing.T) {
	tests := []struct {
		name    string
		objs    []object
		dur     float64
		wantEnd map[int64]float64 // object -> time of the frame whose Add returns its track
	}{
		{
			name: "item leaving at 3 s ends after MaxMissed frames",
			objs: []object{{ref: 1, label: "handbag", x: 100, y: 200, w: 80, h: 60, vx: 10, feature: unit(0),
				visible: func(t float64) bool { return t < 3 }}},
			dur: 6, wantEnd: map[int64]float64{1: 4},
		},
		{
			name: "two items, one staying to the end",
			objs: []object{
				{ref: 1, label: "tie", x: 300, y: 300, w: 50, h: 120, visible: func(t float64) bool { return t >= 1 && t < 2 }},
				{ref: 2, label: "handbag", x: 800, y: 300, w: 80, h: 60},
			},
			dur: 4, wantEnd: map[int64]float64{1: 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := frames(tc.objs, 0, tc.dur, 2, 1)
			want := Shot(Config{}, 0, fs)
			tr := NewTracker(Config{}, 0)
			var got []Track
			ids := map[int64]int{}
			for _, f := range fs {
				for _, a := range tr.Active() {
					ref := a.Dets[0].Ref
					if id, ok := ids[ref]; ok && id != a.ID {
						t.Fatalf("object %d changed track ID %d -> %d", ref, id, a.ID)
					}
					ids[ref] = a.ID
				}
				for _, e := range tr.Add(f) {
					if w, ok := tc.wantEnd[e.Dets[0].Ref]; !ok || math.Abs(w-f.T) > 1e-9 {
						t.Errorf("track of object %d ended at %.1f s, want %v", e.Dets[0].Ref, f.T, w)
					}
					got = append(got, e)
				}
			}
			got = append(got, tr.Flush()...)
			if len(got) != len(want) {
				t.Fatalf("tracker gave %d tracks, Shot %d", len(got), len(want))
			}
			n := map[int64]int{}
			for _, g := range got {
				n[g.Dets[0].Ref] = len(g.Dets)
			}
			for _, w := range want {
				if n[w.Dets[0].Ref] != len(w.Dets) {
					t.Errorf("object %d: tracker track has %d detections, Shot's %d", w.Dets[0].Ref, n[w.Dets[0].Ref], len(w.Dets))
				}
			}
		})
	}
}

// TestTrackerKeepLast checks that a long-lived track keeps only its latest
// detections and its identity.
func TestTrackerKeepLast(t *testing.T) {
	fs := frames([]object{{ref: 1, label: "handbag", x: 100, y: 200, w: 80, h: 60, vx: 5, feature: unit(0)}}, 0, 30, 2, 1)
	tr := NewTracker(Config{}, 0)
	tr.KeepLast(4)
	for _, f := range fs {
		if ended := tr.Add(f); len(ended) > 0 {
			t.Fatalf("track ended at %.1f s", f.T)
		}
	}
	act := tr.Active()
	if len(act) != 1 || act[0].ID != 1 || len(act[0].Dets) != 4 || act[0].Dets[3].T != 30 {
		t.Fatalf("active tracks %+v, want track 1 with its last 4 detections", act)
	}
}
