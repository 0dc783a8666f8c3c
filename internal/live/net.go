package live

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/media"
)

// DefaultNetTimeout bounds connecting to an RTMP or SRT source and each
// read from it (Config.NetTimeout when 0): a source silent that long has
// dropped, and the stream reconnects.
const DefaultNetTimeout = 10 * time.Second

// srtParams are the SRT URL parameters a source may set, passed to ffmpeg
// as the options of its srt protocol (the values as ffmpeg reads them:
// latencies in microseconds). Others are refused: some would make the
// server listen or rendezvous instead of calling out, or change timeouts
// the reconnect policy relies on.
var srtParams = map[string]string{
	"streamid":    "srt_streamid", // ffmpeg's own -streamid is another option
	"passphrase":  "passphrase",
	"pbkeylen":    "pbkeylen",
	"latency":     "latency",
	"rcvlatency":  "rcvlatency",
	"peerlatency": "peerlatency",
}

// numericSRTParams must be integers.
var numericSRTParams = []string{"pbkeylen", "latency", "rcvlatency", "peerlatency"}

// isNet reports whether a (checked) source is an RTMP or SRT URL that
// ffmpeg reads itself.
func isNet(src string) bool {
	for _, p := range []string{"rtmp://", "rtmps://", "srt://"} {
		if strings.HasPrefix(src, p) {
			return true
		}
	}
	return false
}

// checkNetSource validates an rtmp, rtmps or srt URL.
func checkNetSource(src string) error {
	u, err := url.Parse(src)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("%w: %s is not a valid URL", ErrBadSource, redact(src))
	}
	if u.User != nil {
		return fmt.Errorf("%w: URLs with credentials are not allowed", ErrBadSource)
	}
	if u.Fragment != "" || strings.ContainsAny(src, " \t#") {
		return fmt.Errorf("%w: %s: spaces and fragments are not allowed", ErrBadSource, redact(src))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: %s: bad port %q", ErrBadSource, redact(src), p)
		}
	}
	if u.Scheme != "srt" {
		if rtmpApp(u) == "" {
			return fmt.Errorf("%w: %s: an RTMP URL names an application and a stream: rtmp://host/app/stream", ErrBadSource, redact(src))
		}
		return nil
	}
	if u.Port() == "" {
		return fmt.Errorf("%w: %s: an SRT URL needs a port", ErrBadSource, redact(src))
	}
	if u.Path != "" && u.Path != "/" {
		return fmt.Errorf("%w: %s: an SRT URL has no path (the stream is named by streamid)", ErrBadSource, redact(src))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fmt.Errorf("%w: %s: bad query: %w", ErrBadSource, redact(src), err)
	}
	for k, vs := range q {
		_, ok := srtParams[k]
		switch {
		case k == "mode":
			if len(vs) != 1 || vs[0] != "caller" {
				return fmt.Errorf("%w: SRT sources are called (mode=caller); vitrine does not listen for them", ErrBadSource)
			}
		case !ok:
			return fmt.Errorf("%w: SRT parameter %q is not allowed (allowed: %s)", ErrBadSource, k, strings.Join(srtParamNames(), ", "))
		case len(vs) != 1:
			return fmt.Errorf("%w: SRT parameter %q given %d times", ErrBadSource, k, len(vs))
		case slices.Contains(numericSRTParams, k):
			if _, err := strconv.ParseInt(vs[0], 10, 64); err != nil {
				return fmt.Errorf("%w: SRT parameter %s=%q is not an integer", ErrBadSource, k, vs[0])
			}
		}
	}
	return nil
}

