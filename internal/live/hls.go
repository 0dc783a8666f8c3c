package live

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vitrine-dev/vitrine/internal/fetch"
)

// ErrUnsupported means the playlist uses a feature the puller does not
// read (fMP4 segments, encryption).
var ErrUnsupported = errors.New("unsupported HLS playlist")

// errDecoder means the decoder stopped taking the stream's bytes.
var errDecoder = errors.New("decoder stopped")

// playlist is what the puller reads of an HLS playlist.
type playlist struct {
	variant  string // master playlist: the first variant's URL
	target   time.Duration
	sequence int64 // media sequence number of segments[0]
	segments []string
	last     time.Duration // the newest segment's duration (#EXTINF)
	ended    bool          // #EXT-X-ENDLIST: no segment will be added
}

// parsePlaylist reads an HLS playlist; segment and variant URLs are
// resolved against base.
func parsePlaylist(b []byte, base *url.URL) (playlist, error) {
	var p playlist
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first, variantNext := true, false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if line != "#EXTM3U" {
				return p, fmt.Errorf("not an HLS playlist (first line %.40q)", line)
			}
			first = false
			continue
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF"):
			variantNext = true
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			v, err := strconv.ParseFloat(strings.TrimPrefix(line, "#EXT-X-TARGETDURATION:"), 64)
			if err != nil || v <= 0 || v > 3600 {
				return p, fmt.Errorf("bad %s", line)
			}
			p.target = time.Duration(v * float64(time.Second))
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			v, err := strconv.ParseInt(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
			if err != nil || v < 0 {
				return p, fmt.Errorf("bad %s", line)
			}
			p.sequence = v
		case strings.HasPrefix(line, "#EXTINF:"):
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			if d, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && d > 0 && d <= 3600 {
				p.last = time.Duration(d * float64(time.Second))
			}
		case strings.HasPrefix(line, "#EXT-X-ENDLIST"):
			p.ended = true
		case strings.HasPrefix(line, "#EXT-X-MAP"), strings.HasPrefix(line, "#EXT-X-KEY") && !strings.Contains(line, "METHOD=NONE"):
			return p, fmt.Errorf("%w: %s (MPEG-TS segments only)", ErrUnsupported, strings.SplitN(line, ":", 2)[0])
		case strings.HasPrefix(line, "#"):
		default:
			u, err := base.Parse(line)
			if err != nil {
				return p, fmt.Errorf("bad URI %.80q: %w", line, err)
			}
			if variantNext {
				if p.variant == "" {
					p.variant = u.String()
				}
				variantNext = false
				continue
			}
			p.segments = append(p.segments, u.String())
		}
	}
	if first {
		return p, errors.New("empty playlist")
	}
	return p, sc.Err()
}

// Backoff is the reconnect policy of a source that fails: waits double
// from Base to at most Max, and the source fails after Attempts failures
// in a row.
type Backoff struct {
	Base, Max time.Duration
	Attempts  int
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = 500 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 8 * time.Second
	}
	if b.Attempts <= 0 {
		b.Attempts = 8
	}
	return b
}

