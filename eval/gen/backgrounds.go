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
		// Cut estimates at about 2.8, 6.8, 12.0 and 19.4 s; keep clear of them.
		{Path: v("pyscenedetect_bbc_multishot_people.mp4"), Windows: [][2]float64{{3.2, 6.4}, {7.2, 11.6}, {12.4, 19.0}, {19.8, 25.0}}},
		// Golden cuts at frames 90 and 210 (3.75 s, 8.76 s).
		{Path: v("pyscenedetect_goldeneye_cuts.mp4"), Windows: [][2]float64{{4.1, 8.4}}},
		// Fades out at frames 185/364/697 and in at 35/217/400 (29.97 fps);
		// the third scene also dissolves from the rock to a texture at
		// about 17.7-18.5 s (not in PySceneDetect's goldens).
		{Path: v("pyscenedetect_testvideo_fades.mp4"), Windows: [][2]float64{{1.4, 6.0}, {7.5, 11.9}, {13.6, 17.5}, {18.7, 23.0}}},
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
