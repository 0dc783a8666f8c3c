package fetch

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	img := pngBytes(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/img.png", func(w http.ResponseWriter, r *http.Request) {
		// Lie in the header: the sniffed type must win.
		w.Header().Set("Content-Type", "text/plain")
		w.Write(img)
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html><body>not an image</body></html>"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length: the cap must hold while streaming.
		w.Write(img)
		fl := w.(http.Flusher)
		for i := 0; i < 64; i++ {
			w.Write(bytes.Repeat([]byte{0}, 1024))
			fl.Flush()
		}
	})
	mux.HandleFunc("/declared-big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.Write(img)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		// /redirect/N redirects N times before landing on the image.
		n := strings.TrimPrefix(r.URL.Path, "/redirect/")
		if n == "0" {
			http.Redirect(w, r, "/img.png", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/redirect/"+string(rune(n[0]-1)), http.StatusFound)
	})
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestFetch(t *testing.T) {
	srv := newServer(t)
	img := pngBytes(t)
	images := []string{"image/"}
	tests := []struct {
		name    string
		cfg     Config
		path    string
		url     string
		wantErr error
		errText string
	}{
		{name: "image allowed on loopback", cfg: Config{AllowPrivate: true, AllowedTypes: images}, path: "/img.png"},
		{name: "loopback refused by default", cfg: Config{AllowedTypes: images}, path: "/img.png", wantErr: ErrBlockedAddress},
		{name: "hostname resolving to loopback refused", cfg: Config{}, url: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/img.png", wantErr: ErrBlockedAddress},
		{name: "sniffed html refused", cfg: Config{AllowPrivate: true, AllowedTypes: images}, path: "/text", wantErr: ErrContentType},
		{name: "streamed body over cap", cfg: Config{AllowPrivate: true, MaxBytes: 4096}, path: "/big", wantErr: ErrTooLarge},
		{name: "declared length over cap", cfg: Config{AllowPrivate: true, MaxBytes: 4096}, path: "/declared-big", wantErr: ErrTooLarge},
		{name: "timeout", cfg: Config{AllowPrivate: true, Timeout: 200 * time.Millisecond}, path: "/slow", wantErr: context.DeadlineExceeded},
		{name: "http error status", cfg: Config{AllowPrivate: true}, path: "/missing", wantErr: ErrStatus},
		{name: "redirects within limit", cfg: Config{AllowPrivate: true, MaxRedirects: 3}, path: "/redirect/1"},
		{name: "too many redirects", cfg: Config{AllowPrivate: true, MaxRedirects: 2}, path: "/redirect/3", wantErr: ErrTooManyRedirects},
		{name: "redirects disabled", cfg: Config{AllowPrivate: true, MaxRedirects: -1}, path: "/redirect/0", wantErr: ErrTooManyRedirects},
		{name: "redirect to file scheme", cfg: Config{AllowPrivate: true}, path: "/to-file", wantErr: ErrScheme},
		{name: "file scheme", cfg: Config{AllowPrivate: true}, url: "file:///etc/passwd", wantErr: ErrScheme},
		{name: "credentials in URL", cfg: Config{AllowPrivate: true}, url: "http://u:p@127.0.0.1:1/x", errText: "credentials"},
		{name: "unparsable URL", cfg: Config{}, url: "http://[::1", errText: "parse URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url
			if u == "" {
				u = srv.URL + tc.path
			}
			b, ct, err := New(tc.cfg).Get(context.Background(), u)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Get(%s) error = %v, want %v", u, err, tc.wantErr)
				}
			case tc.errText != "":
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("Get(%s) error = %v, want one containing %q", u, err, tc.errText)
				}
			default:
				if err != nil {
					t.Fatalf("Get(%s): %v", u, err)
				}
				if ct != "image/png" {
					t.Errorf("content type = %q, want image/png (sniffed, not the declared text/plain)", ct)
				}
				if !bytes.Equal(b, img) {
					t.Errorf("body differs: got %d bytes, want %d", len(b), len(img))
				}
			}
		})
	}
}