// wait returns the wait after the n-th failure in a row (from 1).
func (b Backoff) wait(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// hlsPuller fetches an HLS stream's segments in order through the safe
// fetcher (scheme and address rules as for catalog images, checked on
// every request and redirect) and writes their bytes to the decoder, so
// ffmpeg never opens a URL itself.
type hlsPuller struct {
	url     string
	fetcher *fetch.Fetcher
	backoff Backoff
	// onRetry is told of each failure before its wait (attempt from 1).
	onRetry func(attempt int, wait time.Duration, err error)
	// maxPolls bounds the playlist fetches (0: no bound but ctx).
	maxPolls int
	// due is when the next segment should be listed: the time the newest
	// was first seen plus its duration.
	due time.Time
}

// run pulls until the playlist ends (nil), ctx ends, or a failure repeats
// Backoff.Attempts times. A live playlist is joined at its newest segment,
// for the least latency; an ended (VOD) one is read from the start.
func (h *hlsPuller) run(ctx context.Context, w io.Writer) error {
	b := h.backoff.withDefaults()
	playlistURL := h.url
	next := int64(-1) // media sequence number of the next segment to write
	fails := 0
	for polls := 0; h.maxPolls <= 0 || polls < h.maxPolls; polls++ {
		wait, done, err := h.step(ctx, &playlistURL, &next, w)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, ErrUnsupported) || errors.Is(err, errDecoder) {
				return err
			}
			fails++
			if fails >= b.Attempts {
				return fmt.Errorf("live: source failed %d times in a row: %w", fails, err)
			}
			wait = b.wait(fails)
			if h.onRetry != nil {
				h.onRetry(fails, wait, err)
			}
		} else {
			fails = 0
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return errors.New("live: playlist poll limit reached")
}

// step fetches the playlist once and writes the segments not written yet;
// it returns how long to wait before the next poll and whether the stream
// ended.
func (h *hlsPuller) step(ctx context.Context, playlistURL *string, next *int64, w io.Writer) (time.Duration, bool, error) {
	body, _, err := h.fetcher.Get(ctx, *playlistURL)
	if err != nil {
		return 0, false, fmt.Errorf("playlist: %w", err)
	}
	base, err := url.Parse(*playlistURL)
	if err != nil {
		return 0, false, err
	}
	p, err := parsePlaylist(body, base)
	if err != nil {
		return 0, false, fmt.Errorf("playlist: %w", err)
	}
	if p.variant != "" {
		*playlistURL = p.variant
		return 0, false, nil
	}
	if *next < 0 {
		*next = p.sequence
		if !p.ended && len(p.segments) > 0 {
			*next = p.sequence + int64(len(p.segments)) - 1
		}
	}
	if *next < p.sequence {
		// Segments slid out of the playlist while we were away: skip them.
		*next = p.sequence
	}
	wrote := false
	for i := *next - p.sequence; i < int64(len(p.segments)); i++ {
		seg, _, err := h.fetcher.Get(ctx, p.segments[i])
		if err != nil {
			return 0, false, fmt.Errorf("segment %d: %w", p.sequence+i, err)
		}
		if _, err := w.Write(seg); err != nil {
			return 0, false, fmt.Errorf("%w: %w", errDecoder, err)
		}
		*next = p.sequence + i + 1
		wrote = true
	}
	if p.ended && *next >= p.sequence+int64(len(p.segments)) {
		return 0, true, nil
	}
	return h.pollWait(p, wrote, time.Now()), false, nil
}

// pollWait returns how long to wait before the next playlist poll, at now,
// after a poll that found new segments (wrote) or none. Half the target
// duration between polls (RFC 8216's rule for an unchanged playlist) let a
// segment wait up to that long before it was fetched: 0.25 s on average
// and 0.5 s at worst with 1 s segments, for every item a viewer sees. A
// segment is due its predecessor's duration after that one was listed, so
// the puller sleeps until a quarter target before then and polls every
// tenth of a target until it is listed (a few more requests of a small
// playlist a segment), and falls back to half-target polls when the
// stream stalls.
func (h *hlsPuller) pollWait(p playlist, wrote bool, now time.Time) time.Duration {
	target := p.target
	if target <= 0 {
		target = 2 * time.Second
	}
	if wrote {
		dur := p.last
		if dur <= 0 {
			dur = target
		}
		h.due = now.Add(dur)
	}
	quick := min(max(target/10, 50*time.Millisecond), 500*time.Millisecond)
	switch early := h.due.Sub(now); {
	case h.due.IsZero() || early < -target:
		return target / 2 // no segment seen yet, or the stream stalled
	case early > target/4:
		return early - target/4
	default:
		return quick
	}
}
