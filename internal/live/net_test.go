package live

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/media"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestCheckSource(t *testing.T) {
	tests := []struct {
		src     string
		wantErr string // "": valid; else a part of the error
	}{
		{src: "https://cdn.example.com/live/index.m3u8"},
		{src: "/var/streams/show.mp4"},
		{src: "rtmp://ingest.example.com/live/sekrit"},
		{src: "rtmp://ingest.example.com:1936/live/sekrit?token=abc"},
		{src: "rtmps://ingest.example.com/app/inst/mp4:show"},
		{src: "rtmp://203.0.113.7/live/sekrit"},
		{src: "srt://ingest.example.com:9000"},
		{src: "srt://ingest.example.com:9000?mode=caller&streamid=%23%21%3A%3Ar%3Dlive%2Fsekrit&passphrase=longenough1&latency=200000"},
		{src: "srt://[2001:db8::7]:9000?pbkeylen=32"},
		{src: "rtsp://cam.example.com/stream", wantErr: "sources are not supported: only http(s) HLS, rtmp(s) and srt URLs"},
		{src: "rtmpt://ingest.example.com/live/sekrit", wantErr: "sources are not supported: only http(s) HLS, rtmp(s) and srt URLs"},
		{src: "udp://239.0.0.1:1234", wantErr: "sources are not supported: only http(s) HLS, rtmp(s) and srt URLs"},
		{src: "show.mp4", wantErr: "absolute path"},
		{src: "rtmp://ingest.example.com/live", wantErr: "an application and a stream"},
		{src: "rtmp://ingest.example.com", wantErr: "an application and a stream"},
		{src: "rtmp:///live/sekrit", wantErr: "not a valid URL"},
		{src: "rtmp://user:pw@ingest.example.com/live/sekrit", wantErr: "credentials"},
		{src: "rtmp://ingest.example.com:99999/live/sekrit", wantErr: "bad port"},
		{src: "rtmp://ingest.example.com/live/sek rit", wantErr: "spaces"},
		{src: "srt://ingest.example.com", wantErr: "needs a port"},
		{src: "srt://ingest.example.com:9000/live", wantErr: "no path"},
		{src: "srt://0.0.0.0:9000?mode=listener", wantErr: "mode=caller"},
		{src: "srt://ingest.example.com:9000?mode=rendezvous", wantErr: "mode=caller"},
		{src: "srt://ingest.example.com:9000?localport=9000", wantErr: `"localport" is not allowed`},
		{src: "srt://ingest.example.com:9000?timeout=1", wantErr: `"timeout" is not allowed`},
		{src: "srt://ingest.example.com:9000?latency=fast", wantErr: "not an integer"},
		{src: "srt://ingest.example.com:9000?streamid=a&streamid=b", wantErr: "given 2 times"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			err := CheckSource(tc.src)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckSource: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrBadSource) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("CheckSource = %v, want %v containing %q", err, ErrBadSource, tc.wantErr)
			}
			if strings.Contains(err.Error(), "sekrit") {
				t.Errorf("error shows the stream key: %v", err)
			}
		})
	}
}

