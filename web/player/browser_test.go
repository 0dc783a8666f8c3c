package player

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/commerce"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/web/player/playertest"
)

func TestPlayerInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	s := newStack(t, stackOptions{similar: true})
	doc, id := s.addFixture(t, "testdata/turntable.shoppable.json", "videoavatars_person_turntable.mp4")
	s.shop.SetStock("16820", 0) // the jeans sold out
	tee, _ := s.shop.Item("16647")
	jeans, _ := s.shop.Item("16820")

	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	s.openDemo(t, ctx, id)
	playerTests(t, ctx, s, doc, tee.Name, jeans.Name)
	errs.Check(t)
}

// playerTests runs the checks shared by the fixture and the end-to-end test.
func playerTests(t *testing.T, ctx context.Context, s *stack, doc *shoppable.Document, teeTitle, jeansTitle string) {
	st := playertest.Read(t, ctx)
	t.Run("the clock shows the duration before play", func(t *testing.T) {
		checkClock(t, st, st.Duration)
	})
	t.Run("markers", func(t *testing.T) {
		want := map[string]float64{}
		for _, it := range playertest.ShoppableItems(doc) {
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
			playertest.Seek(t, ctx, sec)
			playertest.CheckHotspots(t, doc, playertest.Read(t, ctx), 3)
		}
		playertest.Screenshot(t, ctx, "hotspots-7.9s.png")
	})

	playertest.Seek(t, ctx, 5.0)
	st = playertest.Read(t, ctx)
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
		play := playertest.Eval[playertest.Rect](t, ctx, `(() => { const e = `+playertest.Shadow+`.querySelector('.bar .play'); e.scrollIntoView({block: 'center'});
		  const b = e.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; })()`)
		playertest.Click(t, ctx, play.CX(), play.CY())
		playertest.WaitJS(t, ctx, "playback past 5.8s", `(() => { const v = `+playertest.Shadow+`.querySelector('video'); return !v.paused && v.currentTime > 5.8; })()`, 20*time.Second)
		// While playing, hotspots keep up with the boxes (a frame or two of lag).
		playertest.CheckHotspots(t, doc, playertest.Read(t, ctx), 8)
		playertest.WaitJS(t, ctx, "playback past 6.4s", `(() => `+playertest.Shadow+`.querySelector('video').currentTime > 6.4)()`, 20*time.Second)
		playertest.Click(t, ctx, play.CX(), play.CY())
		playertest.WaitJS(t, ctx, "paused", `(() => `+playertest.Shadow+`.querySelector('.root').classList.contains('paused'))()`, 5*time.Second)
		st := playertest.Read(t, ctx)
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
		playertest.CheckHotspots(t, doc, st, 3)
		playertest.Screenshot(t, ctx, "paused-to-shop.png")
	})

	t.Run("click opens the product card", func(t *testing.T) {
		st := playertest.Read(t, ctx)
		var sp *playertest.Spot
		for i := range st.Spots {
			if st.Spots[i].Product == "16647" {
				sp = &st.Spots[i]
			}
		}
		if sp == nil {
			t.Fatalf("no hotspot for the T-shirt at %.2fs", st.T)
		}
		playertest.Click(t, ctx, sp.Rect.CX(), sp.Rect.CY())
		st = playertest.Read(t, ctx)
		c := st.Card
		if !c.Open || c.Product != "16647" || c.Title != teeTitle {
			t.Fatalf("card %+v, want the T-shirt's", c)
		}
		if !strings.Contains(c.Text, "₹") || !strings.Contains(c.Text, "In stock") || c.Buy != s.shop.URL+"/p/16647" {
			t.Errorf("card text %q buy %q: want a rupee price, in stock and the shop's link", c.Text, c.Buy)
		}
		playertest.Screenshot(t, ctx, "card.png")
		playertest.Do(t, ctx, chromedp.KeyEvent(kb.Escape))
		st = playertest.Read(t, ctx)
		if st.Card.Open || st.Active != sp.Item {
			t.Errorf("after Escape: card open %v, focus on %q; want closed and focus back on hotspot %s", st.Card.Open, st.Active, sp.Item)
		}
	})

	boughtAlt := ""
	t.Run("keyboard: tab to a hotspot, enter opens, escape closes", func(t *testing.T) {
		// Focus is on the T-shirt hotspot; Tab moves to the next one.
		playertest.Do(t, ctx, chromedp.KeyEvent(kb.Tab))
		st := playertest.Read(t, ctx)
		if st.Active == "" {
			t.Fatalf("Tab from a hotspot left the hotspots (focus %q)", st.Active)
		}
		playertest.Do(t, ctx, chromedp.KeyEvent(kb.Enter))
		st = playertest.Read(t, ctx)
		if !st.Card.Open {
			t.Fatal("Enter on a focused hotspot did not open its card")
		}
		if st.Card.Product == "16820" {
			if !strings.Contains(st.Card.Text, "Out of stock") || st.Card.Buy != "" {
				t.Errorf("sold-out jeans card %q (buy %q): want 'Out of stock' and no buy link", st.Card.Text, st.Card.Buy)
			}
			if len(st.Card.Alts) == 0 || !strings.Contains(st.Card.Text, "Similar, in stock") {
				t.Fatalf("sold-out jeans card offers no alternatives: %q", st.Card.Text)
			}
			for _, a := range st.Card.Alts {
				if it, ok := s.shop.Item(a); !ok || it.Category != "Jeans" || it.Stock <= 0 {
					t.Errorf("alternative %s: %+v, want in-stock jeans", a, it)
				}
			}
			playertest.Screenshot(t, ctx, "card-out-of-stock.png")
			// Following an alternative is a buy of that product.
			alt := playertest.Eval[playertest.Rect](t, ctx, `(() => { const e = `+playertest.Shadow+`.querySelector('.card .alt');
			  e.scrollIntoView({block: 'center'}); const b = e.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; })()`)
			playertest.Click(t, ctx, alt.CX(), alt.CY())
			boughtAlt = st.Card.Alts[0]
		}
		playertest.Do(t, ctx, chromedp.KeyEvent(kb.Escape))
		if playertest.Read(t, ctx).Card.Open {
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
			if byProduct["16647"].Impressions >= 1 && byProduct["16820"].Impressions >= 1 && byProduct["16647"].Clicks >= 1 && rep.Total.Clicks >= 2 &&
				(boughtAlt == "" || byProduct[boughtAlt].Buys == 1) {
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

// TestPlayerNarrowLayout checks the 360 px phone layout with a square video
// and a 720x1280 reel: hotspots in place, the card a bottom sheet, nothing
// overflowing the page.
func TestPlayerNarrowLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	s := newStack(t, stackOptions{})
	cases := []struct {
		fixture, file, png string
		at                 float64
	}{
		{"testdata/turntable.shoppable.json", "videoavatars_person_turntable.mp4", "narrow-360.png", 4},
		{"testdata/reel.shoppable.json", "flickd_virgio_reel_2025-05-28.mp4", "narrow-360-reel.png", 6},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			doc, id := s.addFixture(t, tc.fixture, tc.file)
			ctx := playertest.Browser(t)
			errs := playertest.WatchErrors(ctx)
			s.openDemo(t, ctx, id, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait))
			playertest.Seek(t, ctx, tc.at)
			st := playertest.Read(t, ctx)
			playertest.CheckHotspots(t, doc, st, 3)
			if st.PageScrollW > 360 {
				t.Errorf("page is %.0f px wide in a 360 px viewport", st.PageScrollW)
			}
			if r := float64(doc.Video.Width) / float64(doc.Video.Height); math.Abs(st.Video.W/st.Video.H-r) > 0.02 {
				t.Errorf("video box %.0fx%.0f, want the %dx%d aspect", st.Video.W, st.Video.H, doc.Video.Width, doc.Video.Height)
			}
			if len(st.Spots) == 0 {
				t.Fatalf("no hotspot at %.1fs", st.T)
			}
			sp := st.Spots[0]
			playertest.Do(t, ctx, chromedp.TapXY(sp.Rect.CX(), sp.Rect.CY()))
			st = playertest.Read(t, ctx)
			if !st.Card.Open {
				t.Fatal("tap on a hotspot did not open the card")
			}
			// Bottom sheet: as wide as the video, flush with its bottom edge.
			if math.Abs(st.Card.Rect.W-st.Video.W) > 2 || math.Abs((st.Card.Rect.Y+st.Card.Rect.H)-(st.Video.Y+st.Video.H)) > 2 {
				t.Errorf("card %+v in video %+v: want a bottom sheet", st.Card.Rect, st.Video)
			}
			playertest.Screenshot(t, ctx, tc.png)
			errs.Check(t)
		})
	}
}

