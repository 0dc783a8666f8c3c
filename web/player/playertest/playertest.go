// Package playertest drives the <vitrine-player> element in a real headless
// Chromium (chromedp) for tests: it starts the browser, reads the player's
// state out of its shadow DOM, and checks hotspots against a shoppable
// document with an implementation of box interpolation independent of the
// player's own.
package playertest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// Browser starts a fresh headless Chromium and returns a tab context.
func Browser(t *testing.T) context.Context {
	t.Helper()
	exe := testenv.Chromium(t)
	// Chromium keeps its singleton socket in a directory of TMPDIR that it
	// leaves behind when it is killed at a test's end. A short path of our
	// own (t.TempDir's can outgrow a socket path's 108 bytes) is removed
	// after the browser.
	tmp, err := os.MkdirTemp("", "chr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
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
		chromedp.Env("TMPDIR="+tmp),
		chromedp.WindowSize(1000, 1400),
	)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// Start the Browser on this long-lived context: the first action's
	// context owns the Browser, and later actions run with timeouts.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	return ctx
}

// PageErrors collects uncaught exceptions of the tab.
type PageErrors struct {
	mu   sync.Mutex
	msgs []string
}

// WatchErrors starts collecting the tab's uncaught exceptions.
func WatchErrors(ctx context.Context) *PageErrors {
	pe := &PageErrors{}
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

// Check fails the test for every exception seen.
func (pe *PageErrors) Check(t *testing.T) {
	t.Helper()
	pe.mu.Lock()
	defer pe.mu.Unlock()
	for _, m := range pe.msgs {
		t.Errorf("page exception: %s", m)
	}
}

// Do runs actions with a timeout.
func Do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// Eval evaluates js (awaiting promises) and decodes the result.
func Eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", js, err)
	}
	return v
}

// WaitJS polls a boolean expression.
func WaitJS(t *testing.T, ctx context.Context, what, js string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		// An evaluation can fail while the page navigates ("Inspected
		// target navigated or closed", "Execution context was destroyed"):
		// the poll goes on and reports the last error if it never holds.
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](js, chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
			}
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Shadow is the player's shadow root.
const Shadow = `document.querySelector('vitrine-player').shadowRoot`

// ReadyJS is true once the player has its document and product details
// and the video can play.
const ReadyJS = `(() => { const p = document.querySelector('vitrine-player');
 return !!p && p.ready === true && p.shadowRoot.querySelector('video').readyState >= 2; })()`

// Rect is a client rectangle in CSS pixels.
type Rect struct{ X, Y, W, H float64 }

// CX is the horizontal centre.
func (r Rect) CX() float64 { return r.X + r.W/2 }

// CY is the vertical centre.
func (r Rect) CY() float64 { return r.Y + r.H/2 }

// MaxHotspots is the player's default cap on hotspots shown at once.
const MaxHotspots = 3

// Chip is a name chip on screen.
type Chip struct {
	Item, Text string
	Rect       Rect
}

// Spot is one hotspot on screen.
type Spot struct {
	Item, Product, Label string
	Rect                 Rect
	ChipShown            bool
}

// State is what the test reads back from the page.
type State struct {
	T, Duration   float64
	Paused, Ready bool
	VW, VH        float64
	Video         Rect
	Spots         []Spot
	Markers       []struct {
		Item string
		Left float64
	}
	Tray []struct{ Product, Text string }
	// Chips are the name chips shown; Picture is the picture's rectangle.
	Chips   []Chip
	Picture Rect
	Card    struct {
		Open                      bool
		Product, Title, Text, Buy string
		// View is the "View product" link of a sold-out product; Cart
		// says the card offers "Add to cart" (a product without a link).
		View string
		Cart bool
		Alts []string
		Rect Rect
	}
	Live, Active string
	RootPaused   bool
	PageScrollW  float64
	Notice       string
	// Clock is the control bar's "elapsed / duration" text; SeekMax is
	// the seek bar's range.
	Clock   string
	SeekMax float64
}

