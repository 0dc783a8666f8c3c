package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/fetch"
)

func TestParsePlaylist(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:1/live/index.m3u8")
	tests := []struct {
		name    string
		in      string
		want    playlist
		wantErr error // nil: no error; errAny: any error
	}{
		{name: "live media playlist", in: "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:2.0,\nseg7.ts\n#EXTINF:2.0,\nseg8.ts\n",
			want: playlist{target: 2 * time.Second, sequence: 7, segments: []string{"http://127.0.0.1:1/live/seg7.ts", "http://127.0.0.1:1/live/seg8.ts"}, last: 2 * time.Second}},
		{name: "ended", in: "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n/a/s0.ts\n#EXT-X-ENDLIST\n",
			want: playlist{target: time.Second, segments: []string{"http://127.0.0.1:1/a/s0.ts"}, ended: true, last: time.Second}},
		{name: "segment durations with titles", in: "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.002,\ns0.ts\n#EXTINF:0.960000,first take\ns1.ts\n",
			want: playlist{target: 2 * time.Second, segments: []string{"http://127.0.0.1:1/live/s0.ts", "http://127.0.0.1:1/live/s1.ts"}, last: 960 * time.Millisecond}},
		{name: "master takes the first variant", in: "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\nhigh/index.m3u8\n",
			want: playlist{variant: "http://127.0.0.1:1/live/low/index.m3u8"}},
		{name: "fMP4 segments", in: "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:1,\ns.m4s\n", wantErr: ErrUnsupported},
		{name: "encrypted", in: "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k\"\n#EXTINF:1,\ns.ts\n", wantErr: ErrUnsupported},
		{name: "not a playlist", in: "<html>", wantErr: errAny},
		{name: "empty", in: "", wantErr: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parsePlaylist([]byte(tc.in), base)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatal(err)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			case tc.wantErr != nil:
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

var errAny = errors.New("any error")

// growingPlaylist serves a live HLS playlist that gains a segment every
// playlist it serves, fails the requests listed in fail with 503 and ends
// after n segments.
type growingPlaylist struct {
	mu       sync.Mutex
	requests int
	served   int
	n        int
	fail     map[int]bool
}

func (g *growingPlaylist) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, ".ts") {
		fmt.Fprintf(w, "[%s]", strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".ts"))
		return
	}
	g.requests++
	if g.fail[g.requests] {
		http.Error(w, "source down", http.StatusServiceUnavailable)
		return
	}
	g.served++
	have := min(g.served, g.n)
	// A sliding window of the last 3 segments, as a live origin keeps.
	first := max(0, have-3)
	var b strings.Builder
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	for i := first; i < have; i++ {
		fmt.Fprintf(&b, "#EXTINF:1.0,\ns%d.ts\n", i)
	}
	if have == g.n {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	w.Write([]byte(b.String()))
}

// TestHLSPullerReconnects checks that the puller writes every segment
// once and in order, waits with doubling backoff while the source is down,
// and gives up after Backoff.Attempts failures in a row.
func TestHLSPullerReconnects(t *testing.T) {
	tests := []struct {
		name      string
		fail      []int
		wantOut   string
		wantWaits []time.Duration
		wantErr   bool
	}{
		{name: "no failure", wantOut: "[s0][s1][s2][s3][s4][s5]"},
		{name: "source down for three polls", fail: []int{3, 4, 5}, wantOut: "[s0][s1][s2][s3][s4][s5]",
			wantWaits: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}},
		{name: "source gone", fail: []int{3, 4, 5, 6, 7, 8, 9, 10}, wantOut: "[s0][s1]", wantErr: true,
			wantWaits: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &growingPlaylist{n: 6, fail: map[int]bool{}}
			for _, f := range tc.fail {
				g.fail[f] = true
			}
			srv := httptest.NewServer(g)
			defer srv.Close()
			var waits []time.Duration
			p := &hlsPuller{url: srv.URL + "/index.m3u8", fetcher: fetch.New(fetch.Config{AllowPrivate: true}),
				backoff: Backoff{Base: 10 * time.Millisecond, Max: 40 * time.Millisecond, Attempts: 4}, maxPolls: 100,
				onRetry: func(_ int, wait time.Duration, _ error) { waits = append(waits, wait) }}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out bytes.Buffer
			err := p.run(ctx, &out)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if out.String() != tc.wantOut {
				t.Errorf("wrote %q, want %q", out.String(), tc.wantOut)
			}
			if fmt.Sprint(waits) != fmt.Sprint(tc.wantWaits) && !(len(waits) == 0 && len(tc.wantWaits) == 0) {
				t.Errorf("waits %v, want %v", waits, tc.wantWaits)
			}
		})
	}
	t.Run("loopback refused without AllowPrivate", func(t *testing.T) {
		srv := httptest.NewServer(&growingPlaylist{n: 1})
		defer srv.Close()
		p := &hlsPuller{url: srv.URL + "/index.m3u8", fetcher: fetch.New(fetch.Config{}), backoff: Backoff{Base: time.Millisecond, Attempts: 2}}
		err := p.run(context.Background(), &bytes.Buffer{})
		if !errors.Is(err, fetch.ErrBlockedAddress) {
			t.Fatalf("err = %v, want %v", err, fetch.ErrBlockedAddress)
		}
	})
}

// TestPollWait checks the puller's playlist polls: none before a segment
// is due, often once it is, and half a target apart when none was seen
// yet or the stream stalled.
func TestPollWait(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	p := playlist{target: time.Second, last: 1200 * time.Millisecond}
	steps := []struct {
		name  string
		wrote bool
		now   time.Time
		want  time.Duration
	}{
		{"no segment seen yet", false, ms(0), 500 * time.Millisecond},
		{"a segment is listed: sleep until a quarter target before the next is due", true, ms(100), 950 * time.Millisecond},
		{"due soon: poll often", false, ms(1050), 100 * time.Millisecond},
		{"late: still often", false, ms(1900), 100 * time.Millisecond},
		{"stalled for more than a target", false, ms(2400), 500 * time.Millisecond},
		{"listed again", true, ms(3000), 950 * time.Millisecond},
	}
	h := &hlsPuller{}
	for _, st := range steps {
		if got := h.pollWait(p, st.wrote, st.now); got != st.want {
			t.Errorf("%s: wait %v, want %v", st.name, got, st.want)
		}
	}
	// Short segments poll no faster than every 50 ms.
	h = &hlsPuller{}
	short := playlist{target: 200 * time.Millisecond, last: 200 * time.Millisecond}
	h.pollWait(short, true, ms(0))
	if got := h.pollWait(short, false, ms(190)); got != 50*time.Millisecond {
		t.Errorf("short segments: wait %v, want 50ms", got)
	}
}
