package console_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/internal/api/session"
	"github.com/vitrine-dev/vitrine/internal/review"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/video"
	"github.com/vitrine-dev/vitrine/web/console"
	"github.com/vitrine-dev/vitrine/web/player/playertest"
)

// reviewAPI serves the console with the few console API routes the review
// page uses, answering from hand-written videos and items in the shapes
// the server sends (its own types), so the page can be checked on documents
// the analysis does not make on demand: items that need review, confidences,
// a vertical video.
type reviewAPI struct {
	srv *httptest.Server

	mu     sync.Mutex
	videos map[string]*reviewVideo
}

type reviewVideo struct {
	video video.Video
	shots []video.Shot
	items []shoppable.Item
	edits []review.Edit
	media string // file served as the video
}

func newReviewAPI(t *testing.T) *reviewAPI {
	t.Helper()
	a := &reviewAPI{videos: map[string]*reviewVideo{}}
	mux := http.NewServeMux()
	mux.Handle("GET /console/", http.StripPrefix("/console", console.Handler()))
	mux.HandleFunc("GET /console/api/session", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, session.Session{KeyID: 1, KeyName: "reviewer", Scope: "admin", CSRF: "csrf-token"})
	})
	mux.HandleFunc("GET /console/api/videos/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		v, ok := a.videos[r.PathValue("id")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"video": v.video, "shots": v.shots, "items": v.items, "edits": v.edits,
			"products": map[string]any{}, "published_version": 1 + len(v.edits)})
	})
	mux.HandleFunc("GET /console/api/videos/{id}/media", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		v, ok := a.videos[r.PathValue("id")]
		a.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, v.media)
	})
	// A review edit as the server applies it to the next version: approving
	// an item that needs review publishes it.
	mux.HandleFunc("POST /console/api/videos/{id}/review", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ItemID string `json:"item_id"`
			Action string `json:"action"`
		}
		if r.Header.Get("X-CSRF-Token") != "csrf-token" || json.NewDecoder(r.Body).Decode(&in) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		v, ok := a.videos[r.PathValue("id")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		for i := range v.items {
			it := &v.items[i]
			if it.ID != in.ItemID {
				continue
			}
			switch in.Action {
			case "approve":
				it.Review, it.Status = shoppable.ReviewApproved, shoppable.StatusPublished
			case "reject":
				it.Review = shoppable.ReviewRejected
			}
			e := review.Edit{ID: int64(len(v.edits) + 1), VideoID: v.video.ID, ItemID: it.ID, Label: it.Label, Action: in.Action,
				Actor: review.Actor{KeyID: 1, Name: "reviewer"}, CreatedAt: time.Now().UTC()}
			v.edits = append(v.edits, e)
			writeJSON(w, http.StatusAccepted, map[string]any{"edit": e, "workflow_id": 0})
			return
		}
		http.NotFound(w, r)
	})
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	return a
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (a *reviewAPI) add(v *reviewVideo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.videos[v.video.ID] = v
}

// portraitClip makes a 3 s, 360x640 (9:16) H.264 clip.
func portraitClip(t *testing.T) string {
	t.Helper()
	testenv.NeedFFmpeg(t)
	p := filepath.Join(t.TempDir(), "portrait.mp4")
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=360x640:rate=10", "-t", "3",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", p)
	return p
}

func ptr(f float64) *float64 { return &f }

// cardState is what an item's card and timeline span show.
type cardState struct {
	Confidence string
	Badge      bool   // the "needs review" badge
	Status     string // data-status
	SpanBorder string // the timeline span's border style
	Dashed     bool   // the card's outline is dashed
}

// pct is how the review page prints a confidence.
func pct(p float64) string {
	v := 100 * p
	switch {
	case v > 0 && v < 1:
		return "<1%"
	case v > 99 && v < 100:
		return ">99%"
	}
	return fmt.Sprintf("%d%%", int(math.Round(v)))
}

