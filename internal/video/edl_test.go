package video

import (
	"strings"
	"testing"
)

func TestEDL(t *testing.T) {
	shots := []Shot{
		{Index: 0, StartS: 0, EndS: 3.75, Transition: "none"},
		{Index: 1, StartS: 3.75, EndS: 3661.5, Transition: "fade"},
	}
	got := EDL("demo\nclip", 23.976, shots)
	want := "TITLE: demo clip\nFCM: NON-DROP FRAME\n\n" +
		"001  AX       V     C        00:00:00:00 00:00:03:18 00:00:00:00 00:00:03:18\n* SHOT 0 TRANSITION NONE\n\n" +
		"002  AX       V     C        00:00:03:18 01:01:01:12 00:00:03:18 01:01:01:12\n* SHOT 1 TRANSITION FADE\n\n"
	if got != want {
		t.Fatalf("EDL =\n%s\nwant\n%s", got, want)
	}
	if e := EDL("x", 0, nil); !strings.HasPrefix(e, "TITLE: x\n") {
		t.Fatalf("empty EDL = %q", e)
	}
}