func srtParamNames() []string {
	names := []string{"mode=caller"}
	for k := range srtParams {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// rtmpApp is the application part of an RTMP URL's path, split as
// ffmpeg's RTMP client splits it (the first path element, or the first two
// when a stream name follows them, unless the second holds a colon, such
// as "mp4:name"), so that the tcUrl sent for a relayed connection is the
// one a direct connection would send.
func rtmpApp(u *url.URL) string {
	path := u.EscapedPath()
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	if i := strings.Index(path, "?"); i >= 0 && strings.Contains(path[i:], "slist=") {
		return strings.TrimPrefix(path[:i], "/")
	}
	if strings.HasPrefix(path, "/ondemand/") {
		return "ondemand"
	}
	next := strings.TrimPrefix(path, "/")
	p := strings.Index(next, "/")
	if p < 0 {
		return "" // no stream name
	}
	rest := next[p+1:]
	slash, colon := strings.Index(rest, "/"), strings.Index(rest, ":")
	if slash < 0 || colon >= 0 && colon < slash {
		return next[:p]
	}
	return next[:p+1+slash]
}

// netPuller reads an RTMP or SRT source through ffmpeg (a stream copy to
// MPEG-TS, media.Tool.Receive) and writes the bytes to the decoder, as
// the HLS puller writes segments: the same decoder, recording, statistics
// and reconnect policy follow. Before each connection the host is resolved
// in Go and every address checked under the fetcher's rules; ffmpeg gets
// a checked address, never the name, so a second lookup (DNS rebinding)
// cannot send it elsewhere. RTMP goes through a loopback relay whose
// upstream Go dials itself (for rtmps with TLS verified against the host
// name, which ffmpeg's TLS does not do); SRT, over UDP, is given the
// literal address.
type netPuller struct {
	url     string
	fetcher *fetch.Fetcher
	media   *media.Tool
	backoff Backoff
	// timeout bounds connecting and each read (DefaultNetTimeout when 0).
	timeout time.Duration
	// tls is the base TLS configuration of rtmps sources (nil: system
	// roots); ServerName is set to the source's host.
	tls *tls.Config
	// onRetry is told of each failure before its wait (attempt from 1).
	onRetry func(attempt int, wait time.Duration, err error)
}

// errSourceEnded is the failure of a session that ended without an error:
// the broadcaster stopped, or the connection was closed.
var errSourceEnded = errors.New("source ended")

// run reads sessions until ctx ends or Backoff.Attempts sessions in a row
// fail. RTMP and SRT have no end-of-stream mark that tells a broadcast's
// end from a drop, so an ended session is followed by a reconnect too;
// when the source then stays away the stream ends without an error if its
// last session ended cleanly, else with the last failure.
func (p *netPuller) run(ctx context.Context, w io.Writer) error {
	b := p.backoff.withDefaults()
	start := time.Now()
	fails, clean := 0, false
	for {
		// One timeline across sessions: each continues at the wall-clock
		// time since the first began, the time that passed in the source.
		var offset time.Duration
		if fails > 0 || clean {
			offset = time.Since(start)
		}
		n, err := p.session(ctx, w, offset)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errDecoder) || errors.Is(err, fetch.ErrBlockedAddress) || errors.Is(err, media.ErrToolMissing) {
			return err
		}
		if n > 0 {
			fails, clean = 0, err == nil
		}
		if err == nil {
			err = errSourceEnded
		}
		fails++
		if fails >= b.Attempts {
			if clean {
				return nil
			}
			return fmt.Errorf("live: source failed %d times in a row: %w", fails, err)
		}
		wait := b.wait(fails)
		if p.onRetry != nil {
			p.onRetry(fails, wait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// session connects once and copies the source to w until it ends; it
// returns the bytes written.
func (p *netPuller) session(ctx context.Context, w io.Writer, offset time.Duration) (int64, error) {
	u, err := url.Parse(p.url)
	if err != nil {
		return 0, fmt.Errorf("live: %w", err)
	}
	timeout := p.timeout
	if timeout <= 0 {
		timeout = DefaultNetTimeout
	}
	addrs, err := p.fetcher.Resolve(ctx, u.Hostname())
	if err != nil {
		return 0, err
	}
	var in media.NetInput
	if u.Scheme == "srt" {
		in, err = srtInput(u, addrs[0], timeout)
	} else {
		var r *relay
		if r, err = p.relay(ctx, u, addrs, timeout); err != nil {
			return 0, err
		}
		defer r.Close()
		in = rtmpInput(u, r.port(), timeout)
	}
	if err != nil {
		return 0, err
	}
	in.TSOffset = offset
	in.Redact = secretRedactor(u)
	cw := &countWriter{w: w}
	err = p.media.Receive(ctx, in, cw)
	if cw.err != nil {
		return cw.n, fmt.Errorf("%w: %w", errDecoder, cw.err)
	}
	return cw.n, err
}

// srtInput is the ffmpeg input of an SRT source at addr: the caller mode
// and the timeouts in the URL, the source's parameters as options.
func srtInput(u *url.URL, addr netip.Addr, timeout time.Duration) (media.NetInput, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return media.NetInput{}, fmt.Errorf("live: %w", err)
	}
	var opts []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if opt, ok := srtParams[k]; ok {
			opts = append(opts, "-"+opt, q.Get(k))
		}
	}
	target := net.JoinHostPort(addr.String(), u.Port())
	return media.NetInput{
		URL: fmt.Sprintf("srt://%s?mode=caller&connect_timeout=%d&timeout=%d", target, timeout.Milliseconds(), timeout.Microseconds()),
		// libsrt makes its own UDP sockets: no other protocol is needed.
		Protocols: []string{"srt"},
		Options:   opts,
	}, nil
}

// rtmpInput is the ffmpeg input of an RTMP source relayed on a loopback
// port: the source's path (application, stream key) and query unchanged,
// and the tcUrl it would send to the source directly.
func rtmpInput(u *url.URL, port int, timeout time.Duration) media.NetInput {
	target := "rtmp://127.0.0.1:" + strconv.Itoa(port) + u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	return media.NetInput{
		URL:       target,
		Protocols: []string{"rtmp", "tcp"},
		Options: []string{"-rw_timeout", strconv.FormatInt(timeout.Microseconds(), 10),
			"-rtmp_tcurl", u.Scheme + "://" + u.Host + "/" + rtmpApp(u)},
	}
}

// secretRedactor removes a source's secrets from ffmpeg's messages: an
// RTMP URL's stream key and query, an SRT URL's parameter values.
func secretRedactor(u *url.URL) func(string) string {
	var secrets []string
	if u.Scheme == "srt" {
		q, _ := url.ParseQuery(u.RawQuery)
		for k, vs := range q {
			if k != "mode" {
				secrets = append(secrets, vs...)
			}
		}
	} else {
		app := rtmpApp(u)
		full := u.EscapedPath()
		if u.RawQuery != "" {
			full += "?" + u.RawQuery
		}
		if key := strings.TrimPrefix(strings.TrimPrefix(full, "/"), app); strings.Trim(key, "/?") != "" {
			secrets = append(secrets, strings.TrimPrefix(key, "/"))
		}
	}
	var pairs []string
	for _, s := range secrets {
		if len(s) < 3 {
			continue // too short to scrub without mangling the message
		}
		pairs = append(pairs, s, "…")
		if e := url.QueryEscape(s); e != s {
			pairs = append(pairs, e, "…")
		}
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// countWriter counts the bytes written and keeps the first write error
// (the decoder went away).
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// relay is a loopback port that carries one connection, ffmpeg's, to an
// upstream connection Go made under the address rules.
type relay struct {
	ln   net.Listener
	up   net.Conn
	done chan struct{}
}

// relay dials the first of addrs that answers (each checked again at dial
// time), completes TLS for rtmps, and listens for ffmpeg on loopback.
func (p *netPuller) relay(ctx context.Context, u *url.URL, addrs []netip.Addr, timeout time.Duration) (*relay, error) {
	port := u.Port()
	if port == "" {
		port = "1935"
		if u.Scheme == "rtmps" {
			port = "443"
		}
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var up net.Conn
	var err error
	for _, a := range addrs {
		if up, err = p.fetcher.DialContext(dctx, "tcp", net.JoinHostPort(a.String(), port)); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("live: connect: %w", err)
	}
	if u.Scheme == "rtmps" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if p.tls != nil {
			cfg = p.tls.Clone()
		}
		// SNI and certificate verification against the name in the
		// source, though the connection went to a checked address.
		cfg.ServerName = u.Hostname()
		tc := tls.Client(up, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			up.Close()
			return nil, fmt.Errorf("live: TLS with %s: %w", u.Hostname(), err)
		}
		up = tc
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		up.Close()
		return nil, fmt.Errorf("live: relay: %w", err)
	}
	r := &relay{ln: ln, up: up, done: make(chan struct{})}
	go r.serve(timeout)
	return r, nil
}

// serve accepts one connection and copies both ways until either side
// ends.
func (r *relay) serve(timeout time.Duration) {
	defer close(r.done)
	_ = r.ln.(*net.TCPListener).SetDeadline(time.Now().Add(timeout))
	c, err := r.ln.Accept()
	r.ln.Close()
	if err != nil {
		r.up.Close()
		return
	}
	var once sync.Once
	stop := func() { once.Do(func() { c.Close(); r.up.Close() }) }
	go func() {
		_, _ = io.Copy(r.up, c)
		stop()
	}()
	_, _ = io.Copy(c, r.up)
	stop()
}

func (r *relay) port() int { return r.ln.Addr().(*net.TCPAddr).Port }

// Close ends the relay and waits for it.
func (r *relay) Close() {
	r.ln.Close()
	r.up.Close()
	<-r.done
}