const stateJS = `(() => {
 const r = ` + Shadow + `, v = r.querySelector('video');
 const box = (e) => { const b = e.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; };
 const card = r.querySelector('.card');
 const stage = r.querySelector('.stage').getBoundingClientRect();
 return {
  T: v.currentTime, Duration: v.duration, Paused: v.paused, VW: v.videoWidth, VH: v.videoHeight, Video: box(v),
  Spots: [...r.querySelectorAll('.hotspot')].map(s => ({Item: s.dataset.item, Product: s.dataset.product, Label: s.getAttribute('aria-label'), Rect: box(s),
    ChipShown: [...r.querySelectorAll('.chip')].some(c => c.dataset.item === s.dataset.item && getComputedStyle(c).display !== 'none')})),
  Markers: [...r.querySelectorAll('.marker')].map(m => ({Item: m.dataset.item, Left: (m.getBoundingClientRect().x + 2 - r.querySelector('.markers').getBoundingClientRect().x) / r.querySelector('.markers').getBoundingClientRect().width * 100})),
  Tray: [...r.querySelectorAll('.tray li button')].map(b => ({Product: b.dataset.product, Text: b.textContent})),
  Chips: [...r.querySelectorAll('.chip')].filter(c => getComputedStyle(c).display !== 'none').map(c => ({Item: c.dataset.item, Text: c.textContent, Rect: box(c)})),
  Picture: box(r.querySelector('.layer')),
  Card: {Open: card.classList.contains('open'), Product: card.dataset.product || '', Title: (card.querySelector('h2') || {}).textContent || '',
    Text: card.textContent, Buy: (card.querySelector('a.buy') || {}).href || '', View: (card.querySelector('a.view') || {}).href || '',
    Cart: !!card.querySelector('button.cart'), Alts: [...card.querySelectorAll('.alt')].map(a => a.dataset.product), Rect: box(card)},
  Live: r.querySelector('[aria-live]').textContent, Active: (r.activeElement && r.activeElement.dataset.item) || '',
  RootPaused: r.querySelector('.root').classList.contains('paused'), PageScrollW: document.documentElement.scrollWidth,
  Notice: r.querySelector('.notice').textContent,
  Clock: r.querySelector('.time').textContent, SeekMax: +r.querySelector('.seek input').max,
 }; })()`

// Read returns the player's state.
func Read(t *testing.T, ctx context.Context) State {
	t.Helper()
	return Eval[State](t, ctx, stateJS)
}

// Seek moves the video to sec and waits until the overlay is drawn.
func Seek(t *testing.T, ctx context.Context, sec float64) {
	t.Helper()
	Eval[float64](t, ctx, fmt.Sprintf(`(async () => { const v = `+Shadow+`.querySelector('video');
	  const p = new Promise(r => v.addEventListener('seeked', r, {once: true})); v.currentTime = %g; await p;
	  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))); return v.currentTime; })()`, sec))
}

// Screenshot saves the page as name under ArtifactsDir.
func Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(testenv.ArtifactsDir(t, "player"), name)
	if err := os.WriteFile(p, png, 0o640); err != nil {
		t.Fatal(err)
	}
	t.Logf("Screenshot %s", p)
}

// ExpectedCentre is where an item's hotspot belongs at time sec: the centre
// of its box, interpolated between samples, inside the picture area of the
// letterboxed video element. It is computed here independently of the
// player's code.
func ExpectedCentre(it shoppable.Item, sec float64, st State) (float64, float64) {
	bx := BoxAt(it, sec)
	s := math.Min(st.Video.W/st.VW, st.Video.H/st.VH)
	cw, ch := st.VW*s, st.VH*s
	x0, y0 := st.Video.X+(st.Video.W-cw)/2, st.Video.Y+(st.Video.H-ch)/2
	return x0 + (bx.X+bx.W/2)*cw, y0 + (bx.Y+bx.H/2)*ch
}

// BoxAt interpolates an item's box linearly between its samples, holding
// the first and last samples outside them.
func BoxAt(it shoppable.Item, sec float64) shoppable.Box {
	b := it.Boxes
	if sec <= b[0].T {
		return b[0]
	}
	if sec >= b[len(b)-1].T {
		return b[len(b)-1]
	}
	for i := 1; i < len(b); i++ {
		if sec <= b[i].T {
			f := (sec - b[i-1].T) / (b[i].T - b[i-1].T)
			lerp := func(a, c float64) float64 { return a + (c-a)*f }
			return shoppable.Box{T: sec, X: lerp(b[i-1].X, b[i].X), Y: lerp(b[i-1].Y, b[i].Y), W: lerp(b[i-1].W, b[i].W), H: lerp(b[i-1].H, b[i].H)}
		}
	}
	return b[len(b)-1]
}

