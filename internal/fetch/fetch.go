// Package fetch downloads user-supplied http(s) URLs safely: the body is
// capped, the whole request has a deadline, redirects are limited and each
// hop is re-checked, the content type is sniffed from the bytes rather than
// trusted from the header, and connections to private, loopback, link-local,
// multicast and unspecified addresses are refused at dial time (after DNS
// resolution, so a hostname that resolves to an internal address cannot slip
// through) unless the configuration explicitly allows them.
package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Defaults used when a Config field is zero.
const (
	DefaultMaxBytes     = 20 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRedirects = 3
)

// Errors returned (wrapped) by Fetcher; test with errors.Is.
var (
	ErrScheme           = errors.New("only http and https URLs are allowed")
	ErrBlockedAddress   = errors.New("address is not allowed (private, loopback, link-local, multicast or unspecified)")
	ErrTooLarge         = errors.New("body exceeds the size limit")
	ErrTooManyRedirects = errors.New("too many redirects")
	ErrContentType      = errors.New("content type is not allowed")
	ErrStatus           = errors.New("unexpected HTTP status")
)

// Config controls a Fetcher. The zero value is safe: defaults apply and
// internal addresses are refused.
type Config struct {
	// MaxBytes caps the body size (DefaultMaxBytes when 0).
	MaxBytes int64
	// Timeout bounds the whole exchange, redirects and body included
	// (DefaultTimeout when 0).
	Timeout time.Duration
	// MaxRedirects is the number of redirects followed (DefaultMaxRedirects
	// when 0; negative means none).
	MaxRedirects int
	// AllowPrivate permits private, loopback and link-local destinations. It
	// exists for tests and for deployments that fetch from an internal
	// mirror; leave it off otherwise.
	AllowPrivate bool
	// AllowedTypes lists accepted sniffed MIME type prefixes, such as
	// "image/" or "video/mp4". Empty accepts anything.
	AllowedTypes []string
	// UserAgent is sent with every request when set.
	UserAgent string
}

// Fetcher performs safe GET requests. It is safe for concurrent use.
type Fetcher struct {
	cfg    Config
	client *http.Client
	dialer *net.Dialer
}

// New returns a Fetcher for cfg.
func New(cfg Config) *Fetcher {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRedirects == 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	}
	allow := cfg.AllowPrivate
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		// Control runs after name resolution, on the exact address being
		// dialled, so DNS rebinding cannot redirect us to an internal host.
		Control: func(network, address string, _ syscall.RawConn) error {
			if allow {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("fetch: parse dial address %q: %w", address, err)
			}
			if Blocked(ap.Addr()) {
				return fmt.Errorf("fetch: dial %s: %w", ap.Addr(), ErrBlockedAddress)
			}
			return nil
		},
	}
	tr := &http.Transport{
		// No proxy: a proxy would make the dial-time address check moot.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	maxRedirects := cfg.MaxRedirects
	client := &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if maxRedirects < 0 || len(via) > maxRedirects {
				return ErrTooManyRedirects
			}
			// Each hop is re-checked: scheme here, address at dial time.
			return checkURL(req.URL)
		},
	}
	return &Fetcher{cfg: cfg, client: client, dialer: dialer}
}

// CheckAddr reports whether f may connect to addr: nil, or an error
// wrapping ErrBlockedAddress.
func (f *Fetcher) CheckAddr(addr netip.Addr) error {
	if f.cfg.AllowPrivate || !Blocked(addr) {
		return nil
	}
	return fmt.Errorf("fetch: %s: %w", addr.Unmap(), ErrBlockedAddress)
}

// Resolve looks host up (an IP literal stands for itself) and checks every
// address it resolves to: one refused address refuses the host, so a name
// that mixes public and internal addresses cannot be used to reach the
// internal one. It is for clients that connect by other means than the
// Fetcher (ffmpeg for RTMP and SRT streams), which must then connect to one
// of the returned addresses, not to host, so that a second lookup cannot
// answer differently.
func (f *Fetcher) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if host == "" {
		return nil, errors.New("fetch: no host")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if err := f.CheckAddr(a); err != nil {
			return nil, err
		}
		return []netip.Addr{a.Unmap()}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("fetch: resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("fetch: resolve %s: no address", host)
	}
	for i, a := range addrs {
		if err := f.CheckAddr(a); err != nil {
			return nil, fmt.Errorf("fetch: %s: %w", host, err)
		}
		addrs[i] = a.Unmap()
	}
	return addrs, nil
}

