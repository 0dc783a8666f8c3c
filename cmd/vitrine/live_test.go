package main

import (
	"strings"
	"testing"
)

// TestLiveCommand records, lists, reads and stops a live stream through the
// CLI (no server runs it here), and refuses bad sources and unknown ids
// with a one-line error.
func TestLiveCommand(t *testing.T) {
	env := cleanEnv("VITRINE_DATA_DIR=" + t.TempDir())
	id, _, code := vitrine(t, env, "live", "start", "--name", "spring drop", "https://cdn.example/show/index.m3u8")
	id = strings.TrimSpace(id)
	if code != 0 || !strings.HasPrefix(id, "ls_") {
		t.Fatalf("start: exit %d, id %q", code, id)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode bool // non-zero
		want     string
	}{
		{"list", []string{"live", "list"}, false, id + "  running"},
		{"status", []string{"live", "status", id}, false, "(spring drop)"},
		{"status as JSON", []string{"live", "status", "--json", id}, false, `"items": []`},
		{"stop", []string{"live", "stop", id}, false, id + "  stopping"},
		{"rtmp", []string{"live", "start", "rtmp://ingest.example/live/key"}, false, "ls_"},
		{"srt", []string{"live", "start", "srt://ingest.example:9000?streamid=show&passphrase=long-enough"}, false, "ls_"},
		{"bad scheme", []string{"live", "start", "rtsp://cdn.example/live"}, true, "only http(s) HLS, rtmp(s) and srt URLs and local files"},
		{"rtmp without a stream", []string{"live", "start", "rtmp://cdn.example/live"}, true, "an application and a stream"},
		{"srt listener", []string{"live", "start", "srt://0.0.0.0:9000?mode=listener"}, true, "mode=caller"},
		{"credentials", []string{"live", "start", "https://u:p@cdn.example/x.m3u8"}, true, "credentials"},
		{"unknown stream", []string{"live", "status", "ls_nope"}, true, "no such stream"},
		{"no argument", []string{"live", "stop"}, true, "want exactly one stream ID"},
		{"help", []string{"live", "--help"}, false, "Usage: vitrine live"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := vitrine(t, env, tc.args...)
			if (code != 0) != tc.wantCode || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("%v: exit %d, output %q, want %q", tc.args, code, out+errOut, tc.want)
			}
			if code != 0 && strings.Count(strings.TrimSpace(errOut), "\n") > 0 && !strings.Contains(errOut, "Usage") {
				t.Errorf("%v: error of more than one line: %q", tc.args, errOut)
			}
		})
	}
}
