package player

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

// browser starts a fresh headless Chromium and returns a tab context.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 1400),
	)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// Start the browser on this long-lived context: the first action's
	// context owns the browser, and later actions run with timeouts.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	return ctx
}

// pageErrors collects uncaught exceptions of the tab.
type pageErrors struct {
	mu   sync.Mutex
	msgs []string
}

func watchErrors(ctx context.Context) *pageErrors {
	pe := &pageErrors{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() {
				pe.mu.Lock()
				pe.msgs = append(pe.msgs, m.String())
				pe.mu.Unlock()
			}
		}
	}()
	return pe
}

func (pe *pageErrors) check(t *testing.T) {
	t.Helper()
	pe.mu.Lock()
	defer pe.mu.Unlock()
	for _, m := range pe.msgs {
		t.Errorf("page exception: %s", m)
	}
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", js, err)
	}
	return v
}

// waitJS polls a boolean expression.
func waitJS(t *testing.T, ctx context.Context, what, js string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if eval[bool](t, ctx, js) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const shadow = `document.querySelector('vitrine-player').shadowRoot`

const readyJS = `(() => { const p = document.querySelector('vitrine-player');
 return !!p && p.ready === true && p.shadowRoot.querySelector('video').readyState >= 2; })()`

type rect struct{ X, Y, W, H float64 }

func (r rect) cx() float64 { return r.X + r.W/2 }
func (r rect) cy() float64 { return r.Y + r.H/2 }

type spot struct {
	Item, Product, Label string
	Rect                 rect
	ChipShown            bool
}

// playerState is what the test reads back from the page.
type playerState struct {
	T, Duration   float64
	Paused, Ready bool
	VW, VH        float64
	Video         rect
	Spots         []spot
	Markers       []struct {
		Item string
		Left float64
	}
	Tray []struct{ Product, Text string }
	Card struct {
		Open                      bool
		Product, Title, Text, Buy string
		Alts                      []string
		Rect                      rect
	}
	Live, Active string
	RootPaused   bool
	PageScrollW  float64
	Notice       string
}

const stateJS = `(() => {
 const r = ` + shadow + `, v = r.querySelector('video');
 const box = (e) => { const b = e.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; };
 const card = r.querySelector('.card');
 const stage = r.querySelector('.stage').getBoundingClientRect();
 return {
  T: v.currentTime, Duration: v.duration, Paused: v.paused, VW: v.videoWidth, VH: v.videoHeight, Video: box(v),
  Spots: [...r.querySelectorAll('.hotspot')].map(s => ({Item: s.dataset.item, Product: s.dataset.product, Label: s.getAttribute('aria-label'), Rect: box(s),
    ChipShown: [...r.querySelectorAll('.chip')].some(c => c.dataset.item === s.dataset.item && getComputedStyle(c).display !== 'none')})),
  Markers: [...r.querySelectorAll('.marker')].map(m => ({Item: m.dataset.item, Left: (m.getBoundingClientRect().x + 2 - r.querySelector('.markers').getBoundingClientRect().x) / r.querySelector('.markers').getBoundingClientRect().width * 100})),
  Tray: [...r.querySelectorAll('.tray li button')].map(b => ({Product: b.dataset.product, Text: b.textContent})),
  Card: {Open: card.classList.contains('open'), Product: card.dataset.product || '', Title: (card.querySelector('h2') || {}).textContent || '',
    Text: card.textContent, Buy: (card.querySelector('a.buy') || {}).href || '', Alts: [...card.querySelectorAll('.alt')].map(a => a.dataset.product), Rect: box(card)},
  Live: r.querySelector('[aria-live]').textContent, Active: (r.activeElement && r.activeElement.dataset.item) || '',
  RootPaused: r.querySelector('.root').classList.contains('paused'), PageScrollW: document.documentElement.scrollWidth,
  Notice: r.querySelector('.notice').textContent,
 }; })()`

func state(t *testing.T, ctx context.Context) playerState {
	t.Helper()
	return eval[playerState](t, ctx, stateJS)
}

func seek(t *testing.T, ctx context.Context, sec float64) {
	t.Helper()
	eval[float64](t, ctx, fmt.Sprintf(`(async () => { const v = `+shadow+`.querySelector('video');
	  const p = new Promise(r => v.addEventListener('seeked', r, {once: true})); v.currentTime = %g; await p;
	  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))); return v.currentTime; })()`, sec))
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(artifactsDir(t), name)
	if err := os.WriteFile(p, png, 0o640); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

// expectedCentre is where an item's hotspot belongs at time sec: the centre
// of its box, interpolated between samples, inside the picture area of the
// letterboxed video element. It is computed here independently of the
// player's code.
func expectedCentre(it shoppable.Item, sec float64, st playerState) (float64, float64) {
	b := it.Boxes
	var x, y, w, h float64
	switch {
	case sec <= b[0].T:
		x, y, w, h = b[0].X, b[0].Y, b[0].W, b[0].H
	case sec >= b[len(b)-1].T:
		l := b[len(b)-1]
		x, y, w, h = l.X, l.Y, l.W, l.H
	default:
		for i := 1; i < len(b); i++ {
			if sec <= b[i].T {
				f := (sec - b[i-1].T) / (b[i].T - b[i-1].T)
				lerp := func(a, c float64) float64 { return a + (c-a)*f }
				x, y, w, h = lerp(b[i-1].X, b[i].X), lerp(b[i-1].Y, b[i].Y), lerp(b[i-1].W, b[i].W), lerp(b[i-1].H, b[i].H)
				break
			}
		}
	}
	s := math.Min(st.Video.W/st.VW, st.Video.H/st.VH)
	cw, ch := st.VW*s, st.VH*s
	x0, y0 := st.Video.X+(st.Video.W-cw)/2, st.Video.Y+(st.Video.H-ch)/2
	return x0 + (x+w/2)*cw, y0 + (y+h/2)*ch
}

// visibleItems lists the items a viewer can shop at time sec.
func visibleItems(doc *shoppable.Document, sec float64) map[string]shoppable.Item {
	out := map[string]shoppable.Item{}
	for _, it := range doc.Items {
		if it.Review == shoppable.ReviewRejected || len(it.Boxes) == 0 || (it.ProductID == "" && len(it.Matches) == 0) {
			continue
		}
		if sec >= it.StartS && sec <= it.EndS {
			out[it.ID] = it
		}
	}
	return out
}

// checkHotspots compares the hotspots on screen with the document.
func checkHotspots(t *testing.T, doc *shoppable.Document, st playerState, tol float64) {
	t.Helper()
	want := visibleItems(doc, st.T)
	if len(st.Spots) != len(want) {
		t.Errorf("at %.2fs: %d hotspots %v, want %d", st.T, len(st.Spots), st.Spots, len(want))
	}
	for _, sp := range st.Spots {
		it, ok := want[sp.Item]
		if !ok {
			t.Errorf("at %.2fs: hotspot for item %s, which is not on screen", st.T, sp.Item)
			continue
		}
		ex, ey := expectedCentre(it, st.T, st)
		if d := math.Hypot(sp.Rect.cx()-ex, sp.Rect.cy()-ey); d > tol {
			t.Errorf("at %.2fs: hotspot %s at (%.1f, %.1f), want (%.1f, %.1f): %.1f px off", st.T, sp.Item, sp.Rect.cx(), sp.Rect.cy(), ex, ey, d)
		}
		wantProduct := it.ProductID
		if wantProduct == "" {
			wantProduct = it.Matches[0].ProductID
		}
		if sp.Product != wantProduct {
			t.Errorf("hotspot %s sells %s, want %s", sp.Item, sp.Product, wantProduct)
		}
	}
}

func click(t *testing.T, ctx context.Context, x, y float64) {
	t.Helper()
	do(t, ctx, chromedp.MouseClickXY(x, y))
}

func loadDoc(t *testing.T, b []byte) *shoppable.Document {
	t.Helper()
	var doc shoppable.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

func TestPlayerInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	s := newStack(t, nil)
	raw, err := os.ReadFile("testdata/turntable.shoppable.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := loadDoc(t, raw)
	id := s.addVideo(t, raw, "videoavatars_person_turntable.mp4")
	s.shop.SetStock("16820", 0) // the jeans sold out
	tee, _ := s.shop.Item("16647")
	jeans, _ := s.shop.Item("16820")

	ctx := browser(t)
	errs := watchErrors(ctx)
	do(t, ctx, chromedp.Navigate(s.srv.URL+"/demo/"+id))
	waitJS(t, ctx, "player ready", readyJS, 30*time.Second)
	playerTests(t, ctx, s, doc, tee.Name, jeans.Name)
	errs.check(t)
}

// playerTests runs the checks shared by the fixture and the end-to-end test.
func playerTests(t *testing.T, ctx context.Context, s *stack, doc *shoppable.Document, teeTitle, jeansTitle string) {
	st := state(t, ctx)
	t.Run("markers", func(t *testing.T) {
		want := map[string]float64{}
		for _, it := range visibleItemsAll(doc) {
			want[it.ID] = it.StartS / st.Duration * 100
		}
		if len(st.Markers) == 0 || len(st.Markers) > len(want) {
			t.Fatalf("%d seek-bar markers, want 1..%d", len(st.Markers), len(want))
		}
		for _, m := range st.Markers {
			w, ok := want[m.Item]
			if !ok || math.Abs(m.Left-w) > 1 {
				t.Errorf("marker for %s at %.1f%%, want %.1f%%", m.Item, m.Left, w)
			}
		}
	})

	t.Run("hotspots follow boxes", func(t *testing.T) {
		for _, sec := range []float64{1.0, 3.0, 5.0, 7.9} {
			seek(t, ctx, sec)
			checkHotspots(t, doc, state(t, ctx), 3)
		}
		screenshot(t, ctx, "hotspots-7.9s.png")
	})

	seek(t, ctx, 5.0)
	st = state(t, ctx)
	t.Run("tray lists the shot's products", func(t *testing.T) {
		got := map[string]string{}
		for _, b := range st.Tray {
			got[b.Product] = b.Text
		}
		if !strings.Contains(got["16647"], teeTitle) || !strings.Contains(got["16820"], jeansTitle) {
			t.Errorf("tray %+v, want the T-shirt and the jeans with their shop titles", st.Tray)
		}
	})

	t.Run("play, track, pause to shop", func(t *testing.T) {
		play := eval[rect](t, ctx, `(() => { const e = `+shadow+`.querySelector('.bar .play'); e.scrollIntoView({block: 'center'});
		  const b = e.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; })()`)
		click(t, ctx, play.cx(), play.cy())
		waitJS(t, ctx, "playback past 5.8s", `(() => { const v = `+shadow+`.querySelector('video'); return !v.paused && v.currentTime > 5.8; })()`, 20*time.Second)
		// While playing, hotspots keep up with the boxes (a frame or two of lag).
		checkHotspots(t, doc, state(t, ctx), 8)
		waitJS(t, ctx, "playback past 6.4s", `(() => `+shadow+`.querySelector('video').currentTime > 6.4)()`, 20*time.Second)
		click(t, ctx, play.cx(), play.cy())
		waitJS(t, ctx, "paused", `(() => `+shadow+`.querySelector('.root').classList.contains('paused'))()`, 5*time.Second)
		st := state(t, ctx)
		if !st.RootPaused || len(st.Spots) == 0 {
			t.Fatalf("paused state %+v", st)
		}
		for _, sp := range st.Spots {
			if !sp.ChipShown {
				t.Errorf("paused: item %s has no label chip", sp.Item)
			}
		}
		if !strings.Contains(st.Live, "to shop in this frame") {
			t.Errorf("live region %q, want the pause-to-shop announcement", st.Live)
		}
		checkHotspots(t, doc, st, 3)
		screenshot(t, ctx, "paused-to-shop.png")
	})

	t.Run("click opens the product card", func(t *testing.T) {
		st := state(t, ctx)
		var sp *spot
		for i := range st.Spots {
			if st.Spots[i].Product == "16647" {
				sp = &st.Spots[i]
			}
		}
		if sp == nil {
			t.Fatalf("no hotspot for the T-shirt at %.2fs", st.T)
		}
		click(t, ctx, sp.Rect.cx(), sp.Rect.cy())
		st = state(t, ctx)
		c := st.Card
		if !c.Open || c.Product != "16647" || c.Title != teeTitle {
			t.Fatalf("card %+v, want the T-shirt's", c)
		}
		if !strings.Contains(c.Text, "₹") || !strings.Contains(c.Text, "In stock") || c.Buy != s.shop.URL+"/p/16647" {
			t.Errorf("card text %q buy %q: want a rupee price, in stock and the shop's link", c.Text, c.Buy)
		}
		screenshot(t, ctx, "card.png")
		do(t, ctx, chromedp.KeyEvent(kb.Escape))
		st = state(t, ctx)
		if st.Card.Open || st.Active != sp.Item {
			t.Errorf("after Escape: card open %v, focus on %q; want closed and focus back on hotspot %s", st.Card.Open, st.Active, sp.Item)
		}
	})

	t.Run("keyboard: tab to a hotspot, enter opens, escape closes", func(t *testing.T) {
		// Focus is on the T-shirt hotspot; Tab moves to the next one.
		do(t, ctx, chromedp.KeyEvent(kb.Tab))
		st := state(t, ctx)
		if st.Active == "" {
			t.Fatalf("Tab from a hotspot left the hotspots (focus %q)", st.Active)
		}
		do(t, ctx, chromedp.KeyEvent(kb.Enter))
		st = state(t, ctx)
		if !st.Card.Open {
			t.Fatal("Enter on a focused hotspot did not open its card")
		}
		if st.Card.Product == "16820" {
			if !strings.Contains(st.Card.Text, "Out of stock") || st.Card.Buy != "" {
				t.Errorf("sold-out jeans card %q (buy %q): want 'Out of stock' and no buy link", st.Card.Text, st.Card.Buy)
			}
			screenshot(t, ctx, "card-out-of-stock.png")
		}
		do(t, ctx, chromedp.KeyEvent(kb.Escape))
		if state(t, ctx).Card.Open {
			t.Error("Escape did not close the card")
		}
	})

	t.Run("analytics events arrive", func(t *testing.T) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			rep, err := s.events.VideoReport(context.Background(), doc.Video.ID, analytics.LastDays(time.Now(), 1))
			if err != nil {
				t.Fatal(err)
			}
			byProduct := map[string]analytics.Row{}
			for _, r := range rep.Rows {
				byProduct[r.ID] = r
			}
			if byProduct["16647"].Impressions >= 1 && byProduct["16820"].Impressions >= 1 && byProduct["16647"].Clicks >= 1 && rep.Total.Clicks >= 2 {
				recent, err := s.events.Recent(context.Background(), doc.Video.ID, 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range recent {
					if r.Origin != s.srv.URL || r.KeyID != s.key || r.Session == "" {
						t.Errorf("event %+v: want origin %s, the demo key and a session", r, s.srv.URL)
					}
				}
				t.Logf("analytics: %+v", rep.Rows)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("events did not arrive: report %+v", rep)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

// visibleItemsAll lists the shoppable items of the document.
func visibleItemsAll(doc *shoppable.Document) []shoppable.Item {
	var out []shoppable.Item
	for _, it := range doc.Items {
		if it.Review != shoppable.ReviewRejected && len(it.Boxes) > 0 && (it.ProductID != "" || len(it.Matches) > 0) {
			out = append(out, it)
		}
	}
	return out
}

// TestPlayerNarrowLayout checks the 360 px vertical layout: the card becomes
// a bottom sheet and nothing overflows the page.
func TestPlayerNarrowLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	s := newStack(t, nil)
	raw, err := os.ReadFile("testdata/turntable.shoppable.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := loadDoc(t, raw)
	id := s.addVideo(t, raw, "videoavatars_person_turntable.mp4")
	ctx := browser(t)
	errs := watchErrors(ctx)
	do(t, ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		chromedp.Navigate(s.srv.URL+"/demo/"+id))
	waitJS(t, ctx, "player ready", readyJS, 30*time.Second)
	seek(t, ctx, 4)
	st := state(t, ctx)
	checkHotspots(t, doc, st, 3)
	if st.PageScrollW > 360 {
		t.Errorf("page is %.0f px wide in a 360 px viewport", st.PageScrollW)
	}
	sp := st.Spots[0]
	click(t, ctx, sp.Rect.cx(), sp.Rect.cy())
	st = state(t, ctx)
	if !st.Card.Open {
		t.Fatal("tap on a hotspot did not open the card")
	}
	// Bottom sheet: as wide as the video, flush with its bottom edge.
	if math.Abs(st.Card.Rect.W-st.Video.W) > 2 || math.Abs((st.Card.Rect.Y+st.Card.Rect.H)-(st.Video.Y+st.Video.H)) > 2 {
		t.Errorf("card %+v in video %+v: want a bottom sheet", st.Card.Rect, st.Video)
	}
	screenshot(t, ctx, "narrow-360.png")
	errs.check(t)
}

// TestPlayerOnAnotherSite embeds the player with one script tag in a page
// served from a different origin: allowed with a key for that origin,
// refused without.
func TestPlayerOnAnotherSite(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	s := newStack(t, nil)
	raw, err := os.ReadFile("testdata/turntable.shoppable.json")
	if err != nil {
		t.Fatal(err)
	}
	id := s.addVideo(t, raw, "videoavatars_person_turntable.mp4")
	var siteKey string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := siteKey
		if r.URL.Path == "/unlisted" {
			key = s.key // a key valid only for the vitrine origin
		}
		fmt.Fprintf(w, `<!doctype html><meta charset="utf-8"><title>blog</title><h1>Our look of the week</h1>
<script type="module" src="%[1]s/player/vitrine-player.js"></script>
<vitrine-player src="%[1]s/media/videoavatars_person_turntable.mp4" video="%[2]s" key="%[3]s" style="max-width:480px"></vitrine-player>`, s.srv.URL, id, key)
	}))
	defer site.Close()
	keys := commerceKeys(t, s)
	pk, err := keys.Create(context.Background(), "blog", []string{site.URL})
	if err != nil {
		t.Fatal(err)
	}
	siteKey = pk.Key

	ctx := browser(t)
	errs := watchErrors(ctx)
	do(t, ctx, chromedp.Navigate(site.URL+"/"))
	waitJS(t, ctx, "player ready on the other site", readyJS, 30*time.Second)
	seek(t, ctx, 5)
	if st := state(t, ctx); len(st.Spots) != 2 {
		t.Errorf("cross-origin player shows %d hotspots at 5s, want 2", len(st.Spots))
	}
	screenshot(t, ctx, "other-site.png")
	errs.check(t)

	do(t, ctx, chromedp.Navigate(site.URL+"/unlisted"))
	waitJS(t, ctx, "refusal notice", `(() => { const p = document.querySelector('vitrine-player');
	  return !!p && !!p.shadowRoot && p.shadowRoot.querySelector('.notice').textContent.includes('403 (origin'); })()`, 30*time.Second)
}