// ProductOf is the product an item sells (shoppable.Item.Product).
func ProductOf(it shoppable.Item) string { return it.Product() }

// VisibleItems lists the items a viewer can shop at time sec: shown ones
// (published, not rejected) with a box and a product, the best MaxHotspots.
func VisibleItems(doc *shoppable.Document, sec float64) map[string]shoppable.Item {
	return VisibleItemsCapped(doc, sec, MaxHotspots)
}

// VisibleItemsCapped is VisibleItems with a cap of n hotspots.
func VisibleItemsCapped(doc *shoppable.Document, sec float64, n int) map[string]shoppable.Item {
	var on []shoppable.Item
	for _, it := range doc.Items {
		if !it.Shown() || len(it.Boxes) == 0 || ProductOf(it) == "" {
			continue
		}
		if sec >= it.StartS && sec <= it.EndS {
			on = append(on, it)
		}
	}
	// Two tracks of one product on top of each other (a person and their
	// shirt, both matched to the shirt) get one hotspot: the better match.
	score := func(it shoppable.Item) float64 {
		if it.ProductID != "" {
			return 2
		}
		return it.Matches[0].Score
	}
	sort.SliceStable(on, func(i, j int) bool { return score(on[i]) > score(on[j]) })
	inside := func(a, b shoppable.Box) bool {
		cx, cy := a.X+a.W/2, a.Y+a.H/2
		return cx >= b.X && cx <= b.X+b.W && cy >= b.Y && cy <= b.Y+b.H
	}
	out := map[string]shoppable.Item{}
	var kept []shoppable.Item
	for _, it := range on {
		dup := false
		for _, k := range kept {
			a, b := BoxAt(it, sec), BoxAt(k, sec)
			if ProductOf(k) == ProductOf(it) && (inside(a, b) || inside(b, a)) {
				dup = true
			}
		}
		if !dup && len(kept) < n {
			kept = append(kept, it)
			out[it.ID] = it
		}
	}
	return out
}

// CheckHotspots compares the hotspots on screen with the document.
func CheckHotspots(t *testing.T, doc *shoppable.Document, st State, tol float64) {
	t.Helper()
	want := VisibleItems(doc, st.T)
	if len(st.Spots) != len(want) {
		t.Errorf("at %.2fs: %d hotspots %v, want %d", st.T, len(st.Spots), st.Spots, len(want))
	}
	for _, sp := range st.Spots {
		it, ok := want[sp.Item]
		if !ok {
			t.Errorf("at %.2fs: hotspot for item %s, which is not on screen", st.T, sp.Item)
			continue
		}
		ex, ey := ExpectedCentre(it, st.T, st)
		if d := math.Hypot(sp.Rect.CX()-ex, sp.Rect.CY()-ey); d > tol {
			t.Errorf("at %.2fs: hotspot %s at (%.1f, %.1f), want (%.1f, %.1f): %.1f px off", st.T, sp.Item, sp.Rect.CX(), sp.Rect.CY(), ex, ey, d)
		}
		if wantProduct := ProductOf(it); sp.Product != wantProduct {
			t.Errorf("hotspot %s sells %s, want %s", sp.Item, sp.Product, wantProduct)
		}
	}
}

// Click sends a real mouse click at x, y.
func Click(t *testing.T, ctx context.Context, x, y float64) {
	t.Helper()
	Do(t, ctx, chromedp.MouseClickXY(x, y))
}

// LoadDoc decodes a shoppable document.
func LoadDoc(t *testing.T, b []byte) *shoppable.Document {
	t.Helper()
	var doc shoppable.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// ShoppableItems lists the items of the document a viewer can shop: shown
// (published, not rejected), with a box and a product.
func ShoppableItems(doc *shoppable.Document) []shoppable.Item {
	var out []shoppable.Item
	for _, it := range doc.Items {
		if it.Shown() && len(it.Boxes) > 0 && (it.ProductID != "" || len(it.Matches) > 0) {
			out = append(out, it)
		}
	}
	return out
}
