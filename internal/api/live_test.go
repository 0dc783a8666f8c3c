package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/fetch"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/live"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/video"
	"github.com/vitrine-dev/vitrine/web/player/playertest"
)

// announcer stands in for the model-backed analysis (internal/live's
// end-to-end test runs that): it announces one product on the second
// frame and keeps updating it.
type announcer struct {
	product string
	n       int
}

func (a *announcer) DetectSize() int { return 160 }

func (a *announcer) Frame(_ context.Context, _ *image.RGBA, t float64) ([]video.LiveEvent, error) {
	a.n++
	it := video.LiveItem{ID: "t1", ProductID: a.product, Confidence: 0.9, T: t, Box: &shoppable.Box{T: t, X: 0.2, Y: 0.2, W: 0.3, H: 0.3}}
	switch {
	case a.n == 2:
		return []video.LiveEvent{{Type: video.LiveItemStart, Item: it}}, nil
	case a.n > 2:
		return []video.LiveEvent{{Type: video.LiveItemUpdate, Item: it}}, nil
	}
	return nil, nil
}

func (a *announcer) Close(t float64) []video.LiveEvent {
	if a.n < 2 {
		return nil
	}
	return []video.LiveEvent{{Type: video.LiveItemEnd, Item: video.LiveItem{ID: "t1", ProductID: a.product, T: t}}}
}

// TestLiveRoutes starts a stream over the API (ingest keys for HLS URLs,
// admin keys for local files), follows its events on the public path under
// the publishable key's origin rules with the product's details, and reads
// and stops it.
// liveEnv is a server with a live manager whose analysis announces
// tee-red, a catalog holding it and a publishable key for site.
type liveEnv struct {
	*shopEnv
	admin, ingest, read, pk, clip string
}

const liveSite = "https://shop.example"

func newLiveEnv(t *testing.T, site string, opts ...func(*live.Config)) *liveEnv {
	t.Helper()
	testenv.NeedFFmpeg(t)
	ctx := context.Background()
	dir := t.TempDir()
	le := &liveEnv{clip: filepath.Join(dir, "clip.mp4")}
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=30", "-pix_fmt", "yuv420p", le.clip)
	cfg := testConfig(t, dir, nil)
	db := testDB(t, dir)
	bs := testBlobs(t, dir)
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 0})
	if err != nil {
		t.Fatal(err)
	}
	keys := apikey.New(db)
	le.admin, _, _ = keys.Create(ctx, apikey.ScopeAdmin, "admin")
	le.ingest, _, _ = keys.Create(ctx, apikey.ScopeIngest, "ingest")
	le.read, _, _ = keys.Create(ctx, apikey.ScopeRead, "read")
	price := 12.0
	if _, err := catalog.NewStore(db).Upsert(ctx, catalog.Product{ID: "tee-red", Title: "Red tee", Category: "Tshirts", Price: &price, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	lcfg := live.Config{DB: db, NewAnalyzer: func(context.Context) (live.Analyzer, error) { return &announcer{product: "tee-red"}, nil }}
	for _, o := range opts {
		o(&lcfg)
	}
	lm, err := live.New(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	// As serve does: Run keeps the streams' counters and heartbeats.
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); lm.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })
	s, err := New(Deps{Config: cfg, DB: db, Blob: bs, Runner: r, Keys: keys, Catalog: catalog.NewService(db, bs, nil, nil, nil), Live: lm})
	if err != nil {
		t.Fatal(err)
	}
	le.shopEnv = &shopEnv{handler: s.Handler(), db: db}
	le.srv = httptest.NewServer(le.handler)
	t.Cleanup(le.srv.Close)
	st, _, raw := le.req(t, "POST", "/v1/publishable-keys", le.admin, "", `{"name":"shop","origins":["`+site+`"]}`)
	var pk struct{ Key string }
	if st != 201 || json.Unmarshal(raw, &pk) != nil {
		t.Fatalf("publishable key: %d %s", st, raw)
	}
	le.pk = pk.Key
	return le
}

// start starts a stream of the clip.
func (le *liveEnv) start(t *testing.T) live.Stream {
	t.Helper()
	st, _, raw := le.req(t, "POST", "/v1/live", le.admin, "", `{"source":"`+le.clip+`","name":"show"}`)
	var ls live.Stream
	if st != 201 || json.Unmarshal(raw, &ls) != nil || ls.State != live.StateRunning {
		t.Fatalf("start: %d %s", st, raw)
	}
	return ls
}