// checkReviewList compares the item cards of the review page of video id
// with the items the console API gives for it: those that need review
// first, then the others, each group by start time; a "needs review" badge
// on the first group, and each item's confidence when it has one.
func checkReviewList(t *testing.T, u *ui, id string) {
	t.Helper()
	got := playertest.Eval[struct {
		Items []shoppable.Item
		Cards []struct {
			Item, Confidence string
			Badge            bool
		}
	}](t, u.ctx, fmt.Sprintf(`(async () => {
	  const d = await (await fetch('/console/api/videos/' + encodeURIComponent(%q), {credentials: 'same-origin'})).json();
	  return {Items: d.items || [], Cards: [...document.querySelectorAll('#items .item')].map((c) => ({Item: c.dataset.item,
	    Confidence: (c.querySelector('.confidence') || {}).textContent || '', Badge: !!c.querySelector('.badge.status-needs_review')}))}; })()`, id))
	want := append([]shoppable.Item(nil), got.Items...)
	sort.SliceStable(want, func(i, j int) bool {
		a, b := want[i], want[j]
		if ra, rb := a.Status == shoppable.StatusNeedsReview, b.Status == shoppable.StatusNeedsReview; ra != rb {
			return ra
		}
		if a.StartS != b.StartS {
			return a.StartS < b.StartS
		}
		return a.ID < b.ID
	})
	if len(got.Cards) != len(want) {
		t.Fatalf("%d item cards, want %d", len(got.Cards), len(want))
	}
	for i, it := range want {
		c := got.Cards[i]
		if c.Item != it.ID {
			t.Errorf("card %d is %s, want %s (needs review first, then by start time)", i, c.Item, it.ID)
			continue
		}
		if c.Badge != (it.Status == shoppable.StatusNeedsReview) {
			t.Errorf("%s (status %q): needs-review badge %v", it.ID, it.Status, c.Badge)
		}
		wantConf := ""
		if it.Confidence != nil {
			wantConf = pct(*it.Confidence) + " confident"
		}
		if c.Confidence != wantConf {
			t.Errorf("%s: confidence %q, want %q", it.ID, c.Confidence, wantConf)
		}
	}
}