// TestPlayerOnAnotherSite embeds the player with one script tag in a page
// served from a different origin: allowed with a key for that origin,
// refused without.
func TestPlayerOnAnotherSite(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	s := newStack(t, stackOptions{})
	_, id := s.addFixture(t, "testdata/turntable.shoppable.json", "videoavatars_person_turntable.mp4")
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

	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	playertest.Do(t, ctx, chromedp.Navigate(site.URL+"/"))
	playertest.WaitJS(t, ctx, "player ready on the other site", playertest.ReadyJS, 30*time.Second)
	playertest.Seek(t, ctx, 5)
	if st := playertest.Read(t, ctx); len(st.Spots) != 2 {
		t.Errorf("cross-origin player shows %d hotspots at 5s, want 2", len(st.Spots))
	}
	playertest.Screenshot(t, ctx, "other-site.png")
	errs.Check(t)

	playertest.Do(t, ctx, chromedp.Navigate(site.URL+"/unlisted"))
	playertest.WaitJS(t, ctx, "refusal notice", `(() => { const p = document.querySelector('vitrine-player');
	  return !!p && !!p.shadowRoot && p.shadowRoot.querySelector('.notice').textContent.includes('403 (origin'); })()`, 30*time.Second)
}

// TestPlayerWhenTheShopIsDown: the player keeps working when the shop's API
// fails. Details seen before come back marked as possibly out of date;
// products never seen show their label and say details are unavailable.
func TestPlayerWhenTheShopIsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	// Details expire at once, so the reload must go to the shop.
	s := newStack(t, stackOptions{cache: commerce.CacheConfig{TTL: time.Millisecond, StaleWhileRevalidate: -1}})
	doc, id := s.addFixture(t, "testdata/turntable.shoppable.json", "videoavatars_person_turntable.mp4")
	_, reelID := s.addFixture(t, "testdata/reel.shoppable.json", "flickd_virgio_reel_2025-05-28.mp4")
	tee, _ := s.shop.Item("16647")

	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	s.openDemo(t, ctx, id)

	s.shop.SetDown(true)
	// A new visitor: nothing in the browser's cache, so details come from
	// the server, which has only its stale copy.
	clearCache := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCache, cdp.Empty{})
		return err
	})
	openTee := func() playertest.State {
		playertest.Seek(t, ctx, 5)
		st := playertest.Read(t, ctx)
		playertest.CheckHotspots(t, doc, st, 3)
		for _, sp := range st.Spots {
			if sp.Product == "16647" {
				playertest.Click(t, ctx, sp.Rect.CX(), sp.Rect.CY())
				return playertest.Read(t, ctx)
			}
		}
		t.Fatalf("no T-shirt hotspot: %+v", st.Spots)
		return st
	}
	playertest.Do(t, ctx, clearCache, chromedp.Navigate(s.srv.URL+"/demo/"+id))
	playertest.WaitJS(t, ctx, "player ready with the shop down", playertest.ReadyJS, 30*time.Second)
	st := openTee()
	if !st.Card.Open || st.Card.Title != tee.Name || !strings.Contains(st.Card.Text, "may have changed") {
		t.Errorf("card with the shop down: %+v; want the cached details marked stale", st.Card)
	}
	playertest.Screenshot(t, ctx, "shop-down-stale.png")

	// A video whose products were never fetched still plays and shows its items.
	playertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/demo/"+reelID))
	playertest.WaitJS(t, ctx, "reel ready with the shop down", playertest.ReadyJS, 30*time.Second)
	playertest.Seek(t, ctx, 6)
	st = playertest.Read(t, ctx)
	if len(st.Spots) != 1 || !strings.Contains(st.Spots[0].Label, "vest") {
		t.Fatalf("hotspots with no product details: %+v", st.Spots)
	}
	playertest.Click(t, ctx, st.Spots[0].Rect.CX(), st.Spots[0].Rect.CY())
	if st := playertest.Read(t, ctx); !st.Card.Open || !strings.Contains(st.Card.Text, "unavailable right now") {
		t.Errorf("card without details: %+v", st.Card)
	}
	errs.Check(t)
}

