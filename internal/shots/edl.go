package shots

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteEDL writes the shots of r as a CMX 3600 edit decision list: one event
// per shot, gradual transitions as a dissolve ("D") of their length into the
// shot. Timecodes count frames at fps rounded to a whole rate, non-drop
// frame, so frame numbers round-trip exactly. reel names the source (up to 8
// characters, "AX" when empty); clip is written as a FROM CLIP NAME comment.
func WriteEDL(w io.Writer, title, reel, clip string, r Result, fps float64) error {
	if fps <= 0 || math.IsNaN(fps) || math.IsInf(fps, 0) {
		return fmt.Errorf("shots: write edl: invalid frame rate %v", fps)
	}
	if len(r.Shots) == 0 {
		return fmt.Errorf("shots: write edl: no shots")
	}
	base := int(math.Round(fps))
	reel = strings.Map(func(c rune) rune {
		if c <= ' ' || c > '~' {
			return '_'
		}
		return c
	}, reel)
	if reel == "" {
		reel = "AX"
	}
	if len(reel) > 8 {
		reel = reel[:8]
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "TITLE: %s\nFCM: NON-DROP FRAME\n\n", oneLine(title))
	tc := func(frame int) string { return timecode(frame, base) }
	// An event starts where its incoming transition starts, so a dissolve
	// overlaps the end of the previous shot as the format expects.
	starts := make([]int, len(r.Shots))
	for i, s := range r.Shots {
		starts[i] = s.StartFrame
		if s.Transition.Gradual() && i > 0 {
			starts[i] = min(s.TransitionStart, s.StartFrame)
		}
	}
	for i, s := range r.Shots {
		ev := i + 1
		in, out := starts[i], s.EndFrame
		if i+1 < len(r.Shots) {
			out = starts[i+1]
		}
		if s.Transition.Gradual() && i > 0 {
			// The dissolve starts where the previous shot's event ends: a
			// zero-length cut on the outgoing source, then the dissolve.
			dur := max(1, s.TransitionEnd-s.TransitionStart+1)
			fmt.Fprintf(bw, "%03d  %-8s V     C        %s %s %s %s\n", ev, reel, tc(in), tc(in), tc(in), tc(in))
			fmt.Fprintf(bw, "%03d  %-8s V     D    %03d %s %s %s %s\n", ev, reel, min(dur, 999), tc(in), tc(out), tc(in), tc(out))
		} else {
			fmt.Fprintf(bw, "%03d  %-8s V     C        %s %s %s %s\n", ev, reel, tc(in), tc(out), tc(in), tc(out))
		}
		if clip != "" {
			fmt.Fprintf(bw, "* FROM CLIP NAME: %s\n", oneLine(clip))
		}
		fmt.Fprintf(bw, "* SHOT %d TRANSITION %s\n\n", s.Index, strings.ToUpper(string(s.Transition)))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("shots: write edl: %w", err)
	}
	return nil
}

// timecode formats a frame count as HH:MM:SS:FF at base frames per second.
func timecode(frame, base int) string {
	if frame < 0 {
		frame = 0
	}
	ff := frame % base
	s := frame / base
	return fmt.Sprintf("%02d:%02d:%02d:%02d", s/3600, s/60%60, s%60, ff)
}

func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}
