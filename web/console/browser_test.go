package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/web/player/playertest"
)

// ui drives the console page of one browser tab.
type ui struct {
	t   *testing.T
	ctx context.Context
	st  *stack
}

// in returns the ui of the same tab for subtest t.
func (u *ui) in(t *testing.T) *ui { return &ui{t: t, ctx: u.ctx, st: u.st} }

func (u *ui) do(steps ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	playertest.Do(u.t, u.ctx, steps...)
}

func (u *ui) wait(what, js string, timeout time.Duration) {
	u.t.Helper()
	playertest.WaitJS(u.t, u.ctx, what, js, timeout)
}

// maybe polls a boolean expression like wait but reports a timeout instead
// of failing.
func (u *ui) maybe(js string, timeout time.Duration) bool {
	u.t.Helper()
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if playertest.Eval[bool](u.t, u.ctx, js) {
			return true
		}
	}
	return false
}

func (u *ui) str(js string) string {
	u.t.Helper()
	return playertest.Eval[string](u.t, u.ctx, js)
}

func (u *ui) num(js string) float64 {
	u.t.Helper()
	return playertest.Eval[float64](u.t, u.ctx, js)
}

func (u *ui) exec(js string) {
	u.t.Helper()
	playertest.Eval[bool](u.t, u.ctx, "(() => { "+js+"; return true; })()")
}

// goTo switches the single-page app to a hash route and waits for sel.
func (u *ui) goTo(hash, sel string) {
	u.t.Helper()
	u.exec(fmt.Sprintf("location.hash = %q", hash))
	u.wait(sel, fmt.Sprintf("!!document.querySelector(%q)", sel), 20*time.Second)
}

func (u *ui) click(sel string) {
	u.t.Helper()
	u.do(chromedp.ScrollIntoView(sel), chromedp.Click(sel, chromedp.NodeVisible))
}

func (u *ui) screenshot(name string) {
	u.t.Helper()
	tctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100)) // 100: PNG; below, JPEG
	if err != nil {
		u.t.Fatal(err)
	}
	p := filepath.Join(testenv.ArtifactsDir(u.t, "console"), name)
	if err := os.WriteFile(p, png, 0o640); err != nil {
		u.t.Fatal(err)
	}
	u.t.Logf("screenshot %s", p)
}

// graphJS is true when every node of the workflow graph is in state.
func graphJS(state string) string {
	return fmt.Sprintf(`(() => { const n = [...document.querySelectorAll('#graph .node')];
	  return n.length > 0 && n.every((x) => x.dataset.state === %q); })()`, state)
}

const anyFailedJS = `!!document.querySelector('#graph .node[data-state="failed"]') && !!document.querySelector('.wf-head .badge.state-failed')`

// uploadVideo uploads a file from the dashboard and returns the id of the
// workflow page it lands on.
func (u *ui) uploadVideo(path string) string {
	u.t.Helper()
	u.goTo("#/", "#video-file")
	u.do(chromedp.SetUploadFiles("#video-file", []string{path}))
	u.click("#video-upload")
	u.wait("the workflow page", `location.hash.startsWith('#/workflow/') && !!document.querySelector('#graph')`, time.Minute)
	return u.str(`document.querySelector('.wf-head .subject').textContent`)
}

func (u *ui) publishedVersion() int {
	return int(u.num(`+(document.getElementById('published-version') || {dataset: {version: 0}}).dataset.version`))
}

func (u *ui) waitVersion(v int) {
	u.t.Helper()
	u.wait(fmt.Sprintf("published version %d", v), fmt.Sprintf(`+(document.getElementById('published-version') || {dataset: {}}).dataset.version === %d`, v), 2*time.Minute)
}

