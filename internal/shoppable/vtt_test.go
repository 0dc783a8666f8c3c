package shoppable

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestWebVTTRoundTrip(t *testing.T) {
	d, err := Parse(exampleDoc(t))
	if err != nil {
		t.Fatal(err)
	}
	// A hostile label must not break the cue structure.
	d.Items[0].Label = "bag --> \n\nNOTE"
	vtt, err := d.WebVTT()
	if err != nil {
		t.Fatal(err)
	}
	cues, err := ParseVTT(bytes.NewReader(vtt))
	if err != nil {
		t.Fatalf("ParseVTT: %v\n%s", err, vtt)
	}
	if len(cues) != len(d.Items) {
		t.Fatalf("got %d cues, want %d:\n%s", len(cues), len(d.Items), vtt)
	}
	for i, c := range cues {
		it := d.Items[i]
		if c.ID != it.ID || c.StartS != it.StartS || c.EndS != it.EndS {
			t.Errorf("cue %d = %+v, item %s %.3f-%.3f", i, c, it.ID, it.StartS, it.EndS)
		}
		var p CuePayload
		if err := json.Unmarshal([]byte(c.Payload), &p); err != nil {
			t.Fatalf("cue %d payload: %v", i, err)
		}
		if p.Item != it.ID || p.Label != it.Label || len(p.Boxes) != len(it.Boxes) {
			t.Errorf("cue %d payload = %+v", i, p)
		}
	}
	var p0, p1 CuePayload
	json.Unmarshal([]byte(cues[0].Payload), &p0)
	json.Unmarshal([]byte(cues[1].Payload), &p1)
	if p0.ProductID != "1234" || p1.ProductID != "77" {
		t.Errorf("product ids = %q, %q; want top match 1234 and reviewer's 77", p0.ProductID, p1.ProductID)
	}
}

func TestWebVTTSkipsRejected(t *testing.T) {
	d, err := Parse(exampleDoc(t))
	if err != nil {
		t.Fatal(err)
	}
	d.Items[0].Review = ReviewRejected
	vtt, _ := d.WebVTT()
	cues, err := ParseVTT(bytes.NewReader(vtt))
	if err != nil {
		t.Fatal(err)
	}
	if len(cues) != 1 || cues[0].ID != "t2" {
		t.Fatalf("cues = %+v", cues)
	}
}

func TestParseVTT(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Cue
		wantErr string
	}{
		{"empty", "", nil, "empty"},
		{"no header", "00:01.000 --> 00:02.000\nx\n", nil, "header"},
		{"header only", "WEBVTT\n", nil, ""},
		{"no id, short times, settings, note, crlf",
			"\ufeffWEBVTT\r\n\r\nNOTE hello\r\nworld\r\n\r\n01:02.500 --> 01:03.000 align:start\r\nline1\r\nline2\r\n",
			[]Cue{{StartS: 62.5, EndS: 63, Payload: "line1\nline2"}}, ""},
		{"hours", "WEBVTT\n\nc1\n01:00:00.001 --> 01:00:01.000\n{}\n", []Cue{{ID: "c1", StartS: 3600.001, EndS: 3601, Payload: "{}"}}, ""},
		{"bad time", "WEBVTT\n\n00:61.000 --> 00:62.000\nx\n", nil, "timestamp"},
		{"end before start", "WEBVTT\n\n00:05.000 --> 00:04.000\nx\n", nil, "ends before"},
		{"id without timing", "WEBVTT\n\njust text\nmore\n", nil, "timing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseVTT(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("cue %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