func TestOpenReportsFinalURL(t *testing.T) {
	srv := newServer(t)
	r, err := New(Config{AllowPrivate: true}).Open(context.Background(), srv.URL+"/redirect/0?token=secret")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if !strings.HasSuffix(r.URL, "/img.png") {
		t.Errorf("final URL = %q, want it to end in /img.png", r.URL)
	}
	if r.HeaderType != "text/plain" || r.ContentType != "image/png" {
		t.Errorf("types = header %q sniffed %q", r.HeaderType, r.ContentType)
	}
}

func TestErrorsDoNotLeakQuery(t *testing.T) {
	srv := newServer(t)
	_, _, err := New(Config{AllowPrivate: true}).Get(context.Background(), srv.URL+"/missing?sig=topsecret")
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("error = %v; want an error without the query string", err)
	}
}

func TestBlocked(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true},
		{"100.64.0.1", true},
		{"0.0.0.0", true},
		{"224.0.0.1", true},
		{"255.255.255.255", true},
		{"::1", true},
		{"::", true},
		{"fe80::1", true},
		{"fc00::1", true},
		{"ff02::1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"64:ff9b::a00:1", true},
		{"8.8.8.8", false},
		{"93.184.216.34", false},
		{"2606:4700::1111", false},
	}
	for _, tc := range tests {
		if got := Blocked(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("Blocked(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// TestResolve checks the look-up that RTMP and SRT sources go through
// before ffmpeg connects: every address must pass the rules, and
// AllowPrivate lifts them. Only literals and localhost (from the hosts
// file) are looked up, so the test sends no DNS query.
func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		host    string
		want    string // first address
		wantErr error  // nil: no error; errAnyResolve: any error
	}{
		{name: "public literal", host: "93.184.216.34", want: "93.184.216.34"},
		{name: "public IPv6 literal", host: "2606:4700::1111", want: "2606:4700::1111"},
		{name: "loopback literal refused", host: "127.0.0.1", wantErr: ErrBlockedAddress},
		{name: "private literal refused", host: "10.0.0.7", wantErr: ErrBlockedAddress},
		{name: "metadata literal refused", host: "169.254.169.254", wantErr: ErrBlockedAddress},
		{name: "mapped loopback refused", host: "::ffff:127.0.0.1", wantErr: ErrBlockedAddress},
		{name: "localhost refused", host: "localhost", wantErr: ErrBlockedAddress},
		{name: "loopback allowed", cfg: Config{AllowPrivate: true}, host: "127.0.0.1", want: "127.0.0.1"},
		{name: "mapped loopback allowed unmapped", cfg: Config{AllowPrivate: true}, host: "::ffff:127.0.0.1", want: "127.0.0.1"},
		{name: "no host", host: "", wantErr: errAnyResolve},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := New(tc.cfg).Resolve(context.Background(), tc.host)
			switch {
			case tc.wantErr == errAnyResolve:
				if err == nil {
					t.Fatalf("Resolve(%q) = %v, want an error", tc.host, got)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Resolve(%q) error = %v, want %v", tc.host, err, tc.wantErr)
				}
			case err != nil:
				t.Fatalf("Resolve(%q): %v", tc.host, err)
			case len(got) == 0 || got[0].String() != tc.want:
				t.Fatalf("Resolve(%q) = %v, want %s first", tc.host, got, tc.want)
			}
		})
	}
}

var errAnyResolve = errors.New("any error")

func TestDialContextRules(t *testing.T) {
	srv := newServer(t)
	addr := strings.TrimPrefix(srv.URL, "http://")
	if _, err := New(Config{}).DialContext(context.Background(), "tcp", addr); !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("dial %s without AllowPrivate: err = %v, want %v", addr, err, ErrBlockedAddress)
	}
	c, err := New(Config{AllowPrivate: true}).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s with AllowPrivate: %v", addr, err)
	}
	c.Close()
}