// TestRTMPApp checks the application/stream split, as ffmpeg's RTMP
// client makes it.
func TestRTMPApp(t *testing.T) {
	tests := []struct{ src, want string }{
		{"rtmp://h/live/key", "live"},
		{"rtmp://h/live/key?token=x", "live"},
		{"rtmp://h/app/inst/key", "app/inst"},
		{"rtmp://h/vod/mp4:dir/file.mp4", "vod"},
		{"rtmp://h/ondemand/file", "ondemand"},
		{"rtmp://h/app/inst?slist=key", "app/inst"},
		{"rtmp://h/onlyone", ""},
		{"rtmp://h", ""},
	}
	for _, tc := range tests {
		u, err := url.Parse(tc.src)
		if err != nil {
			t.Fatal(err)
		}
		if got := rtmpApp(u); got != tc.want {
			t.Errorf("rtmpApp(%s) = %q, want %q", tc.src, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ src, want string }{
		{"https://cdn.example.com/live/index.m3u8?token=sekrit", "https://cdn.example.com/live/index.m3u8?…"},
		{"https://cdn.example.com/live/index.m3u8", "https://cdn.example.com/live/index.m3u8"},
		{"rtmp://ingest.example.com/live/sekrit", "rtmp://ingest.example.com/live/…"},
		{"rtmps://ingest.example.com:443/app/inst/sekrit?t=sekrit", "rtmps://ingest.example.com:443/app/inst/…"},
		{"rtmp://ingest.example.com/sekrit", "rtmp://ingest.example.com/…"},
		{"rtmp://ingest.example.com", "rtmp://ingest.example.com"},
		{"srt://ingest.example.com:9000?streamid=sekrit&passphrase=sekrit-sekrit", "srt://ingest.example.com:9000?…"},
		{"srt://ingest.example.com:9000", "srt://ingest.example.com:9000"},
		{"rtmp://user:sekrit@ingest.example.com/live/sekrit", "rtmp://ingest.example.com/live/…"},
		{"/data/show.mp4", "/data/show.mp4"},
		{"rtmp://[::1/live/sekrit", "(invalid URL)"},
	}
	for _, tc := range tests {
		if got := redact(tc.src); got != tc.want {
			t.Errorf("redact(%s) = %q, want %q", tc.src, got, tc.want)
		}
	}
}

// TestNetInputs checks what ffmpeg is handed: a checked literal address
// or the loopback relay, never the source's name, with the stream's path
// and parameters kept and the timeouts set.
func TestNetInputs(t *testing.T) {
	t.Run("srt", func(t *testing.T) {
		u, _ := url.Parse("srt://ingest.example.com:9000?streamid=%23%21%3A%3Ar%3Dlive&passphrase=sekrit-sekrit&latency=200000&mode=caller")
		in, err := srtInput(u, netip.MustParseAddr("2001:db8::7"), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if want := "srt://[2001:db8::7]:9000?mode=caller&connect_timeout=3000&timeout=3000000"; in.URL != want {
			t.Errorf("URL %q, want %q", in.URL, want)
		}
		if got, want := strings.Join(in.Options, " "), "-latency 200000 -passphrase sekrit-sekrit -srt_streamid #!::r=live"; got != want {
			t.Errorf("options %q, want %q", got, want)
		}
		if strings.Join(in.Protocols, ",") != "srt" {
			t.Errorf("protocols %v, want srt only", in.Protocols)
		}
		if got := secretRedactor(u)("Connection to srt failed: passphrase sekrit-sekrit streamid #!::r=live"); strings.Contains(got, "sekrit") || strings.Contains(got, "r=live") {
			t.Errorf("redacted message %q still shows a secret", got)
		}
	})
	t.Run("rtmps", func(t *testing.T) {
		u, _ := url.Parse("rtmps://ingest.example.com/app/inst/sekrit?t=1")
		in := rtmpInput(u, 40001, 3*time.Second)
		if want := "rtmp://127.0.0.1:40001/app/inst/sekrit?t=1"; in.URL != want {
			t.Errorf("URL %q, want %q", in.URL, want)
		}
		if got, want := strings.Join(in.Options, " "), "-rw_timeout 3000000 -rtmp_tcurl rtmps://ingest.example.com/app/inst"; got != want {
			t.Errorf("options %q, want %q", got, want)
		}
		if strings.Join(in.Protocols, ",") != "rtmp,tcp" {
			t.Errorf("protocols %v, want rtmp,tcp", in.Protocols)
		}
		if got := secretRedactor(u)(in.URL + ": Connection refused"); strings.Contains(got, "sekrit") {
			t.Errorf("redacted message %q still shows the key", got)
		}
	})
}

// TestBlockedSources checks that the fetcher's address rules hold for
// RTMP and SRT sources: a literal internal address is refused when the
// stream starts, a name that resolves to one when it connects (at once,
// without retries, and before ffmpeg runs), and AllowPrivate lifts both.
func TestBlockedSources(t *testing.T) {
	strict := fetch.New(fetch.Config{})
	m, err := New(Config{DB: openDB(t), Fetcher: strict, Remote: true, NewAnalyzer: func(context.Context) (Analyzer, error) { return &pacedAnalyzer{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"rtmp://127.0.0.1/live/key", "rtmps://[::1]:443/live/key", "srt://10.1.2.3:9000", "srt://169.254.169.254:9000",
		"http://192.168.0.1/index.m3u8"} {
		if _, err := m.Start(context.Background(), src, ""); !errors.Is(err, ErrBadSource) || !errors.Is(err, fetch.ErrBlockedAddress) {
			t.Errorf("Start(%s) = %v, want %v and %v", src, err, ErrBadSource, fetch.ErrBlockedAddress)
		}
	}
	if _, err := m.Start(context.Background(), "rtmp://203.0.113.7/live/key", ""); err != nil {
		t.Errorf("Start with a public literal: %v", err)
	}
	for _, src := range []string{"rtmp://localhost:1/live/key", "srt://localhost:1"} {
		retries := 0
		p := &netPuller{url: src, fetcher: strict, media: &media.Tool{FFmpeg: "/nonexistent/ffmpeg"}, backoff: Backoff{Base: time.Millisecond, Attempts: 3},
			onRetry: func(int, time.Duration, error) { retries++ }}
		if err := p.run(context.Background(), io.Discard); !errors.Is(err, fetch.ErrBlockedAddress) || retries != 0 {
			t.Errorf("%s: err = %v after %d retries, want %v at once", src, err, retries, fetch.ErrBlockedAddress)
		}
	}
	if err := (&Manager{cfg: Config{Fetcher: fetch.New(fetch.Config{AllowPrivate: true})}}).checkAddress("srt://127.0.0.1:9000"); err != nil {
		t.Errorf("loopback with AllowPrivate: %v", err)
	}
}

// serveClip runs a helper ffmpeg that broadcasts path in real time to
// out (a listening RTMP or SRT URL) and stops with the test.
func serveClip(t *testing.T, path string, out ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-re", "-i", path, "-c", "copy"}, out...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if stderr.Len() > 0 {
			t.Logf("broadcaster: %s", stderr.String())
		}
	})
}

// tlsFront terminates TLS with a certificate for "localhost" on a
// loopback port and forwards each connection to backend: an rtmps origin
// in front of ffmpeg's plain RTMP listener. It returns the port and the
// roots that trust it.
func tlsFront(t *testing.T, backend string) (int, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer b.Close()
				go func() { io.Copy(b, c); b.Close() }()
				io.Copy(c, b)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, roots
}

// TestNetSources runs RTMP, RTMPS and SRT streams through the manager:
// a helper ffmpeg broadcasts a 3 s clip on loopback, the source is read
// by ffmpeg as the stream's decoder input, its frames reach the analysis,
// the broadcast's end is followed by reconnects until the source stays
// away, and the stream stops with a recording of the broadcast. Stream
// keys and passphrases show in neither the stream's error nor the log.
func TestNetSources(t *testing.T) {
	testenv.NeedFFmpegProtocols(t, "rtmp", "srt")
	dir := t.TempDir()
	mp4 := dir + "/clip.mp4"
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=3", "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p", mp4)
	tests := []struct {
		name  string
		start func(t *testing.T) (src string, tlsCfg *tls.Config)
	}{
		{name: "rtmp", start: func(t *testing.T) (string, *tls.Config) {
			port := strconv.Itoa(testenv.FreePort(t, "tcp"))
			serveClip(t, mp4, "-f", "flv", "-listen", "1", "rtmp://127.0.0.1:"+port+"/live/sekrit-key")
			return "rtmp://127.0.0.1:" + port + "/live/sekrit-key", nil
		}},
		{name: "rtmps", start: func(t *testing.T) (string, *tls.Config) {
			backend := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t, "tcp"))
			serveClip(t, mp4, "-f", "flv", "-listen", "1", "rtmp://"+backend+"/live/sekrit-key")
			port, roots := tlsFront(t, backend)
			// By name: the certificate is checked against it, though the
			// relay connects to the address it resolved and checked.
			return fmt.Sprintf("rtmps://localhost:%d/live/sekrit-key", port), &tls.Config{RootCAs: roots}
		}},
		{name: "srt", start: func(t *testing.T) (string, *tls.Config) {
			port := strconv.Itoa(testenv.FreePort(t, "udp"))
			serveClip(t, mp4, "-f", "mpegts", "srt://127.0.0.1:"+port+"?mode=listener&passphrase=sekrit-passphrase")
			return "srt://127.0.0.1:" + port + "?passphrase=sekrit-passphrase&streamid=sekrit-id&latency=120000", nil
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			an := &pacedAnalyzer{per: 5 * time.Millisecond}
			var logs bytes.Buffer
			var logMu sync.Mutex
			log := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			var recorded media.Info
			src, tlsCfg := tc.start(t)
			m, err := New(Config{DB: db, Fetcher: fetch.New(fetch.Config{AllowPrivate: true}), Logger: log, TLS: tlsCfg, NetTimeout: 2 * time.Second,
				// Attempts: the helper may not listen yet when the stream
				// starts, and after the broadcast a few reconnects fail.
				Backoff: Backoff{Base: 100 * time.Millisecond, Max: 400 * time.Millisecond, Attempts: 5}, Recordings: t.TempDir(),
				OnRecorded: func(ctx context.Context, s Stream, path string) (string, error) {
					info, err := media.Probe(ctx, path)
					recorded = info
					return "v_" + s.ID, err
				},
				NewAnalyzer: func(context.Context) (Analyzer, error) { return an, nil }})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := m.Start(ctx, src, tc.name)
			if err != nil {
				t.Fatal(err)
			}
			m.Wait()
			s, err = Get(ctx, db, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("stream: state %s, %d frames, %d dropped, %d reconnects, error %q; recording %.1f s; analysed at %v", s.State, s.Frames, s.Dropped, s.Reconnects, s.Error, recorded.Duration, an.frames)
			if s.State != StateStopped {
				t.Errorf("stream ended %s (%s), want %s", s.State, s.Error, StateStopped)
			}
			// 3 s at 2 frames a second; a burst at the start may lose one
			// or two to the drop policy.
			if s.Frames < 3 || s.Frames+s.Dropped < 5 {
				t.Errorf("%d frames analysed and %d dropped, want about 6 decoded", s.Frames, s.Dropped)
			}
			if s.Reconnects < 1 {
				t.Errorf("%d reconnects, want some after the broadcast ended", s.Reconnects)
			}
			if s.VideoID != "v_"+s.ID || recorded.Duration < 2 || recorded.Duration > 4.5 {
				t.Errorf("recording: video %q of %.1f s, want one of about 3 s", s.VideoID, recorded.Duration)
			}
			logMu.Lock()
			defer logMu.Unlock()
			if strings.Contains(s.Error, "sekrit") || strings.Contains(logs.String(), "sekrit") {
				t.Errorf("a secret shows: error %q, log:\n%s", s.Error, logs.String())
			}
		})
	}
}

// lockedWriter serialises writes from the stream's goroutines.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestRTMPSVerifiesName checks that an rtmps source whose certificate
// does not name it fails before ffmpeg connects.
func TestRTMPSVerifiesName(t *testing.T) {
	port, roots := tlsFront(t, "127.0.0.1:1")
	// The certificate names localhost, not 127.0.0.1.
	p := &netPuller{url: fmt.Sprintf("rtmps://127.0.0.1:%d/live/key", port), fetcher: fetch.New(fetch.Config{AllowPrivate: true}),
		media: &media.Tool{FFmpeg: "/nonexistent/ffmpeg"}, tls: &tls.Config{RootCAs: roots}, timeout: 3 * time.Second}
	_, err := p.session(context.Background(), io.Discard, 0)
	var verr *tls.CertificateVerificationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a certificate verification error", err)
	}
}

// TestNetReconnect cuts an RTMP source between two broadcasts on the same
// address: the stream reconnects, its frame times keep running forward
// across the cut (one timeline, though each connection's own timestamps
// start again at zero), and the recording holds both broadcasts.
func TestNetReconnect(t *testing.T) {
	testenv.NeedFFmpegProtocols(t, "rtmp")
	mp4 := clip(t, 3)
	port := strconv.Itoa(testenv.FreePort(t, "tcp"))
	url := "rtmp://127.0.0.1:" + port + "/live/key"
	db := openDB(t)
	an := &pacedAnalyzer{per: 5 * time.Millisecond}
	var recorded media.Info
	m, err := New(Config{DB: db, Fetcher: fetch.New(fetch.Config{AllowPrivate: true}), NetTimeout: 2 * time.Second,
		Backoff: Backoff{Base: 100 * time.Millisecond, Max: 400 * time.Millisecond, Attempts: 5}, Recordings: t.TempDir(),
		OnRecorded: func(ctx context.Context, s Stream, path string) (string, error) {
			info, err := media.Probe(ctx, path)
			recorded = info
			return "v_1", err
		},
		NewAnalyzer: func(context.Context) (Analyzer, error) { return an, nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The second broadcast starts once the first has ended.
	first := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", mp4, "-c", "copy", "-f", "flv", "-listen", "1", url)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	s, err := m.Start(ctx, url, "cut")
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Logf("first broadcast: %v", err)
	}
	serveClip(t, mp4, "-f", "flv", "-listen", "1", url)
	m.Wait()
	s, err = Get(ctx, db, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stream: state %s, %d frames, %d dropped, %d reconnects; recording %.1f s; analysed at %v", s.State, s.Frames, s.Dropped, s.Reconnects, recorded.Duration, an.frames)
	if s.State != StateStopped || s.Reconnects < 2 {
		t.Errorf("stream ended %s (%q) after %d reconnects, want %s after at least 2", s.State, s.Error, s.Reconnects, StateStopped)
	}
	an.mu.Lock()
	defer an.mu.Unlock()
	for i := 1; i < len(an.frames); i++ {
		if an.frames[i] <= an.frames[i-1] {
			t.Errorf("frame times go back across the cut: %v", an.frames)
			break
		}
	}
	// Two broadcasts of 3 s at 2 frames a second, and the gap filled by
	// the decoder: the frames that come out in a burst after the cut may
	// be dropped for the newest (the drop policy).
	if n := len(an.frames); n < 4 || an.frames[n-1] < 4 || s.Frames+s.Dropped < 10 {
		t.Errorf("%d frames analysed (last at %v s) and %d dropped; want at least 10 decoded, the last analysed past 4 s", n, an.frames[max(0, n-1):], s.Dropped)
	}
	if recorded.Duration < 5 {
		t.Errorf("recording of %.1f s, want both broadcasts (6 s and the gap)", recorded.Duration)
	}
}

// TestNetSilentSource checks that an RTMP source that accepts the
// connection and then says nothing ends its connection on the read
// timeout and goes through the reconnect policy.
func TestNetSilentSource(t *testing.T) {
	testenv.NeedFFmpegProtocols(t, "rtmp")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var open []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
	})
	var retries []string
	p := &netPuller{url: fmt.Sprintf("rtmp://%s/live/key", ln.Addr()), fetcher: fetch.New(fetch.Config{AllowPrivate: true}), media: media.Default,
		timeout: time.Second, backoff: Backoff{Base: 50 * time.Millisecond, Attempts: 2},
		onRetry: func(_ int, _ time.Duration, err error) { retries = append(retries, err.Error()) }}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = p.run(ctx, io.Discard)
	if err == nil || ctx.Err() != nil || len(retries) != 1 {
		t.Fatalf("err = %v after retries %q, want the source to fail twice", err, retries)
	}
	t.Logf("%v", err)
}
