package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// scaleReels are the brand's real 720x1280 reels among the sample videos:
// the scale suite's one-at-a-time and two-at-once runs.
var scaleReels = []string{
	"flickd_virgio_reel_2025-05-27.mp4",
	"flickd_virgio_reel_2025-05-28.mp4",
	"flickd_virgio_reel_2025-05-31.mp4",
}

// longSources are the sample videos the long 1080p video is cut from,
// each scaled to cover 1920x1080.
var longSources = []string{
	"flickd_virgio_reel_2025-05-27.mp4",
	"flickd_virgio_reel_2025-05-28.mp4",
	"flickd_virgio_reel_2025-05-31.mp4",
	"pyscenedetect_bbc_multishot_people.mp4",
	"pyscenedetect_testvideo_fades.mp4",
}

// longClipS is the length of the clip the long video repeats.
const longClipS = 60

// runScale measures speed where the e2e suite's generated reels (540x960
// and 640x360) do not reach: the brand's real 720x1280 reels one at a time,
// two of them at once (the server runs two workflow steps at a time), and
// a long 1080p video made from the sample videos, with the peak memory.
func runScale(ctx context.Context, env *Env, s *Section) error {
	if env.Pipeline == nil {
		return skipf("no pipeline wired in")
	}
	var reels []string
	for _, name := range scaleReels {
		p := filepath.Join(env.SamplesDir, "videos", name)
		if _, err := os.Stat(p); err == nil {
			reels = append(reels, p)
		}
	}
	if len(reels) < 2 {
		return skipf("fewer than two of the sample reels (%s) in %s", joinNames(scaleReels), filepath.Join(env.SamplesDir, "videos"))
	}
	if _, err := env.ingestAll(ctx); err != nil {
		return fmt.Errorf("ingest catalogs: %w", err)
	}
	longS := env.longVideoS()
	s.Method = fmt.Sprintf("Both sample catalogs are imported as in the e2e suite. The brand's real reels (%s, 720x1280) go through the video workflow one at a time, "+
		"then the two longest of them at once (the server runs two workflow steps at a time): the aggregate speed is their summed duration over the wall time of both. ", joinNames(scaleReels))
	if longS > 0 {
		s.Method += fmt.Sprintf("Then a %.0f-minute 1920x1080, 25 fps video, made with ffmpeg by scaling %s to cover the frame and repeating the first %d s (H.264, ultrafast), goes through it alone; "+
			"the peak memory is this process's (with ONNX Runtime) during that video, ffmpeg's child processes apart.", longS/60, joinNames(longSources), longClipS)
	}
	per := Table{Title: "Per video", Columns: []string{"run", "video", "size", "duration s", "wall s", "x real time", "published"}}
	row := func(run string, p *processed, size string) {
		per.Rows = append(per.Rows, []string{run, filepath.Base(p.path), size, f1(p.durationS), f1(p.elapsedS), f1(p.durationS / p.elapsedS), strconv.Itoa(len(p.shown.Items))})
	}

	// One at a time.
	one := map[string]*processed{}
	var videoS, wallS float64
	for _, path := range reels {
		p, err := process(ctx, env, evalVideo{path: path})
		if err != nil {
			return fmt.Errorf("process %s: %w", filepath.Base(path), err)
		}
		one[path] = p
		videoS += p.durationS
		wallS += p.elapsedS
		row("one at a time", p, "720x1280")
	}
	s.Headline("720x1280 reels one at a time", videoS/wallS, "x real time")

	// The two longest at once.
	pair := longestTwo(reels, one)
	var wg sync.WaitGroup
	got := make([]*processed, 2)
	errs := make([]error, 2)
	start := time.Now()
	for i, path := range pair {
		wg.Go(func() { got[i], errs[i] = process(ctx, env, evalVideo{path: path}) })
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	var pairS, pairOne float64
	for i, path := range pair {
		if errs[i] != nil {
			return fmt.Errorf("process %s at once with another: %w", filepath.Base(path), errs[i])
		}
		pairS += got[i].durationS
		pairOne += one[path].elapsedS
		row("two at once", got[i], "720x1280")
	}
	s.Headline("two 720x1280 reels at once: aggregate", pairS/wall, "x real time")
	s.Add("the same two one at a time", pairS/pairOne, "x real time")

	if longS > 0 {
		path, err := longVideo(ctx, env, longS)
		if err != nil {
			return fmt.Errorf("make the long video: %w", err)
		}
		reset := resetPeakRSS()
		p, err := process(ctx, env, evalVideo{path: path})
		if err != nil {
			return fmt.Errorf("process %s: %w", filepath.Base(path), err)
		}
		row("alone", p, "1920x1080")
		s.Headline(fmt.Sprintf("%.0f-minute 1080p video", longS/60), p.durationS/p.elapsedS, "x real time")
		if peak := PeakRSS(); peak > 0 && reset {
			s.Headline(fmt.Sprintf("peak memory during the %.0f-minute 1080p video", longS/60), float64(peak)/(1<<20), "MiB")
		}
		t := Table{Title: fmt.Sprintf("Per stage of the %.0f-minute 1080p video", longS/60), Columns: []string{"stage", "seconds", "x real time"}}
		for _, st := range p.stages {
			if d := st.Elapsed.Seconds(); d > 0 {
				t.Rows = append(t.Rows, []string{st.name(), f1(d), f1(p.durationS / d)})
			}
		}
		s.Tables = append(s.Tables, t)
	}
	s.Tables = append(s.Tables, per)
	return nil
}

// longestTwo returns the two longest of the processed reels, longest
// first (ties in the reels' order).
func longestTwo(reels []string, one map[string]*processed) []string {
	s := slices.Clone(reels)
	slices.SortStableFunc(s, func(a, b string) int { return cmp.Compare(one[b].durationS, one[a].durationS) })
	return s[:2]
}

// longVideoS is the length of the scale suite's long video (default ten
// minutes; negative leaves it out).
func (e *Env) longVideoS() float64 {
	switch {
	case e.LongVideoS < 0:
		return 0
	case e.LongVideoS == 0:
		return 600
	}
	return e.LongVideoS
}

// longVideo makes (or reuses) a 1920x1080, 25 fps video of d seconds: the
// sample videos scaled to cover the frame, one after another, their first
// longClipS seconds (d, when shorter) encoded once and repeated without
// encoding again.
func longVideo(ctx context.Context, env *Env, d float64) (string, error) {
	dir := filepath.Join(env.WorkDir, "scale")
	out := filepath.Join(dir, fmt.Sprintf("long-1080p-%.0fs.mp4", d))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-y"}
	var chains, labels []string
	for _, name := range longSources {
		p := filepath.Join(env.SamplesDir, "videos", name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		i := len(labels)
		args = append(args, "-i", p)
		chains = append(chains, fmt.Sprintf("[%d:v]scale=1920:1080:force_original_aspect_ratio=increase,crop=1920:1080,fps=25,setsar=1,format=yuv420p[v%d]", i, i))
		labels = append(labels, fmt.Sprintf("[v%d]", i))
	}
	if len(labels) == 0 {
		return "", skipf("none of the sample videos %s", joinNames(longSources))
	}
	filter := strings.Join(chains, ";") + ";" + strings.Join(labels, "") + fmt.Sprintf("concat=n=%d:v=1:a=0[v]", len(labels))
	clipS := min(longClipS, int(math.Ceil(d)))
	clip := filepath.Join(dir, fmt.Sprintf("clip-1080p-%ds.mp4", clipS))
	args = append(args, "-filter_complex", filter, "-map", "[v]", "-t", strconv.Itoa(clipS),
		"-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-g", "50", "-an", clip)
	if err := ffmpeg(ctx, args...); err != nil {
		return "", err
	}
	list := filepath.Join(dir, "long.txt")
	var sb strings.Builder
	for range int(d)/clipS + 1 {
		fmt.Fprintf(&sb, "file '%s'\n", filepath.Base(clip))
	}
	if err := os.WriteFile(list, []byte(sb.String()), 0o600); err != nil {
		return "", err
	}
	tmp := out + ".part.mp4"
	if err := ffmpeg(ctx, "-hide_banner", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i", list,
		"-c", "copy", "-t", strconv.FormatFloat(d, 'f', -1, 64), tmp); err != nil {
		return "", err
	}
	return out, os.Rename(tmp, out)
}

// ffmpeg runs ffmpeg with args, its error output in the error.
func ffmpeg(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffmpeg: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