// TestConsoleReviewPage checks the review page on hand-written documents:
// items that need review come first with a badge and their confidence,
// the timeline tells them apart, approving one publishes it, and the boxes
// of a vertical video sit on its picture, not on the bars beside it, at
// every size of the page.
func TestConsoleReviewPage(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	clip := portraitClip(t)
	a := newReviewAPI(t)
	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	u := &ui{t: t, ctx: ctx}
	u.do(chromedp.Navigate(a.srv.URL + "/console/"))
	u.wait("the dashboard", `!document.getElementById('nav').hidden`, 20*time.Second)

	box := func(t0, t1, x, y, w, h float64) []shoppable.Box {
		return []shoppable.Box{{T: t0, X: x, Y: y, W: w, H: h}, {T: t1, X: x, Y: y, W: w, H: h}}
	}
	vid := func(id string) video.Video {
		return video.Video{ID: id, Source: id + ".mp4", State: video.StateReady, DurationS: 3, Width: 360, Height: 640, FPS: 10}
	}
	shots := []video.Shot{{Index: 0, StartS: 0, EndS: 3, Transition: shoppable.TransitionNone}}

	t.Run("items that need review come first, with their confidence", func(t *testing.T) {
		u := &ui{t: t, ctx: ctx}
		m := func(pid string, score float64) []shoppable.Match {
			return []shoppable.Match{{ProductID: pid, Score: score}}
		}
		a.add(&reviewVideo{video: vid("v_queue"), shots: shots, media: clip, items: []shoppable.Item{
			{ID: "a1", Label: "t-shirt", StartS: 0.5, EndS: 2.5, Boxes: box(0.5, 2.5, 0.3, 0.2, 0.4, 0.3), Matches: m("p1", 0.8), Review: shoppable.ReviewAuto,
				Confidence: ptr(0.873), Status: shoppable.StatusPublished},
			{ID: "a2", Label: "jeans", StartS: 1.0, EndS: 2.8, Boxes: box(1, 2.8, 0.3, 0.5, 0.4, 0.4), Matches: m("p2", 0.5), Review: shoppable.ReviewAuto,
				Confidence: ptr(0.41), Status: shoppable.StatusNeedsReview},
			{ID: "a3", Label: "cap", StartS: 0.2, EndS: 1.5, Boxes: box(0.2, 1.5, 0.4, 0.05, 0.2, 0.1), Matches: m("p3", 0.3), Review: shoppable.ReviewAuto,
				Confidence: ptr(0.004), Status: shoppable.StatusNeedsReview},
			{ID: "a4", Label: "bag", StartS: 2.0, EndS: 3.0, Boxes: box(2, 3, 0.1, 0.6, 0.2, 0.2), Matches: m("p4", 0.6), Review: shoppable.ReviewAuto},
			{ID: "a5", Label: "shoe", StartS: 0.1, EndS: 2.0, Boxes: box(0.1, 2, 0.4, 0.85, 0.2, 0.1), Matches: m("p5", 0.9), Review: shoppable.ReviewApproved,
				Confidence: ptr(0.9996), Status: shoppable.StatusPublished},
		}})
		u.goTo("#/video/v_queue", "#items .item")
		order := func() string {
			return u.str(`[...document.querySelectorAll('#items .item')].map((e) => e.dataset.item).join(' ')`)
		}
		// Needs review by start time (a3, a2), then the rest by start time;
		// a4 has no status, as in documents made before statuses: published.
		if got, want := order(), "a3 a2 a5 a1 a4"; got != want {
			t.Errorf("items listed %q, want %q", got, want)
		}
		checkReviewList(t, u, "v_queue")
		// Preview as shopper: the published version in the player.
		if href := u.str(`(document.getElementById('preview-link') || {getAttribute: () => ''}).getAttribute('href')`); href != "/demo/v_queue" {
			t.Errorf("preview link %q, want /demo/v_queue", href)
		}
		if u.str(`document.getElementById('preview-link').target`) != "_blank" {
			t.Error("the preview link replaces the review page")
		}
		if u.str(`(document.getElementById('span-legend') || {hidden: true}).hidden ? 'hidden' : 'shown'`) != "shown" {
			t.Error("the timeline has no legend for the dashed spans")
		}
		if got := u.str(`document.getElementById('needs-review-count').textContent`); !strings.Contains(got, "2 need review") {
			t.Errorf("items heading says %q, want 2 need review", got)
		}
		for _, tc := range []struct {
			item, confidence string // "" = no confidence shown
			needsReview      bool
		}{
			{"a1", "87%", false},
			{"a2", "41%", true},
			{"a3", "<1%", true},
			{"a4", "", false},
			{"a5", ">99%", false},
		} {
			js := fmt.Sprintf(`(() => { const c = document.querySelector('#items .item[data-item=%[1]q]'), sp = document.querySelector('#timeline .span[data-item=%[1]q]');
			  const conf = c.querySelector('.confidence');
			  return {Confidence: conf ? conf.textContent : '', Badge: !!c.querySelector('.badge.status-needs_review'), Status: c.dataset.status,
			    SpanBorder: getComputedStyle(sp).borderTopStyle, Dashed: getComputedStyle(c).borderTopStyle === 'dashed'}; })()`, tc.item)
			got := playertest.Eval[cardState](t, ctx, js)
			if tc.confidence == "" && got.Confidence != "" || tc.confidence != "" && got.Confidence != tc.confidence+" confident" {
				t.Errorf("%s: confidence %q, want %q", tc.item, got.Confidence, tc.confidence)
			}
			if got.Badge != tc.needsReview || (got.Status == "needs_review") != tc.needsReview || got.Dashed != tc.needsReview {
				t.Errorf("%s: needs-review badge %v, status %q, dashed card %v; want needs review %v", tc.item, got.Badge, got.Status, got.Dashed, tc.needsReview)
			}
			if (got.SpanBorder == "dashed") != tc.needsReview {
				t.Errorf("%s: timeline span border %q, want dashed only for items that need review", tc.item, got.SpanBorder)
			}
		}
		u.wait("video metadata", `document.getElementById('review-video').readyState >= 1`, 30*time.Second)
		u.exec(`document.getElementById('review-video').currentTime = 1.2`)
		u.wait("the boxes at 1.2s", `document.querySelectorAll('.overlay .box').length === 4`, 20*time.Second)
		if dash := u.str(`getComputedStyle(document.querySelector('.overlay .box[data-item="a2"] rect')).strokeDasharray`); dash == "none" || dash == "" {
			t.Errorf("box of an item that needs review: stroke-dasharray %q, want dashed", dash)
		}
		if dash := u.str(`getComputedStyle(document.querySelector('.overlay .box[data-item="a1"] rect')).strokeDasharray`); dash != "none" {
			t.Errorf("box of a published item: stroke-dasharray %q, want solid", dash)
		}
		u.screenshot("review-needs-review.png")

		// Approve stays a plain review edit; once published the item
		// joins the others.
		u.click(`.item[data-item="a2"] button.approve`)
		u.wait("a2 published", `(() => { const c = document.querySelector('#items .item[data-item="a2"]'); return !!c && c.dataset.status === 'published'; })()`, 20*time.Second)
		if got, want := order(), "a3 a5 a1 a2 a4"; got != want {
			t.Errorf("after approving a2: items listed %q, want %q", got, want)
		}
		checkReviewList(t, u, "v_queue")
		a.mu.Lock()
		edits := a.videos["v_queue"].edits
		a.mu.Unlock()
		if len(edits) != 1 || edits[0].ItemID != "a2" || edits[0].Action != "approve" {
			t.Errorf("review edits %+v, want one approve of a2", edits)
		}
	})

	t.Run("the list follows the video", func(t *testing.T) {
		u := &ui{t: t, ctx: ctx}
		// Enough items to scroll the list; only the last starts late.
		var its []shoppable.Item
		for i := range 16 {
			start := 0.1 + 0.05*float64(i)
			end := 1.0
			if i == 15 {
				start, end = 2.2, 2.9
			}
			its = append(its, shoppable.Item{ID: fmt.Sprintf("f%02d", i), Label: "t-shirt", StartS: start, EndS: end,
				Boxes: box(start, end, 0.3, 0.3, 0.3, 0.3), Matches: []shoppable.Match{{ProductID: fmt.Sprintf("p%d", i), Score: 0.6}},
				Review: shoppable.ReviewAuto, Confidence: ptr(0.9), Status: shoppable.StatusPublished})
		}
		a.add(&reviewVideo{video: vid("v_follow"), shots: shots, media: clip, items: its})
		type listState struct {
			T                      float64
			Seeking                bool
			CardTop, CardBottom    float64
			ListTop, ListBottom    float64
			ScrollTop, ScrollRange float64
			OnScreen, Selected     string
		}
		read := func() listState {
			return playertest.Eval[listState](t, ctx, `(() => { const v = document.getElementById('review-video'), box = document.querySelector('.card.items');
			  const c = document.querySelector('#items .item[data-item="f15"]').getBoundingClientRect(), l = box.getBoundingClientRect();
			  return {T: v.currentTime, Seeking: v.seeking, CardTop: c.top, CardBottom: c.bottom, ListTop: l.top, ListBottom: l.bottom,
			    ScrollTop: box.scrollTop, ScrollRange: box.scrollHeight - box.clientHeight,
			    OnScreen: [...document.querySelectorAll('#items .item.on-screen')].map((e) => e.dataset.item).join(' '),
			    Selected: [...document.querySelectorAll('#items .item.selected')].map((e) => e.dataset.item).join(' ')}; })()`)
		}
		// A deep link to 2.5 s: the list scrolls to the item on screen.
		u.goTo("#/video/v_follow?t=2.5", `#items .item[data-item="f15"]`)
		u.wait("the list scrolled to what is on screen", `(() => { const box = document.querySelector('.card.items'), c = document.querySelector('#items .item.on-screen');
		  if (!c) return false; const r = c.getBoundingClientRect(), l = box.getBoundingClientRect(); return r.top >= l.top && r.bottom <= l.bottom + 1; })()`, 20*time.Second)
		st := read()
		if st.ScrollRange <= 0 {
			t.Fatalf("the item list does not scroll (%+v): the check would prove nothing", st)
		}
		if math.Abs(st.T-2.5) > 0.05 || st.OnScreen != "f15" || st.ScrollTop <= 0 {
			t.Errorf("deep link to 2.5s: %+v, want the video at 2.5s and the list scrolled to f15", st)
		}
		u.screenshot("review-deep-link.png")

		// Selecting an item (a click on its card) seeks to where it
		// first appears.
		u.click(`#items .item[data-item="f03"] ol.matches`)
		u.wait("the seek to f03's first appearance", `(() => { const v = document.getElementById('review-video'); return !v.seeking && Math.abs(v.currentTime - 0.25) < 0.02; })()`, 10*time.Second)
		if st := read(); st.Selected != "f03" {
			t.Errorf("after selecting f03: selected %q", st.Selected)
		}
		// So does opening Replace for another one.
		u.click(`#items .item[data-item="f15"] button.replace`)
		u.wait("the seek to f15's first appearance", `(() => { const v = document.getElementById('review-video'); return !v.seeking && Math.abs(v.currentTime - 2.2) < 0.02; })()`, 10*time.Second)
		if st := read(); st.Selected != "f15" || !strings.Contains(st.OnScreen, "f15") {
			t.Errorf("after Replace on f15: %+v, want f15 selected and on screen", st)
		}
	})

	t.Run("boxes sit on the picture of a vertical video", func(t *testing.T) {
		u := &ui{t: t, ctx: ctx}
		a.add(&reviewVideo{video: vid("v_portrait"), shots: shots, media: clip, items: []shoppable.Item{
			{ID: "p1", Label: "dress", StartS: 0, EndS: 3, Boxes: box(0, 3, 0.25, 0.2, 0.5, 0.3),
				Matches: []shoppable.Match{{ProductID: "p1", Score: 0.7}}, Review: shoppable.ReviewAuto, Confidence: ptr(0.8), Status: shoppable.StatusPublished},
		}})
		u.goTo("#/video/v_portrait", `#items .item[data-item="p1"]`)
		if u.str(`(document.getElementById('span-legend') || {hidden: true}).hidden ? 'hidden' : 'shown'`) != "hidden" {
			t.Error("the needs-review legend shows on a video where nothing needs review")
		}
		u.wait("video metadata", `document.getElementById('review-video').readyState >= 1`, 30*time.Second)
		u.exec(`document.getElementById('review-video').currentTime = 1`)
		u.wait("the box", `!!document.querySelector('.overlay .box[data-item="p1"] rect')`, 20*time.Second)
		for _, tc := range []struct{ w, h int64 }{{1280, 800}, {1000, 1000}, {700, 900}, {1280, 800}} {
			t.Run(fmt.Sprintf("%dx%d", tc.w, tc.h), func(t *testing.T) {
				u.do(chromedp.EmulateViewport(tc.w, tc.h))
				// Let the resize observer run.
				playertest.Eval[bool](t, ctx, `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
				got := playertest.Eval[struct {
					Video, Box playertest.Rect
					VW, VH     float64
				}](t, ctx, `(() => { const r = (e) => { const b = e.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; };
				  const v = document.getElementById('review-video');
				  return {Video: r(v), Box: r(document.querySelector('.overlay .box[data-item="p1"] rect')), VW: v.videoWidth, VH: v.videoHeight}; })()`)
				if got.VW != 360 || got.VH != 640 {
					t.Fatalf("video is %vx%v, want 360x640", got.VW, got.VH)
				}
				// The picture inside the element, as object-fit: contain
				// places it, computed here independently of the page.
				k := math.Min(got.Video.W/got.VW, got.Video.H/got.VH)
				pic := playertest.Rect{W: got.VW * k, H: got.VH * k}
				pic.X, pic.Y = got.Video.X+(got.Video.W-pic.W)/2, got.Video.Y+(got.Video.H-pic.H)/2
				if got.Video.W-pic.W < 40 {
					t.Fatalf("picture %+v in element %+v: no bars beside it to avoid, the check would prove nothing", pic, got.Video)
				}
				want := playertest.Rect{X: pic.X + 0.25*pic.W, Y: pic.Y + 0.2*pic.H, W: 0.5 * pic.W, H: 0.3 * pic.H}
				const tol = 1.5
				if math.Abs(got.Box.X-want.X) > tol || math.Abs(got.Box.Y-want.Y) > tol || math.Abs(got.Box.W-want.W) > tol || math.Abs(got.Box.H-want.H) > tol {
					t.Errorf("box drawn at %+v, want %+v: x 0.25..0.75, y 0.2..0.5 of the picture %+v (element %+v)", got.Box, want, pic, got.Video)
				}
				if got.Box.X < pic.X-tol || got.Box.X+got.Box.W > pic.X+pic.W+tol {
					t.Errorf("box %+v leaves the picture %+v", got.Box, pic)
				}
			})
		}
		u.screenshot("review-portrait.png")
	})

	// The review page at laptop and phone widths, for the artifacts; on a
	// phone it stacks and does not scroll sideways.
	for _, vp := range []struct {
		name string
		w, h int64
	}{{"1366", 1366, 768}, {"360", 360, 740}} {
		t.Run("screenshot "+vp.name, func(t *testing.T) {
			u := &ui{t: t, ctx: ctx}
			u.do(chromedp.EmulateViewport(vp.w, vp.h))
			u.goTo("#/video/v_queue?t=1.2", `#items .item[data-item="a1"]`)
			u.wait("the boxes at 1.2s", `document.querySelectorAll('.overlay .box').length > 0`, 20*time.Second)
			if w := u.num(`document.documentElement.scrollWidth`); w > float64(vp.w) {
				t.Errorf("the review page is %v px wide in a %d px window: %s", w, vp.w, u.str(`[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 8).map((e) => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right)).join(' ')`))
			}
			u.screenshot("review-" + vp.name + ".png")
		})
	}
	errs.Check(t)
}
