package player

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/commerce"
	"github.com/vitrine-dev/vitrine/web/player/playertest"
)

// overlap reports whether two rectangles share more than a hair.
func overlap(a, b playertest.Rect) bool {
	const eps = 0.5
	return a.X+eps < b.X+b.W && b.X+eps < a.X+a.W && a.Y+eps < b.Y+b.H && b.Y+eps < a.Y+a.H
}

// checkChips checks that the name chips shown overlap neither each other
// nor another item's dot, and stay inside the picture.
func checkChips(t *testing.T, st playertest.State) {
	t.Helper()
	const tol = 0.5
	for i, c := range st.Chips {
		p := st.Picture
		if c.Rect.X < p.X-tol || c.Rect.Y < p.Y-tol || c.Rect.X+c.Rect.W > p.X+p.W+tol || c.Rect.Y+c.Rect.H > p.Y+p.H+tol {
			t.Errorf("chip %s %+v leaves the picture %+v", c.Item, c.Rect, p)
		}
		for _, o := range st.Chips[i+1:] {
			if overlap(c.Rect, o.Rect) {
				t.Errorf("chips %s %+v and %s %+v overlap", c.Item, c.Rect, o.Item, o.Rect)
			}
		}
		for _, sp := range st.Spots {
			if overlap(c.Rect, sp.Rect) {
				t.Errorf("chip %s %+v covers the dot of %s %+v", c.Item, c.Rect, sp.Item, sp.Rect)
			}
		}
	}
}

// TestPlayerCrowdedFrame plays a frame with five products on screen, three
// of them bunched together: the player shows the three best matches only
// (the cap, unless the page sets another), their name chips never overlap
// each other or a dot and stay in the picture at 1366 and 360 px, and a
// catalog title of the form "Style|Product title" shows as the product
// title.
func TestPlayerCrowdedFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	s := newStack(t, stackOptions{})
	doc, id := s.addFixture(t, "testdata/crowd.shoppable.json", "videoavatars_person_turntable.mp4")
	polo, _ := s.shop.Item("16331")
	s.shop.SetName("16331", "Zorelle|"+polo.Name)

	for _, vp := range []struct {
		name string
		w, h int64
		opts []chromedp.EmulateViewportOption
	}{
		{"1366x768", 1366, 768, nil},
		{"360x740", 360, 740, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait}},
	} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := playertest.Browser(t)
			errs := playertest.WatchErrors(ctx)
			s.openDemo(t, ctx, id, chromedp.EmulateViewport(vp.w, vp.h, vp.opts...))
			playertest.Seek(t, ctx, 4)
			st := playertest.Read(t, ctx)
			if !st.RootPaused {
				t.Fatal("the player is not paused: chips show on a paused frame")
			}
			if len(st.Spots) != playertest.MaxHotspots {
				t.Errorf("%d hotspots with 5 items on screen, want the cap of %d", len(st.Spots), playertest.MaxHotspots)
			}
			playertest.CheckHotspots(t, doc, st, 3)
			if len(st.Chips) < 2 {
				t.Errorf("only %d name chips shown on a paused frame with %d dots", len(st.Chips), len(st.Spots))
			}
			checkChips(t, st)
			for _, c := range st.Chips {
				if strings.Contains(c.Text, "|") {
					t.Errorf("chip %s shows %q, an internal name|title string", c.Item, c.Text)
				}
				if c.Item == "c1" && !strings.HasPrefix(c.Text, polo.Name) {
					t.Errorf("chip of c1 shows %q, want the product title %q", c.Text, polo.Name)
				}
			}
			for _, b := range st.Tray {
				if strings.Contains(b.Text, "|") {
					t.Errorf("tray shows %q", b.Text)
				}
			}
			playertest.Screenshot(t, ctx, "crowded-"+vp.name+".png")

			// A page that wants more dots says so.
			playertest.Eval[bool](t, ctx, `(() => { document.querySelector('vitrine-player').setAttribute('max-hotspots', '5'); return true; })()`)
			playertest.Seek(t, ctx, 4.5)
			st = playertest.Read(t, ctx)
			if want := len(playertest.VisibleItemsCapped(doc, st.T, 5)); len(st.Spots) != want || want != 5 {
				t.Errorf("max-hotspots=5: %d hotspots, want %d of 5", len(st.Spots), want)
			}
			checkChips(t, st)
			errs.Check(t)
		})
	}
}