// DialContext connects like the Fetcher's own requests: the address rules
// apply, at dial time, to the address actually dialled.
func (f *Fetcher) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return f.dialer.DialContext(ctx, network, address)
}

// Blocked reports whether addr is an address a Fetcher refuses unless
// AllowPrivate is set.
func Blocked(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsUnspecified() ||
		addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() ||
		addr.IsMulticast() {
		return true
	}
	for _, p := range extraBlocked {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// extraBlocked covers special-purpose ranges the netip predicates miss.
var extraBlocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),      // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),       // NAT64 can reach IPv4 internals
	netip.MustParsePrefix("2002::/16"),          // 6to4 embeds IPv4
	netip.MustParsePrefix("fec0::/10"),          // deprecated site-local
	netip.MustParsePrefix("::ffff:0:0:0/96"),    // IPv4-translated
	netip.MustParsePrefix("100::/64"),           // discard-only
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("169.254.169.254/32"), // cloud metadata (also link-local)
}

func checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("fetch: %q: %w", u.Scheme, ErrScheme)
	}
	if u.Host == "" {
		return fmt.Errorf("fetch: URL has no host")
	}
	if u.User != nil {
		return fmt.Errorf("fetch: URLs with credentials are not allowed")
	}
	return nil
}

// Response is an open, checked response body. Body stops with ErrTooLarge
// once more than the configured maximum has been read.
type Response struct {
	// Body yields the whole body, including the bytes already sniffed.
	Body io.ReadCloser
	// ContentType is the sniffed MIME type (http.DetectContentType).
	ContentType string
	// HeaderType is the Content-Type the server declared.
	HeaderType string
	// Length is the declared Content-Length, -1 when unknown.
	Length int64
	// URL is the final URL after redirects.
	URL string
}

// Open starts a GET of rawURL and returns the checked, streaming body. The
// caller must close it. The timeout covers reading the body too.
func (f *Fetcher) Open(ctx context.Context, rawURL string) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("fetch: parse URL: %w", err)
	}
	if err := checkURL(u); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("fetch: build request: %w", err)
	}
	if f.cfg.UserAgent != "" {
		req.Header.Set("User-Agent", f.cfg.UserAgent)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("fetch: GET %s: %w", redact(u), err)
	}
	fail := func(err error) (*Response, error) {
		resp.Body.Close()
		cancel()
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(fmt.Errorf("fetch: GET %s: %w %d", redact(u), ErrStatus, resp.StatusCode))
	}
	if resp.ContentLength > f.cfg.MaxBytes {
		return fail(fmt.Errorf("fetch: GET %s: %d bytes declared: %w (%d)", redact(u), resp.ContentLength, ErrTooLarge, f.cfg.MaxBytes))
	}
	lr := &limitedReader{r: resp.Body, n: f.cfg.MaxBytes}
	head := make([]byte, 512)
	n, err := io.ReadFull(lr, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fail(fmt.Errorf("fetch: GET %s: read: %w", redact(u), err))
	}
	head = head[:n]
	ct := http.DetectContentType(head)
	if !typeAllowed(ct, f.cfg.AllowedTypes) {
		return fail(fmt.Errorf("fetch: GET %s: sniffed %q: %w", redact(u), ct, ErrContentType))
	}
	body := &body{
		Reader: io.MultiReader(bytes.NewReader(head), lr),
		close: func() error {
			defer cancel()
			return resp.Body.Close()
		},
	}
	return &Response{
		Body:        body,
		ContentType: ct,
		HeaderType:  resp.Header.Get("Content-Type"),
		Length:      resp.ContentLength,
		URL:         resp.Request.URL.String(),
	}, nil
}

// Get fetches rawURL into memory. It returns the body and the sniffed type.
func (f *Fetcher) Get(ctx context.Context, rawURL string) ([]byte, string, error) {
	r, err := f.Open(ctx, rawURL)
	if err != nil {
		return nil, "", err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, "", fmt.Errorf("fetch: read %s: %w", redactString(rawURL), err)
	}
	return b, r.ContentType, nil
}

func typeAllowed(ct string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if strings.HasPrefix(ct, a) {
			return true
		}
	}
	return false
}

// limitedReader fails with ErrTooLarge instead of truncating silently.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n - int(-l.n), ErrTooLarge
	}
	return n, err
}

type body struct {
	io.Reader
	close func() error
}

func (b *body) Close() error { return b.close() }

// redact drops the query string, which may carry signed tokens, from logs
// and errors.
func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	c.Fragment = ""
	return c.String()
}

func redactString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return redact(u)
}
