package shoppable

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: arbitrary bytes are refused or give a document that survives
// a JSON round trip.
func FuzzParse(f *testing.F) {
	if docs, _ := filepath.Glob(filepath.Join("testdata", "*.json")); len(docs) > 0 {
		for _, p := range docs {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"schema":"vitrine.shoppable/v1"}`))
	f.Add([]byte(`{"schema":"vitrine.shoppable/v1","video":{"id":"v","duration_s":-1}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal a parsed document: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parse of a parsed document: %v\n%s", err, out)
		}
	})
}

// FuzzParseVTT: a WebVTT track never panics the parser, and every cue it
// returns has finite, ordered times.
func FuzzParseVTT(f *testing.F) {
	f.Add("WEBVTT\n\nitem-1\n00:00:01.000 --> 00:00:02.500\n{\"item\":\"i1\"}\n")
	f.Add("WEBVTT\n\nNOTE hi\n\n01:00.000 --> 01:01.000\n{}\n\nSTYLE\n::cue {}\n")
	f.Add("WEBVTT\n\n00:00:02.000 --> 00:00:01.000\n{}\n")
	f.Add("not a vtt")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		cues, err := ParseVTT(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, c := range cues {
			if math.IsNaN(c.StartS) || math.IsNaN(c.EndS) || c.StartS < 0 || c.EndS < c.StartS {
				t.Fatalf("cue %q with times %v --> %v", c.ID, c.StartS, c.EndS)
			}
		}
	})
}

// FuzzParseVTTTime: a parsed timestamp prints back to the same value.
func FuzzParseVTTTime(f *testing.F) {
	for _, s := range []string{"00:00:01.000", "59:59.999", "100:00:00.000", "1:2:3.4", "-1:00.000", "00:60.000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVTTTime(s)
		if err != nil {
			return
		}
		if v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			t.Fatalf("%q -> %v", s, v)
		}
		if v < 1e9 {
			back, err := ParseVTTTime(vttTime(v))
			if err != nil || math.Abs(back-v) > 0.0005 {
				t.Fatalf("%q -> %v -> %q -> %v (%v)", s, v, vttTime(v), back, err)
			}
		}
	})
}