// TestConsoleInChromium runs the console against a real server: log in,
// import a catalog file and upload a video from the browser, watch their
// workflow graphs reach succeeded, approve and replace matches and see the
// published shoppable JSON change (and keep the edits through a re-match),
// watch a broken upload fail red with its error, fix it and retry, browse
// and search the catalog, and find where a product appears across videos.
func TestConsoleInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser through the whole pipeline")
	}
	samples := testenv.Samples(t)
	clip := filepath.Join(samples, "videos", "videoavatars_person_turntable.mp4")
	st := newStack(t)
	catalogCSV := st.catalogFile(t, samples, 30, "16647", "16820")
	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	u := &ui{t: t, ctx: ctx, st: st}

	// Log in with the API key; the session cookie is invisible to scripts.
	u.do(chromedp.Navigate(st.srv.URL + "/console/"))
	u.wait("the login form", `!!document.getElementById('login-key')`, 20*time.Second)
	if u.num(`document.getElementById('nav').offsetHeight + document.getElementById('logout').offsetHeight`) != 0 {
		t.Error("navigation and logout are shown before signing in")
	}
	u.screenshot("login.png")
	u.do(chromedp.SendKeys("#login-key", st.admin))
	u.click(`#login-form button[type=submit]`)
	u.wait("the dashboard", `!document.getElementById('nav').hidden && !!document.getElementById('videos')`, 20*time.Second)
	if c := u.str(`document.cookie`); strings.Contains(c, "vitrine_session") {
		t.Errorf("the session cookie is readable by scripts: %q", c)
	}
	if who := u.str(`document.getElementById('who-name').textContent`); !strings.Contains(who, "ops-admin") || !strings.Contains(who, "admin") {
		t.Errorf("signed in as %q, want the key's name and scope", who)
	}

	// Unknown pages say so.
	u.goTo("#/video/v_unknown", "p.error")
	if msg := u.str(`document.querySelector('p.error').textContent`); !strings.Contains(msg, "v_unknown") {
		t.Errorf("unknown video page says %q", msg)
	}
	u.goTo("#/", "#catalog-file")

	// Catalog import from the browser.
	u.do(chromedp.SetUploadFiles("#catalog-file", []string{catalogCSV}))
	u.click("#catalog-upload")
	u.wait("the column mapping", `!!document.getElementById('catalog-start')`, time.Minute)
	u.click("#catalog-start")
	u.wait("the catalog workflow page", `location.hash.startsWith('#/workflow/') && !!document.querySelector('#graph .node')`, time.Minute)
	u.wait("catalog ingestion succeeded", graphJS("succeeded"), 5*time.Minute)
	u.screenshot("catalog-workflow.png")

	// Video upload: the graph goes live, then all green.
	vid := u.uploadVideo(clip)
	if u.maybe(`!!document.querySelector('#graph .node[data-state="running"]')`, time.Minute) {
		u.screenshot("video-workflow-running.png")
	} else {
		t.Log("the analysis finished before a running step was drawn")
	}
	u.wait("video analysis succeeded", graphJS("succeeded"), 8*time.Minute)
	if fill := u.str(`getComputedStyle(document.querySelector('#graph .node rect')).fill`); fill != "rgb(220, 243, 229)" {
		t.Errorf("succeeded node fill %s, want green", fill)
	}
	u.click(`#graph .node[data-step="detect"]`)
	u.wait("detect step details", `(document.querySelector('#step-details h3') || {}).textContent?.includes('detect')`, 10*time.Second)
	if n := u.num(`document.querySelectorAll('#step-details table tbody tr').length`); n < 1 {
		t.Errorf("detect step shows %v attempts, want at least 1", n)
	}
	u.screenshot("video-workflow-succeeded.png")

	t.Run("review changes the shoppable JSON", func(t *testing.T) {
		u := u.in(t)
		v1 := st.published(t, vid)
		var matched []string
		top := map[string]string{}
		for _, it := range v1.Items {
			if len(it.Matches) > 0 {
				matched = append(matched, it.ID)
				top[it.ID] = it.Matches[0].ProductID
			}
		}
		if len(matched) == 0 {
			t.Fatalf("the published document has no matched item: %s", v1)
		}
		a, b := matched[0], matched[len(matched)-1]
		u.goTo("#/video/"+vid, "#items .item")
		u.waitVersion(v1.Version)
		// Items that need review first, each with its confidence.
		checkReviewList(t, u, vid)
		start := v1.start(a)
		u.wait("video metadata", `document.getElementById('review-video').readyState >= 1`, 30*time.Second)
		u.exec(fmt.Sprintf(`document.getElementById('review-video').currentTime = %f`, start+0.05))
		u.wait("the item's box on the frame", fmt.Sprintf(`!!document.querySelector('.overlay .box[data-item=%q] rect')`, a), 20*time.Second)
		u.wait("the frame to show", `(() => { const v = document.getElementById('review-video'); return v.readyState >= 3 && !v.seeking; })()`, 20*time.Second)
		u.screenshot("review.png")

		u.click(fmt.Sprintf(`.item[data-item=%q] button.approve`, a))
		u.waitVersion(v1.Version + 1)
		v2 := st.published(t, vid)
		if rv, pid, _ := v2.item(a); rv != "approved" || pid != top[a] {
			t.Errorf("after approving %s: %s/%s in %s, want approved/%s", a, rv, pid, v2, top[a])
		}

		u.click(fmt.Sprintf(`.item[data-item=%q] button.replace`, b))
		q := fmt.Sprintf(`.item[data-item=%q] .replace-q`, b)
		u.wait("the replace search", fmt.Sprintf("!!document.querySelector(%q)", q), 10*time.Second)
		u.do(chromedp.SendKeys(q, "tshirts"))
		u.click(fmt.Sprintf(`.item[data-item=%q] button.replace-search`, b))
		results := fmt.Sprintf(`.item[data-item=%q] .results .product`, b)
		u.wait("catalog search results", fmt.Sprintf("document.querySelectorAll(%q).length > 0", results), 30*time.Second)
		pick := u.str(fmt.Sprintf(`(() => { const r = [...document.querySelectorAll(%q)].find((e) => e.dataset.product !== %q) || document.querySelector(%q);
		  return r.dataset.product; })()`, results, top[b], results))
		if pick == top[b] {
			t.Fatalf("the catalog search offered only the current match %s", pick)
		}
		u.click(fmt.Sprintf(`.item[data-item=%q] .results .product[data-product=%q] button.use`, b, pick))
		u.waitVersion(v1.Version + 2)
		v3 := st.published(t, vid)
		if rv, pid, _ := v3.item(b); rv != "replaced" || pid != pick {
			t.Errorf("after replacing %s: %s/%s in %s, want replaced/%s", b, rv, pid, v3, pick)
		}
		if a != b {
			if rv, _, _ := v3.item(a); rv != "approved" {
				t.Errorf("the approval of %s was lost: %s", a, v3)
			}
		}
		edits := 2
		if len(matched) >= 3 {
			// Reject a third item: it leaves the frame and the player.
			c := matched[1]
			u.click(fmt.Sprintf(`.item[data-item=%q] button.reject`, c))
			u.waitVersion(v3.Version + 1)
			v3 = st.published(t, vid)
			if rv, pid, _ := v3.item(c); rv != "rejected" || pid != "" {
				t.Errorf("after rejecting %s: %s/%s in %s", c, rv, pid, v3)
			}
			u.exec(fmt.Sprintf(`document.getElementById('review-video').currentTime = %f`, v3.start(c)+0.05))
			u.wait("the rejected item's box gone", fmt.Sprintf(`(() => { const v = document.getElementById('review-video');
			  return !v.seeking && !document.querySelector('.overlay .box[data-item=%q]'); })()`, c), 20*time.Second)
			edits++
		}
		u.wait("the history", fmt.Sprintf(`document.querySelectorAll('#history tr').length === %d && document.getElementById('history').textContent.includes('ops-admin')`, edits), 10*time.Second)
		u.screenshot("review-edited.png")

		// A re-match (started from the video's workflow page) recomputes
		// the matches; the edits stay.
		u.click(`a[href^="#/workflow/"]`)
		u.wait("re-run matching enabled", `!!document.getElementById('rematch') && !document.getElementById('rematch').disabled`, 20*time.Second)
		before := u.str(`location.hash`)
		u.click("#rematch")
		u.wait("the re-match workflow", fmt.Sprintf(`location.hash !== %q && document.querySelectorAll('#graph .node').length === 3`, before), 20*time.Second)
		u.wait("re-match succeeded", graphJS("succeeded"), 3*time.Minute)
		v4 := st.published(t, vid)
		if rv, pid, _ := v4.item(b); v4.Version != v3.Version+1 || rv != "replaced" || pid != pick {
			t.Errorf("after re-matching: %s, want %s still replaced by %s in a new version", v4, b, pick)
		}

		// Search across videos finds the replaced product and jumps there.
		u.goTo("#/search?product_id="+pick, fmt.Sprintf(`.hit[data-video=%q] a.jump`, vid))
		u.screenshot("search-videos.png")
		href := u.str(fmt.Sprintf(`document.querySelector('.hit[data-video=%q] a.jump').getAttribute('href')`, vid))
		var at float64
		if _, err := fmt.Sscanf(href[strings.Index(href, "?t=")+3:], "%g", &at); err != nil {
			t.Fatalf("jump link %q: %v", href, err)
		}
		u.click(fmt.Sprintf(`.hit[data-video=%q] a.jump`, vid))
		u.wait("the review page at that moment", fmt.Sprintf(`(() => { const v = document.getElementById('review-video');
		  return !!v && v.readyState >= 1 && Math.abs(v.currentTime - %f) < 0.3; })()`, at), 30*time.Second)
	})

	t.Run("text search across videos", func(t *testing.T) {
		u := u.in(t)
		doc := st.published(t, vid)
		if len(doc.Items) == 0 {
			t.Fatal("no items")
		}
		label := doc.Items[0].Label
		u.goTo("#/search", "#video-q")
		u.do(chromedp.SendKeys("#video-q", label))
		u.click("#video-search")
		u.wait("a hit for the label", fmt.Sprintf(`!!document.querySelector('.hit[data-video=%q] a.jump') && location.hash.includes('q=')`, vid), 20*time.Second)
		if txt := u.str(fmt.Sprintf(`document.querySelector('.hit[data-video=%q] ul').textContent`, vid)); !strings.Contains(txt, label) {
			t.Errorf("ranges %q do not show the label %q", txt, label)
		}
		// Each hit shows its file name and a keyframe; the box shows the
		// query as run.
		if name := u.str(fmt.Sprintf(`document.querySelector('.hit[data-video=%q] h3 .name').textContent`, vid)); name != filepath.Base(clip) {
			t.Errorf("hit named %q, want the file name %q", name, filepath.Base(clip))
		}
		u.wait("the hit's thumbnail", fmt.Sprintf(`(() => { const i = document.querySelector('.hit[data-video=%q] .thumb img'); return !!i && i.complete && i.naturalWidth > 0; })()`, vid), 20*time.Second)
		if got := u.str(`document.getElementById('video-q').value`); got != label {
			t.Errorf("search box shows %q, want the query run %q", got, label)
		}
		if ran := u.str(`document.getElementById('query-run').textContent`); !strings.Contains(ran, label) || !strings.Contains(ran, "catalog product") {
			t.Errorf("query shown as %q", ran)
		}
		u.screenshot("search-videos-text.png")
	})

	t.Run("preview as shopper", func(t *testing.T) {
		u := u.in(t)
		u.goTo("#/video/"+vid, "#preview-link")
		href := u.str(`document.getElementById('preview-link').getAttribute('href')`)
		if href != "/demo/"+vid {
			t.Fatalf("preview link %q, want /demo/%s", href, vid)
		}
		// Follow it in this tab: the player plays the published version.
		u.do(chromedp.Navigate(st.srv.URL + href))
		u.wait("the player on the demo page", playertest.ReadyJS, 30*time.Second)
		if n := playertest.Eval[int](t, ctx, `(() => document.querySelector('vitrine-player').shadowRoot.querySelectorAll('.marker').length)()`); n == 0 {
			t.Error("the preview shows no product markers")
		}
		u.do(chromedp.Navigate(st.srv.URL + "/console/"))
		u.wait("the console again", `!document.getElementById('nav').hidden && !!document.getElementById('videos')`, 20*time.Second)
	})

	t.Run("a failing step shows red and can be retried", func(t *testing.T) {
		u := u.in(t)
		raw, err := os.ReadFile(clip)
		if err != nil {
			t.Fatal(err)
		}
		broken := filepath.Join(t.TempDir(), "broken.mp4")
		if err := os.WriteFile(broken, raw[:len(raw)/5], 0o640); err != nil {
			t.Fatal(err)
		}
		id := u.uploadVideo(broken)
		u.wait("a failed step", anyFailedJS, 3*time.Minute)
		node := `#graph .node[data-state="failed"]`
		if fill := u.str(fmt.Sprintf(`getComputedStyle(document.querySelector('%s rect')).fill`, node)); fill != "rgb(251, 225, 225)" {
			t.Errorf("failed node fill %s, want red", fill)
		}
		u.click(node)
		u.wait("the step's error", `(document.getElementById('step-error') || {}).textContent?.length > 0`, 10*time.Second)
		msg := u.str(`document.getElementById('step-error').textContent`)
		if !strings.Contains(msg, id) {
			t.Errorf("step error %q does not name the video", msg)
		}
		u.screenshot("failed-step.png")

		u.goTo("#/", fmt.Sprintf(`#videos tr[data-video=%q]`, id))
		if first := u.str(`document.querySelector('#videos tr').dataset.video`); first != id {
			t.Errorf("dashboard lists %s first, want the failed %s", first, id)
		}
		u.screenshot("dashboard-failure-first.png")

		// Fix the cause (the source is uploaded again) and retry.
		st.fixSource(t, id, clip)
		wf := u.str(fmt.Sprintf(`document.querySelector('#videos tr[data-video=%q] a[href^="#/workflow/"]').getAttribute('href')`, id))
		// A truncated upload is a permanent input error: no Retry up
		// front, a Run again for an operator who replaced the source.
		u.goTo(wf, "#wf-problem")
		if u.num(`document.querySelectorAll('#retry').length`) != 0 {
			t.Error("Retry is offered for a permanent input error")
		}
		u.click("#wf-problem details summary")
		u.click("#retry-anyway")
		u.wait("the retried workflow to succeed", graphJS("succeeded"), 8*time.Minute)
		u.screenshot("retried-succeeded.png")
	})

	t.Run("cancel a running workflow", func(t *testing.T) {
		u := u.in(t)
		var started struct {
			WorkflowID int64 `json:"workflow_id"`
		}
		st.call(t, "POST", "/v1/selftest", strings.NewReader(`{"step_delay":"3s"}`), &started)
		u.goTo(fmt.Sprintf("#/workflow/%d", started.WorkflowID), `#graph .node[data-state="running"]`)
		u.screenshot("selftest-running.png")
		u.click("#cancel")
		u.wait("the workflow cancelled", `!!document.querySelector('.wf-head .badge.state-cancelled') && !!document.querySelector('#graph .node[data-state="cancelled"]')`, 30*time.Second)
		if fill := u.str(`getComputedStyle(document.querySelector('#graph .node[data-state="cancelled"] rect')).fill`); fill != "rgb(228, 229, 232)" {
			t.Errorf("cancelled node fill %s, want grey", fill)
		}
		u.screenshot("selftest-cancelled.png")
	})

	t.Run("catalog browser", func(t *testing.T) {
		u := u.in(t)
		u.goTo("#/catalog", ".pcard")
		u.wait("product images", `[...document.querySelectorAll('.pcard img')].some((i) => i.complete && i.naturalWidth > 0)`, 20*time.Second)
		if info := u.str(`document.getElementById('catalog-info').textContent`); !strings.Contains(info, "ready") {
			t.Errorf("catalog info %q, want counts per state", info)
		}
		u.do(chromedp.SendKeys("#catalog-q", "jeans"))
		u.click("#catalog-search")
		u.wait("text results", `document.getElementById('catalog-info').textContent.includes('matching') && !!document.querySelector('.pcard[data-product="16820"]')`, 20*time.Second)
		// Search by an uploaded image: the jeans' own packshot finds them.
		u.do(chromedp.SetUploadFiles("#catalog-img", []string{filepath.Join(samples, "catalog", "images", "16820.jpg")}))
		u.wait("image results", `document.getElementById('catalog-info').textContent.includes('like 16820.jpg') && !!document.querySelector('.pcard[data-product="16820"]')`, time.Minute)
		if first := u.str(`document.querySelector('.pcard').dataset.product`); first != "16820" {
			t.Errorf("image search ranks %s first, want the pictured product 16820", first)
		}
		u.click(`.pcard[data-product="16820"] button.similar`)
		u.wait("similar products", `document.getElementById('catalog-info').textContent.includes('similar') && document.querySelectorAll('.pcard').length > 0`, 30*time.Second)
		if u.num(`document.querySelectorAll('.pcard[data-product="16820"]').length`) != 0 {
			t.Error("a product is listed as similar to itself")
		}
		u.screenshot("catalog.png")
	})

	u.goTo("#/", "#videos tr")
	u.wait("overview", `document.querySelectorAll('#videos tr[data-video]').length >= 2`, 20*time.Second)
	speed := u.str(`document.querySelector('#videos tr[data-video] td:nth-child(7)').textContent`)
	if !strings.Contains(speed, "real time") {
		t.Errorf("dashboard speed column %q", speed)
	}
	// The reviewed video was re-matched since: the dashboard shows the
	// analysis time and, apart, the later workflow's.
	var ov struct {
		Videos []struct {
			ID       string
			Workflow struct {
				Kind     string
				ElapsedS float64 `json:"elapsed_s"`
			}
			Analysis *struct {
				Kind     string
				ElapsedS float64 `json:"elapsed_s"`
			}
		}
	}
	st.call(t, "GET", "/console/api/overview", nil, &ov)
	for _, v := range ov.Videos {
		if v.ID != vid {
			continue
		}
		if v.Analysis == nil || v.Analysis.Kind == v.Workflow.Kind {
			t.Errorf("overview of %s: analysis %+v beside workflow %+v, want the analysis apart from the later re-match", vid, v.Analysis, v.Workflow)
			break
		}
		row := fmt.Sprintf(`#videos tr[data-video=%q]`, vid)
		took := u.str(fmt.Sprintf(`document.querySelector('%s .analysis-took').textContent`, row))
		later := u.str(fmt.Sprintf(`(document.querySelector('%s .later') || {}).textContent || ''`, row))
		if took == "–" || !strings.HasPrefix(later, "then ") {
			t.Errorf("dashboard took %q, later %q: want the analysis time and the later workflow apart", took, later)
		}
	}
	u.wait("the batch row", `!!document.querySelector('#batches tr.wfrow')`, 10*time.Second)
	if rate := u.str(`document.querySelector('#batches tr.wfrow td:nth-child(7)').textContent`); !strings.Contains(rate, "products/s") {
		t.Errorf("dashboard batch speed %q", rate)
	}
	u.screenshot("dashboard.png")
	errs.Check(t)

	// The page never saw the API key after login, and logout ends the session.
	u.click("#logout")
	u.wait("the login form", `!!document.getElementById('login-key')`, 10*time.Second)
	var out map[string]any
	if err := json.Unmarshal([]byte(u.str(`(async () => JSON.stringify({s: (await fetch('/console/api/session')).status}))()`)), &out); err != nil || out["s"] != float64(401) {
		t.Errorf("session after logout: %v %v", out, err)
	}
}
