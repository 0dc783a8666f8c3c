package api

import (
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		name, msg       string
		summary, detail string // substrings
		retryable       bool
		notInDetail     []string
	}{
		{
			name:        "truncated upload",
			msg:         "video v_1: probe: media: ffprobe file:uploaded video: truncated or corrupt video data: moov atom not found",
			summary:     "truncated or not a video",
			detail:      "ffprobe the uploaded video: truncated",
			notInDetail: []string{"file:"},
		},
		{
			name:        "not a video, with a work-dir path",
			msg:         "video v_2: decode: media: decode /srv/vitrine/work/v_2/frames/x.raw: invalid or unreadable media: no frames",
			summary:     "truncated or not a video",
			detail:      "decode x.raw: invalid",
			notInDetail: []string{"/srv", "work/v_2"},
		},
		{
			name:    "audio only",
			msg:     "video v_3: probe: media: probe: no video stream",
			summary: "no video in it",
		},
		{
			name:        "a passing fault",
			msg:         "video v_4: embed: open /var/lib/vitrine/models/m.onnx: resource temporarily unavailable",
			summary:     "open m.onnx: resource temporarily unavailable",
			detail:      "open m.onnx",
			retryable:   true,
			notInDetail: []string{"/var/lib"},
		},
		{
			name:      "URLs and relative paths stay",
			msg:       "fetch http://shop.example/img/a/b.jpg for images/a/b.jpg: 503",
			summary:   "http://shop.example/img/a/b.jpg for images/a/b.jpg: 503",
			retryable: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := explain(tc.msg)
			if !strings.Contains(p.Summary, tc.summary) || !strings.Contains(p.Detail, tc.detail) || p.Retryable != tc.retryable {
				t.Errorf("explain(%q) = %+v, want summary ~%q, detail ~%q, retryable %v", tc.msg, p, tc.summary, tc.detail, tc.retryable)
			}
			for _, bad := range tc.notInDetail {
				if strings.Contains(p.Detail, bad) || strings.Contains(p.Summary, bad) {
					t.Errorf("explain(%q) = %+v: %q is still in it", tc.msg, p, bad)
				}
			}
		})
	}
	if explain("") != nil {
		t.Error("explain of no error is not nil")
	}
}