// cartLine is the detail of a vitrine:add-to-cart event.
type cartLine struct {
	ProductID string  `json:"product_id"`
	VideoID   string  `json:"video_id"`
	ItemID    string  `json:"item_id"`
	T         float64 `json:"t"`
	Product   struct {
		ID, Title string
		Price     float64
	}
}

// TestPlayerBuyPath: a product with a link has a Buy button; one without
// has "Add to cart", which fires vitrine:add-to-cart on the element with
// the product, video, item and time for the host page's cart; a sold-out
// product with a link can still be viewed. Analytics count the buy and the
// add to cart.
func TestPlayerBuyPath(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	// Details expire at once: the sold-out case below reloads them.
	s := newStack(t, stackOptions{cache: commerce.CacheConfig{TTL: time.Millisecond, StaleWhileRevalidate: -1}})
	_, id := s.addFixture(t, "testdata/turntable.shoppable.json", "videoavatars_person_turntable.mp4")
	s.shop.SetNoLink("16820", true) // the jeans sell through the host's cart
	jeans, _ := s.shop.Item("16820")

	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	s.openDemo(t, ctx, id)
	// The host page's cart.
	playertest.Eval[bool](t, ctx, `(() => { window.cart = []; document.addEventListener('vitrine:add-to-cart', (e) => window.cart.push(e.detail)); return true; })()`)

	open := func(product string) playertest.State {
		t.Helper()
		playertest.Do(t, ctx, chromedp.KeyEvent(kb.Escape)) // close any card
		playertest.Seek(t, ctx, 5)
		st := playertest.Read(t, ctx)
		for _, sp := range st.Spots {
			if sp.Product == product {
				playertest.Click(t, ctx, sp.Rect.CX(), sp.Rect.CY())
				return playertest.Read(t, ctx)
			}
		}
		t.Fatalf("no hotspot for %s at 5s: %+v", product, st.Spots)
		return st
	}
	clickIn := func(sel string) {
		t.Helper()
		r := playertest.Eval[playertest.Rect](t, ctx, `(() => { const e = `+playertest.Shadow+`.querySelector(`+fmt.Sprintf("%q", sel)+`);
		  e.scrollIntoView({block: 'center'}); const b = e.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; })()`)
		playertest.Click(t, ctx, r.CX(), r.CY())
	}

	st := open("16820")
	if !st.Card.Open || st.Card.Buy != "" || !st.Card.Cart {
		t.Fatalf("card of a product without a link: buy %q, add to cart %v; want only Add to cart", st.Card.Buy, st.Card.Cart)
	}
	clickIn(".card button.cart")
	playertest.WaitJS(t, ctx, "the add-to-cart event", `window.cart.length === 1`, 5*time.Second)
	got := playertest.Eval[[]cartLine](t, ctx, `window.cart`)
	if c := got[0]; c.ProductID != "16820" || c.VideoID != "v_turntable" || c.ItemID != "t2" || math.Abs(c.T-5) > 0.05 ||
		c.Product.Title != jeans.Name || c.Product.Price != jeans.Price {
		t.Errorf("add-to-cart event %+v, want product 16820 of video v_turntable, item t2, at 5s, with its title and price", c)
	}
	if txt := playertest.Read(t, ctx).Card.Text; !strings.Contains(txt, "Added") {
		t.Errorf("card after Add to cart: %q, want a confirmation", txt)
	}
	playertest.Screenshot(t, ctx, "add-to-cart.png")

	st = open("16647")
	if st.Card.Cart || st.Card.Buy != s.shop.URL+"/p/16647" {
		t.Errorf("card of a product with a link: buy %q, add to cart %v; want Buy", st.Card.Buy, st.Card.Cart)
	}
	// Follow it in this tab: a background tab would not load the next video.
	playertest.Eval[bool](t, ctx, `(() => { `+playertest.Shadow+`.querySelector('.card a.buy').target = '_self'; return true; })()`)
	clickIn(".card a.buy")
	playertest.WaitJS(t, ctx, "the shop's product page", `location.pathname === '/p/16647'`, 10*time.Second)

	// Sold out, with a link: no Buy, but the page can be viewed.
	s.shop.SetNoLink("16820", false)
	s.shop.SetStock("16820", 0)
	clearCache := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCache, cdp.Empty{})
		return err
	})
	s.openDemo(t, ctx, id, clearCache)
	if st := open("16820"); st.Card.Buy != "" || st.Card.Cart || st.Card.View != s.shop.URL+"/p/16820" {
		t.Errorf("sold-out card: buy %q, cart %v, view %q; want only View product", st.Card.Buy, st.Card.Cart, st.Card.View)
	}

	deadline := time.Now().Add(15 * time.Second)
	for {
		rep, err := s.events.VideoReport(context.Background(), "v_turntable", analytics.LastDays(time.Now(), 1))
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]analytics.Row{}
		for _, r := range rep.Rows {
			by[r.ID] = r
		}
		if by["16820"].AddToCart == 1 && by["16647"].Buys == 1 && rep.Total.AddToCart == 1 && rep.Total.Buys == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("analytics %+v: want one add to cart of 16820 and one buy of 16647", rep.Rows)
		}
		time.Sleep(200 * time.Millisecond)
	}
	errs.Check(t)
}