func TestLiveRoutes(t *testing.T) {
	le := newLiveEnv(t, liveSite)
	e, admin, ingest, read, clip := le, le.admin, le.ingest, le.read, le.clip
	ctx := context.Background()
	const site = liveSite
	pk := struct{ Key string }{le.pk}
	body := func(src string) string {
		b, _ := json.Marshal(map[string]string{"source": src, "name": "show"})
		return string(b)
	}
	for _, tc := range []struct {
		name, key, body string
		want            int
	}{
		{"read key", read, body("https://cdn.example/live.m3u8"), 403},
		{"unsupported scheme", ingest, body("rtsp://cdn.example/live"), 400},
		{"rtmp without a stream", ingest, body("rtmp://cdn.example/live"), 400},
		{"srt listener", ingest, body("srt://0.0.0.0:9000?mode=listener"), 400},
		{"loopback rtmp", ingest, body("rtmp://127.0.0.1/live/key"), 400},
		{"private srt", ingest, body("srt://10.0.0.7:9000?streamid=show"), 400},
		{"relative file", admin, body("clip.mp4"), 400},
		{"file with an ingest key", ingest, body(clip), 403},
		{"no source", ingest, `{}`, 400},
	} {
		if st, _, raw := e.req(t, "POST", "/v1/live", tc.key, "", tc.body); st != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, st, raw, tc.want)
		}
	}
	ls := le.start(t)
	events := "/public/v1/live/" + ls.ID + "/events"
	if st, _, _ := e.req(t, "GET", events+"?key="+pk.Key, "", "https://evil.example", ""); st != 403 {
		t.Errorf("other origin: %d, want 403", st)
	}
	if st, _, _ := e.req(t, "GET", events, "", site, ""); st != 401 {
		t.Errorf("no publishable key: %d, want 401", st)
	}
	if st, _, _ := e.req(t, "GET", "/public/v1/live/ls_none/events?key="+pk.Key, "", site, ""); st != 404 {
		t.Errorf("unknown stream: %d, want 404", st)
	}
	// A viewer follows the stream until the product shows.
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, "GET", e.srv.URL+events+"?key="+pk.Key, nil)
	req.Header.Set("Origin", site)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Access-Control-Allow-Origin") != site {
		t.Fatalf("events: %d %v", resp.StatusCode, resp.Header)
	}
	sc := bufio.NewScanner(resp.Body)
	var start struct {
		Type    string
		Item    video.LiveItem
		Product struct {
			ID, Title string
			Price     float64
		}
	}
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if err := json.Unmarshal([]byte(line), &start); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if start.Type != video.LiveItemStart || start.Item.ProductID != "tee-red" || start.Product.Title != "Red tee" || start.Product.Price != 12 {
		t.Fatalf("first event %+v", start)
	}
	// The status shows the item; the stream is listed and stops.
	st, _, raw := e.req(t, "GET", "/v1/live/"+ls.ID, read, "", "")
	var status struct{ Items []live.Item }
	if st != 200 || json.Unmarshal(raw, &status) != nil || len(status.Items) != 1 || status.Items[0].ProductID != "tee-red" {
		t.Errorf("status: %d %s", st, raw)
	}
	if st, _, raw := e.req(t, "GET", "/v1/live", read, "", ""); st != 200 || !strings.Contains(string(raw), ls.ID) {
		t.Errorf("list: %d %s", st, raw)
	}
	if st, _, _ := e.req(t, "POST", "/v1/live/"+ls.ID+"/stop", read, "", ""); st != 403 {
		t.Errorf("stop with a read key: %d, want 403", st)
	}
	st, _, raw = e.req(t, "POST", "/v1/live/"+ls.ID+"/stop", ingest, "", "")
	if st != 200 || json.Unmarshal(raw, &ls) != nil || ls.State != live.StateStopped {
		t.Errorf("stop: %d %s", st, raw)
	}
	// The viewer gets the item's end and the stream's.
	var rest []string
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			rest = append(rest, ev)
		}
	}
	if n := len(rest); n < 2 || rest[n-2] != video.LiveItemEnd || rest[n-1] != live.StreamEnd {
		t.Errorf("events after the stop end with %v, want %s, %s", rest[max(0, len(rest)-3):], video.LiveItemEnd, live.StreamEnd)
	}
}

