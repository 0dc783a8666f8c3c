package video

import (
	"fmt"
	"math"
	"strings"
)

// EDL renders shots as a CMX 3600 edit decision list: one cut event per
// shot, record timecodes continuous from 00:00:00:00, at fps rounded to a
// whole frame rate (non-drop-frame).
func EDL(title string, fps float64, shots []Shot) string {
	rate := int(math.Round(fps))
	if rate <= 0 {
		rate = 25
	}
	tc := func(s float64) string {
		f := int(math.Round(s * float64(rate)))
		if f < 0 {
			f = 0
		}
		return fmt.Sprintf("%02d:%02d:%02d:%02d", f/(3600*rate), f/(60*rate)%60, f/rate%60, f%rate)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "TITLE: %s\nFCM: NON-DROP FRAME\n\n", strings.NewReplacer("\n", " ", "\r", " ").Replace(title))
	for i, s := range shots {
		fmt.Fprintf(&b, "%03d  AX       V     C        %s %s %s %s\n", i+1, tc(s.StartS), tc(s.EndS), tc(s.StartS), tc(s.EndS))
		fmt.Fprintf(&b, "* SHOT %d TRANSITION %s\n\n", s.Index, strings.ToUpper(s.Transition))
	}
	return b.String()
}
