package gen

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Background is a source video and the time windows (seconds) of it that
// hold no shot boundary, so a generated shot cut from one is a single shot.
// With no windows the whole video is assumed to be one shot.
type Background struct {
	Path    string
	Windows [][2]float64
}

// SampleBackgrounds lists the cut-free stretches of the bundled sample
// videos in samplesDir/videos. Reels full of cuts and the text-only
// negative are left out on purpose: the negatives stay unseen.
func SampleBackgrounds(samplesDir string) []Background {
	v := func(name string) string { return filepath.Join(samplesDir, "videos", name) }
	return []Background{
		{Path: v("videoavatars_person_turntable.mp4"), Windows: [][2]float64{{0, 8.1}}},
		{Path: v("pets_pedestrians_vtest.mp4"), Windows: [][2]float64{{0, 79}}},
		// Cuts at 2.8, 6.8, 12.04, 16.84 and 19.36 s (ffmpeg scene score;
		// the one at 16.84 s is missing from the sample notes).
		{Path: v("pyscenedetect_bbc_multishot_people.mp4"), Windows: [][2]float64{{3.2, 6.4}, {7.2, 11.7}, {12.4, 16.6}, {17.2, 19.1}, {19.7, 25.0}}},
		// Golden cuts at frames 90 and 210 (3.75 s, 8.76 s).
		{Path: v("pyscenedetect_goldeneye_cuts.mp4"), Windows: [][2]float64{{4.1, 8.4}}},
		// Mean luma shows the fades: in until 1.0 s, out 6.0 s, in 7.04-8.01 s,
		// out 11.04-12.01 s, in 13.15-14.11 s, out 22.16-23.12 s; the third
		// scene also dissolves from the rock to a texture over 17.65-18.62 s
		// (not in PySceneDetect's goldens).
		{Path: v("pyscenedetect_testvideo_fades.mp4"), Windows: [][2]float64{{1.1, 5.9}, {8.1, 10.95}, {14.2, 17.55}, {18.7, 22.1}}},
	}
}

// probeDuration returns the duration of a media file in seconds.
func probeDuration(ctx context.Context, ffprobe, path string) (float64, error) {
	out, err := exec.CommandContext(ctx, ffprobe, "-v", "error", "-show_entries", "format=duration",
		"-of", "default=noprint_wrappers=1:nokey=1", path).Output()
	if err != nil {
		return 0, fmt.Errorf("gen: probe %s: %w", filepath.Base(path), err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("gen: probe %s: bad duration %q", filepath.Base(path), strings.TrimSpace(string(out)))
	}
	return d, nil
}