// clockText is how the control bar prints a time: m:ss, rounded down.
func clockText(sec float64) string {
	s := int(math.Floor(sec))
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// checkClock checks that the control bar shows the position and the
// duration, and that the seek bar spans the duration.
func checkClock(t *testing.T, st playertest.State, duration float64) {
	t.Helper()
	if want := clockText(st.T) + " / " + clockText(duration); st.Clock != want {
		t.Errorf("clock %q (paused %v at %.2fs), want %q", st.Clock, st.Paused, st.T, want)
	}
	if math.Abs(st.SeekMax-duration) > 0.01 {
		t.Errorf("seek bar spans %.3fs, want %.3fs", st.SeekMax, duration)
	}
}

// TestPlayerShowsPublishedItemsOnly loads a document with a published item
// and an item waiting for a reviewer, on screen at the same time: only the
// published one gets a hotspot, a seek-bar marker and a place in the tray.
func TestPlayerShowsPublishedItemsOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	s := newStack(t, stackOptions{})
	doc, id := s.addFixture(t, "testdata/review.shoppable.json", "videoavatars_person_turntable.mp4")
	status := map[string]string{}
	for _, it := range doc.Items {
		status[it.ID] = it.Status
	}
	if status["t1"] != shoppable.StatusPublished || status["t2"] != shoppable.StatusNeedsReview {
		t.Fatalf("fixture statuses %v, want t1 published and t2 needs_review", status)
	}

	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	s.openDemo(t, ctx, id)

	st := playertest.Read(t, ctx)
	if len(st.Markers) != 1 || st.Markers[0].Item != "t1" {
		t.Errorf("seek-bar markers %+v, want one, for the published t1 (none for t2, which needs review)", st.Markers)
	}
	for _, sec := range []float64{2.5, 4, 7} {
		playertest.Seek(t, ctx, sec)
		st := playertest.Read(t, ctx)
		if len(st.Spots) != 1 || st.Spots[0].Item != "t1" || st.Spots[0].Product != "16647" {
			t.Errorf("at %.1fs: hotspots %+v, want exactly one, t1's (t2 needs review)", st.T, st.Spots)
		}
		playertest.CheckHotspots(t, doc, st, 3)
		if len(st.Tray) != 1 || st.Tray[0].Product != "16647" {
			t.Errorf("at %.1fs: tray %+v, want the T-shirt only", st.T, st.Tray)
		}
		if n := playertest.Eval[int](t, ctx, `(() => `+playertest.Shadow+`.querySelectorAll('[data-item="t2"], [data-product="16820"]').length)()`); n != 0 {
			t.Errorf("at %.1fs: %d elements for the item that needs review", st.T, n)
		}
	}
	playertest.Screenshot(t, ctx, "published-only.png")
	errs.Check(t)
}

