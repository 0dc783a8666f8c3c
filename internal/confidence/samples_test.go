package confidence

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestSamplesRoundTrip(t *testing.T) {
	in := []Sample{
		{Features: Features{Score: 0.7, Margin: 0.2}, Right: true, Group: "gen-1.mp4"},
		{Features: Features{Score: 0.3}, Right: false, Group: "pets.mp4"},
	}
	var buf bytes.Buffer
	if err := WriteSamples(&buf, in); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != len(in) {
		t.Fatalf("%d lines for %d samples", n, len(in))
	}
	out, err := ReadSamples(strings.NewReader(buf.String() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("read %+v, wrote %+v", out, in)
	}
}

func TestReadSamplesRejectsBadLines(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"not json", `{"features":{"score":0.5},"right":true}` + "\nnot json\n", "line 2"},
		{"no features", `{"right":true,"group":"a"}`, "line 1: no features"},
		{"wrong type", `{"features":{"score":"high"},"right":true}`, "line 1"},
		{"too long", `{"features":{"score":0.5},"group":"` + strings.Repeat("x", maxSampleLine) + `"}`, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSamples(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
