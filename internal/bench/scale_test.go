package bench

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/eval/score"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// scaleFake is a Pipeline that publishes nothing and records how many
// videos it was given at once.
type scaleFake struct {
	mu           sync.Mutex
	now, maxSeen int
	gate         chan struct{} // the first two concurrent calls meet here
	videos       []string
}

func (f *scaleFake) IngestCatalog(ctx context.Context, dir string) (IngestResult, error) {
	return IngestResult{Products: 1, Images: 1}, nil
}

func (f *scaleFake) ProcessVideo(ctx context.Context, path string) (*score.Prediction, []StageTime, error) {
	f.mu.Lock()
	f.now++
	f.maxSeen = max(f.maxSeen, f.now)
	f.videos = append(f.videos, filepath.Base(path))
	both, pair := f.now == 2, len(f.videos) > len(scaleReels)
	f.mu.Unlock()
	if both {
		close(f.gate)
	}
	if pair {
		// A run of the two-at-once pair waits for the other.
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	info, err := media.Probe(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	f.mu.Lock()
	f.now--
	f.mu.Unlock()
	return &score.Prediction{Video: score.PredVideo{ID: filepath.Base(path), DurationS: info.Duration, FPS: info.FPS}}, nil, nil
}

// TestScaleSuite runs the scale suite without its long video against a
// pipeline that records its calls: the reels one at a time, then the two
// longest at once.
func TestScaleSuite(t *testing.T) {
	testenv.NeedFFmpeg(t)
	samples := testenv.Samples(t, "videos", "catalog", "catalog_virgio")
	f := &scaleFake{gate: make(chan struct{})}
	env := &Env{SamplesDir: samples, WorkDir: t.TempDir(), Pipeline: f, LongVideoS: -1}
	// A suite that ran the pair one after the other would wait here.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := Run(ctx, env, []Suite{{Name: "scale", Run: runScale}})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Sections[0]
	if s.Status != StatusOK {
		t.Fatalf("scale: %s %s", s.Status, s.Note)
	}
	if f.maxSeen != 2 {
		t.Errorf("at most %d videos in the pipeline at once, want 2", f.maxSeen)
	}
	want := append(append([]string{}, scaleReels...), "flickd_virgio_reel_2025-05-28.mp4", "flickd_virgio_reel_2025-05-27.mp4")
	if len(f.videos) != len(want) || strings.Join(f.videos[:3], " ") != strings.Join(want[:3], " ") {
		t.Errorf("videos processed %v, want the reels one at a time then the two longest", f.videos)
	}
	if pair := strings.Join(f.videos[3:], " "); !strings.Contains(pair, want[3]) || !strings.Contains(pair, want[4]) {
		t.Errorf("two at once: %v, want the two longest reels (%s, %s)", f.videos[3:], want[3], want[4])
	}
	for _, name := range []string{"720x1280 reels one at a time", "two 720x1280 reels at once: aggregate", "the same two one at a time"} {
		if m, ok := s.Metric(name); !ok || m.Value <= 0 {
			t.Errorf("metric %q = %+v, %v", name, m, ok)
		}
	}
}

// TestLongVideo checks the long video's size, rate and length.
func TestLongVideo(t *testing.T) {
	testenv.NeedFFmpeg(t)
	samples := testenv.Samples(t, "videos")
	env := &Env{SamplesDir: samples, WorkDir: t.TempDir()}
	ctx := context.Background()
	path, err := longVideo(ctx, env, 3)
	if err != nil {
		t.Fatal(err)
	}
	info, err := media.Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 1920 || info.Height != 1080 || info.FPS != 25 || info.Duration < 2.9 || info.Duration > 3.1 {
		t.Errorf("long video %dx%d at %v fps, %.2f s; want 1920x1080 at 25 fps, 3 s", info.Width, info.Height, info.FPS, info.Duration)
	}
	// A second call reuses it.
	if again, err := longVideo(ctx, env, 3); err != nil || again != path {
		t.Errorf("second call: %s, %v; want %s again", again, err, path)
	}
}

func TestLongestTwo(t *testing.T) {
	one := map[string]*processed{"a": {durationS: 10}, "b": {durationS: 30}, "c": {durationS: 20}, "d": {durationS: 5}}
	for _, tc := range []struct {
		reels []string
		want  string
	}{
		{[]string{"a", "b"}, "b a"},
		{[]string{"a", "b", "c"}, "b c"},
		{[]string{"c", "d", "b"}, "b c"},
		{[]string{"d", "a", "c", "b"}, "b c"},
	} {
		if got := strings.Join(longestTwo(tc.reels, one), " "); got != tc.want {
			t.Errorf("longestTwo(%v) = %s, want %s", tc.reels, got, tc.want)
		}
	}
}