// TestPlayerClockBeforePlay: the control bar shows the video's duration as
// soon as it is known, without playing or seeking: the media's once its
// metadata is in, the document's while the media is still on its way.
func TestPlayerClockBeforePlay(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	s := newStack(t, stackOptions{})
	raw, err := os.ReadFile("testdata/turntable.shoppable.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := playertest.LoadDoc(t, raw)
	id := s.addVideo(t, raw, "videoavatars_person_turntable.mp4")

	// A media server that never answers: the video stays without metadata.
	stop := make(chan struct{})
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(stall.Close)
	t.Cleanup(func() { close(stop) })
	stalled := "v_stalled"
	s.mu.Lock()
	s.docs[stalled] = []byte(strings.Replace(string(raw), `"id": "v_turntable"`, `"id": "`+stalled+`"`, 1))
	s.videos[stalled] = DemoVideo{ID: stalled, Title: "stalled", Src: stall.URL + "/turntable.mp4", Width: doc.Video.Width, Height: doc.Video.Height}
	s.mu.Unlock()

	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	for _, tc := range []struct {
		name, video, ready string
		readyState         int // at least, or exactly 0 for media not loaded
	}{
		{"metadata loaded", id, playertest.ReadyJS, 1},
		{"media still loading", stalled, `(() => { const p = document.querySelector('vitrine-player'); return !!p && p.ready === true; })()`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			playertest.Do(t, ctx, chromedp.Navigate(s.srv.URL+"/demo/"+tc.video))
			playertest.WaitJS(t, ctx, "player ready", tc.ready, 30*time.Second)
			rs := playertest.Eval[int](t, ctx, `(() => `+playertest.Shadow+`.querySelector('video').readyState)()`)
			st := playertest.Read(t, ctx)
			want := doc.Video.DurationS
			if tc.readyState == 0 {
				if rs != 0 || !math.IsNaN(st.Duration) && st.Duration != 0 {
					t.Fatalf("the stalled video has readyState %d, duration %v: want no metadata", rs, st.Duration)
				}
			} else {
				if rs < tc.readyState || !(st.Duration > 0) {
					t.Fatalf("readyState %d, duration %v: want the metadata loaded", rs, st.Duration)
				}
				want = st.Duration
			}
			if st.T != 0 || !st.Paused {
				t.Fatalf("at %.2fs, paused %v: want the video untouched", st.T, st.Paused)
			}
			checkClock(t, st, want)
			if len(st.Markers) == 0 {
				t.Error("no seek-bar markers")
			}
		})
	}
	errs.Check(t)
}