// TestLivePlayerHotspot opens a shop page with the player in live mode in
// Chromium, playing the stream from a loopback HLS broadcaster: the
// stream plays through the hls.js vitrine serves (or is handed to the
// browser's own HLS when it lacks Media Source Extensions, as iPhones
// before iOS 17.1 do), the announced product's hotspot appears where its
// box is, with its title and price, and goes when the stream stops.
func TestLivePlayerHotspot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		native bool
	}{{"hls.js", false}, {"native HLS without Media Source Extensions", true}} {
		t.Run(tc.name, func(t *testing.T) {
			site := httptest.NewServer(nil) // its URL is the page's origin
			defer site.Close()
			le := newLiveEnv(t, site.URL)
			playback := broadcastHLS(t, le.clip)
			ls := le.start(t)
			site.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(w, `<!doctype html><html><body style="margin:0">
<script type="module" src="%[1]s/player/vitrine-player.js"></script>
<vitrine-player api="%[1]s" key="%[2]s" live="%[3]s" src="%[4]s" muted autoplay style="display:block;width:640px"></vitrine-player>
</body></html>`, le.srv.URL, le.pk, ls.ID, playback)
			})
			ctx := playertest.Browser(t)
			if tc.native {
				// A browser without Media Source Extensions.
				playertest.Do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
						Source: `delete window.MediaSource; delete window.ManagedMediaSource;`})
					return err
				}))
			}
			errs := playertest.WatchErrors(ctx)
			playertest.Do(t, ctx, chromedp.Navigate(site.URL+"/"))
			video := playertest.Shadow + `.querySelector('video')`
			if tc.native {
				// Chromium's own HLS failed to parse this stream
				// (DEMUXER_ERROR_COULD_NOT_PARSE), so only the hand-over is
				// checked.
				playertest.WaitJS(t, ctx, "the playlist handed to the video", video+`.src === `+strconv.Quote(playback), 10*time.Second)
			} else {
				playertest.WaitJS(t, ctx, "the stream to play", video+`.currentTime > 1`, 30*time.Second)
			}
			usedJS := playertest.Eval[bool](t, ctx, `performance.getEntriesByType('resource').some((e) => e.name.endsWith('/player/vendor/hls.light.min.mjs'))`)
			if usedJS == tc.native {
				t.Errorf("hls.js loaded: %v, want %v", usedJS, !tc.native)
			}
			if !tc.native {
				// Seconds behind the newest segment, for events to show
				// with their frames (live-delay, default 4).
				if d := playertest.Eval[float64](t, ctx, `document.querySelector('vitrine-player')._hls.config.liveSyncDuration`); d != 4 {
					t.Errorf("the live stream plays %v s behind its newest segment, want 4", d)
				}
			}
			spot := playertest.Shadow + `.querySelector('.hotspot[data-product="tee-red"]')`
			playertest.WaitJS(t, ctx, "the live hotspot", `!!(`+spot+`)`, 20*time.Second)
			// The dot sits at the centre of the announced box (0.2+0.3/2 of
			// the picture in each direction).
			got := playertest.Eval[map[string]float64](t, ctx, `(() => { const s = `+spot+`.getBoundingClientRect();
  const l = `+playertest.Shadow+`.querySelector('.layer').getBoundingClientRect();
  return {x: (s.left + s.width/2 - l.left) / l.width, y: (s.top + s.height/2 - l.top) / l.height}; })()`)
			if math.Abs(got["x"]-0.35) > 0.02 || math.Abs(got["y"]-0.35) > 0.02 {
				t.Errorf("hotspot at %.3f, %.3f of the picture, want 0.35, 0.35", got["x"], got["y"])
			}
			label := playertest.Eval[string](t, ctx, spot+`.getAttribute('aria-label')`)
			if !strings.Contains(label, "Red tee") || !strings.Contains(label, "12") {
				t.Errorf("hotspot label %q, want the product's title and price", label)
			}
			if st, _, raw := le.req(t, "POST", "/v1/live/"+ls.ID+"/stop", le.ingest, "", ""); st != 200 {
				t.Fatalf("stop: %d %s", st, raw)
			}
			playertest.WaitJS(t, ctx, "the hotspot to go", `!(`+spot+`)`, 10*time.Second)
			errs.Check(t)
		})
	}
}