// TestDemoPageFitsTheWindow opens the demo page of a square video and of a
// vertical reel on a 1366x768 laptop screen and a 360x740 phone: the
// picture, the control bar and the product tray are on screen without
// scrolling, and the page is no wider than the window.
func TestDemoPageFitsTheWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	s := newStack(t, stackOptions{})
	var ids []string
	for _, f := range []struct{ fixture, file string }{
		{"testdata/turntable.shoppable.json", "videoavatars_person_turntable.mp4"},
		{"testdata/reel.shoppable.json", "flickd_virgio_reel_2025-05-28.mp4"},
	} {
		_, id := s.addFixture(t, f.fixture, f.file)
		ids = append(ids, id)
	}
	for _, vp := range []struct {
		name string
		w, h int64
		opts []chromedp.EmulateViewportOption
	}{
		{"1366", 1366, 768, nil},
		{"360", 360, 740, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait}},
	} {
		ctx := playertest.Browser(t)
		errs := playertest.WatchErrors(ctx)
		for _, id := range ids {
			t.Run(vp.name+"/"+id, func(t *testing.T) {
				s.openDemo(t, ctx, id, chromedp.EmulateViewport(vp.w, vp.h, vp.opts...))
				got := playertest.Eval[struct {
					Stage, Bar, Tray playertest.Rect
					WinW, WinH       float64
					ScrollW, ScrollY float64
				}](t, ctx, `(() => { const r = `+playertest.Shadow+`;
				  const box = (e) => { const b = e.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; };
				  return {Stage: box(r.querySelector('.stage')), Bar: box(r.querySelector('.bar')), Tray: box(r.querySelector('.tray')),
				    WinW: innerWidth, WinH: innerHeight, ScrollW: document.documentElement.scrollWidth, ScrollY: scrollY}; })()`)
				if got.ScrollY != 0 {
					t.Fatalf("the page opened scrolled to %v", got.ScrollY)
				}
				for _, part := range []struct {
					name string
					r    playertest.Rect
				}{{"picture", got.Stage}, {"control bar", got.Bar}, {"product tray", got.Tray}} {
					if part.r.Y < 0 || part.r.Y+part.r.H > got.WinH+0.5 || part.r.X < 0 || part.r.X+part.r.W > got.WinW+0.5 {
						t.Errorf("%s at %+v is not inside the %vx%v window", part.name, part.r, got.WinW, got.WinH)
					}
				}
				if got.ScrollW > got.WinW {
					t.Errorf("page is %v px wide in a %v px window", got.ScrollW, got.WinW)
				}
				// The picture stays as large as the window allows: it
				// fills the width or the height left for it.
				if got.Stage.W < 0.9*math.Min(got.WinW-32, 960) && got.Stage.H < 0.6*got.WinH {
					t.Errorf("picture %+v is small for a %vx%v window", got.Stage, got.WinW, got.WinH)
				}
				playertest.Screenshot(t, ctx, fmt.Sprintf("demo-%s-%s.png", id, vp.name))
			})
		}
		errs.Check(t)
	}
}