// TestLivePlayerWaitsForFrame follows, in Chromium, a stream that vitrine
// analyses from the HLS playlist the player plays: an announcement carries
// its frame's PTS, so while the video stays paused at its start the
// hotspot waits, and it shows once playback reaches that frame.
func TestLivePlayerWaitsForFrame(t *testing.T) {
	site := httptest.NewServer(nil)
	defer site.Close()
	le := newLiveEnv(t, site.URL, func(c *live.Config) { c.Fetcher = fetch.New(fetch.Config{AllowPrivate: true}) })
	playback := broadcastHLS(t, le.clip)
	st, _, raw := le.req(t, "POST", "/v1/live", le.ingest, "", `{"source":"`+playback+`","name":"show"}`)
	var ls live.Stream
	if st != 201 || json.Unmarshal(raw, &ls) != nil {
		t.Fatalf("start: %d %s", st, raw)
	}
	site.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><body style="margin:0">
<script type="module" src="%[1]s/player/vitrine-player.js"></script>
<vitrine-player api="%[1]s" key="%[2]s" live="%[3]s" src="%[4]s" muted style="display:block;width:640px"></vitrine-player>
</body></html>`, le.srv.URL, le.pk, ls.ID, playback)
	})
	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	playertest.Do(t, ctx, chromedp.Navigate(site.URL+"/"))
	player := `document.querySelector('vitrine-player')`
	video := playertest.Shadow + `.querySelector('video')`
	spot := playertest.Shadow + `.querySelector('.hotspot[data-product="tee-red"]')`
	playertest.WaitJS(t, ctx, "the announcement, waiting", player+`._pending && `+player+`._pending.length > 0`, 20*time.Second)
	time.Sleep(300 * time.Millisecond) // a few animation frames
	if playertest.Eval[bool](t, ctx, `!!(`+spot+`)`) {
		t.Fatalf("the hotspot shows while the video is paused at %.2f s, before its frame", playertest.Eval[float64](t, ctx, video+`.currentTime`))
	}
	playertest.Eval[bool](t, ctx, `(`+video+`.play(), true)`)
	playertest.WaitJS(t, ctx, "the live hotspot with its frame", `!!(`+spot+`)`, 20*time.Second)
	if ct := playertest.Eval[float64](t, ctx, video+`.currentTime`); ct < 0.3 {
		t.Errorf("the hotspot shows at %.2f s of the video, before the second frame it was announced on", ct)
	}
	errs.Check(t)
}

// broadcastHLS broadcasts the video at path in real time as a live HLS
// stream (1 s segments) on a loopback server that allows every origin, as
// a stream's CDN does, and returns its playlist URL once the first segment
// is out.
func broadcastHLS(t *testing.T, path string) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", path,
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-an",
		"-f", "hls", "-hls_time", "1", "-hls_list_size", "6", "-hls_flags", "delete_segments", filepath.Join(dir, "index.m3u8"))
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start the broadcaster: %v", err)
	}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); cancel(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(filepath.Join(dir, "index.m3u8")); err == nil {
			return srv.URL + "/index.m3u8"
		}
		if i == 200 {
			t.Fatal("the broadcaster wrote no playlist in 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLiveConsole signs in to the console in Chromium and follows a live
// stream on its Live page: running with its item, then stopped.
func TestLiveConsole(t *testing.T) {
	le := newLiveEnv(t, liveSite)
	ls := le.start(t)
	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	playertest.Do(t, ctx, chromedp.Navigate(le.srv.URL+"/console/"))
	playertest.WaitJS(t, ctx, "the login form", `!!document.getElementById('login-key')`, 20*time.Second)
	playertest.Do(t, ctx, chromedp.SendKeys("#login-key", le.admin), chromedp.Click(`#login-form button[type=submit]`))
	playertest.WaitJS(t, ctx, "the dashboard", `!document.getElementById('nav').hidden`, 20*time.Second)
	playertest.Do(t, ctx, chromedp.Click(`#nav a[data-nav="live"]`))
	row := `document.querySelector('tr.live-stream[data-stream="` + ls.ID + `"]')`
	playertest.WaitJS(t, ctx, "the stream running with its item", `!!`+row+` && `+row+`.textContent.includes('running') && `+row+`.querySelector('.live-items').textContent === '1'`, 20*time.Second)
	playertest.Do(t, ctx, chromedp.Navigate(le.srv.URL+"/console/#/live/"+ls.ID))
	playertest.WaitJS(t, ctx, "the stream's items", `!!document.querySelector('#live-items tr.live-item[data-product="tee-red"]')`, 20*time.Second)
	playertest.Do(t, ctx, chromedp.Click(row[len("document.querySelector('"):len(row)-2]+` .live-stop`))
	playertest.WaitJS(t, ctx, "the stream stopped", row+`.textContent.includes('stopped') && !`+row+`.querySelector('.live-stop')`, 20*time.Second)
	if left := playertest.Eval[string](t, ctx, `document.querySelector('#live-items tr.live-item td:last-child').textContent`); left == "on screen" {
		t.Errorf("a stopped stream's item is still on screen")
	}
	errs.Check(t)
}
