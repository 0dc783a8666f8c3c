package console_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/web/player/playertest"
)

// login signs the tab in with the stack's admin key and waits for the
// dashboard.
func (u *ui) login() {
	u.t.Helper()
	u.do(chromedp.Navigate(u.st.srv.URL + "/console/"))
	u.wait("the login form", `!!document.getElementById('login-key')`, 20*time.Second)
	u.do(chromedp.SendKeys("#login-key", u.st.admin))
	u.click(`#login-form button[type=submit]`)
	u.wait("the dashboard", `!document.getElementById('nav').hidden && !!document.getElementById('videos')`, 20*time.Second)
}

// signedIn opens a browser tab on the stack's console, signed in with the
// admin key; the page errors of the tab are watched.
func (st *stack) signedIn(t *testing.T) (*ui, *playertest.PageErrors) {
	t.Helper()
	ctx := playertest.Browser(t)
	errs := playertest.WatchErrors(ctx)
	u := &ui{t: t, ctx: ctx, st: st}
	u.login()
	return u, errs
}

// importFile uploads a catalog file from the dashboard and waits for its
// workflow to end; it returns the workflow page's hash.
func (u *ui) importFile(path string) string {
	u.t.Helper()
	u.goTo("#/", "#catalog-file")
	u.do(chromedp.SetUploadFiles("#catalog-file", []string{path}))
	u.click("#catalog-upload")
	u.wait("the column mapping", `!!document.getElementById('catalog-start')`, time.Minute)
	u.click("#catalog-start")
	u.wait("the catalog workflow page", `location.hash.startsWith('#/workflow/') && !!document.querySelector('#graph .node')`, time.Minute)
	u.wait("the catalog workflow to end", graphJS("succeeded"), 5*time.Minute)
	return u.str(`location.hash`)
}

// uploadedRef uploads one sample packshot through the API and returns its
// blob: reference.
func (st *stack) uploadedRef(t *testing.T, samples, id string) string {
	t.Helper()
	img := testenv.SampleImage(t, id)
	var up struct {
		Ref string `json:"ref"`
	}
	st.call(t, "POST", "/v1/catalog/images", bytes.NewReader(img), &up)
	return up.Ref
}

// batchView is what the dashboard and the workflow page show of a batch.
type batchView struct {
	Badge, BadgeColour, Counts, Reasons, Hint string
}

const batchRowJS = `(() => { const r = document.querySelector('#batches tr[data-batch="%d"]'); if (!r) return null;
  const b = r.querySelector('.badge');
  return {Badge: b.textContent, BadgeColour: getComputedStyle(b).backgroundColor, Counts: (r.querySelector('.batch-counts') || {}).textContent || '',
    Reasons: [...r.querySelectorAll('.batch-reasons .reason')].map((e) => e.textContent).join('\n'),
    Hint: (r.querySelector('.batch-reasons .hint') || {}).textContent || ''}; })()`

// TestConsoleCatalogImportOutcome imports, from the console, a CSV whose
// rows half get in (their images were uploaded) and half fail (their
// images are paths that did not come with the file), then one where every
// row fails: the first batch is partial in amber and the second failed in
// red, each with its counts and first reasons, on the dashboard, on the
// workflow page and in the API, and the failed one says what the file
// needs.
func TestConsoleCatalogImportOutcome(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser and the catalog workflow")
	}
	samples := testenv.Samples(t)
	st := newStack(t)
	u, errs := st.signedIn(t)

	dir := t.TempDir()
	partial := filepath.Join(dir, "half.csv")
	csv := "id,title,category,image\n" +
		"16647,Tee,Tshirts," + st.uploadedRef(t, samples, "16647") + "\n" +
		"16820,Jeans,Jeans," + st.uploadedRef(t, samples, "16820") + "\n" +
		"x1,Lost dress,Dress,images/x1.jpg\n" +
		"x2,Lost skirt,Skirt,images/x2.jpg\n"
	if err := os.WriteFile(partial, []byte(csv), 0o640); err != nil {
		t.Fatal(err)
	}
	lone := filepath.Join(dir, "products.csv")
	if err := os.WriteFile(lone, []byte("id,name,image\n14976,Zorelle|Midi Dress,images/14976.jpg\n14977,Abril|Midi Dress,images/14977.jpg\n"), 0o640); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, file, outcome, colour, counts string
		reasons                             []string
		hint                                bool
	}{
		{"partial", partial, "partial", "rgb(251, 239, 214)", "2 added · 0 updated · 2 failed", []string{"line 4 (x1)", "line 5 (x2)", "not found"}, true},
		{"every row failed", lone, "failed", "rgb(251, 225, 225)", "0 added · 0 updated · 2 failed", []string{"line 2 (14976)", "not found"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := u.in(t)
			wf := u.importFile(tc.file)
			// The workflow page: the badge says how the rows fared.
			u.wait("the batch summary", `!!document.getElementById('batch-summary')`, 20*time.Second)
			if got := u.str(`document.querySelector('.wf-head h1 .badge').textContent`); got != tc.outcome {
				t.Errorf("workflow page badge %q, want %q", got, tc.outcome)
			}
			sum := u.str(`document.getElementById('batch-summary').textContent`)
			for _, w := range append([]string{tc.counts}, tc.reasons...) {
				if !strings.Contains(sum, w) {
					t.Errorf("workflow page batch summary %q lacks %q", sum, w)
				}
			}
			u.screenshot("catalog-import-" + tc.outcome + "-workflow.png")

			var batch int
			if _, err := fmt.Sscanf(u.str(`document.querySelector('.wf-head .subject').textContent`), "batch:%d", &batch); err != nil {
				t.Fatal(err)
			}
			// The API says the same.
			var api struct {
				State, Outcome, Source, Hint string
				Failed, Total                int
				Errors                       []struct{ Reason string }
			}
			st.call(t, "GET", fmt.Sprintf("/v1/catalog/batches/%d", batch), nil, &api)
			if api.State != "succeeded" || api.Outcome != tc.outcome || api.Failed != 2 || len(api.Errors) != 2 || (api.Hint != "") != tc.hint {
				t.Errorf("GET batch %d: %+v, want outcome %s with 2 failed rows and their reasons", batch, api, tc.outcome)
			}
			if api.Source != filepath.Base(tc.file) {
				t.Errorf("batch source %q, want the file's name %q and no server path", api.Source, filepath.Base(tc.file))
			}

			// The dashboard row: badge colour, counts, first reasons.
			u.goTo("#/", fmt.Sprintf(`#batches tr[data-batch="%d"]`, batch))
			got := playertest.Eval[*batchView](t, u.ctx, fmt.Sprintf(batchRowJS, batch))
			if got == nil {
				t.Fatalf("no dashboard row for batch %d (from %s)", batch, wf)
			}
			if got.Badge != tc.outcome || got.BadgeColour != tc.colour {
				t.Errorf("dashboard badge %q in %s, want %q in %s", got.Badge, got.BadgeColour, tc.outcome, tc.colour)
			}
			if got.Counts != tc.counts {
				t.Errorf("dashboard counts %q, want %q", got.Counts, tc.counts)
			}
			for _, w := range tc.reasons {
				if !strings.Contains(got.Reasons, w) {
					t.Errorf("dashboard reasons %q lack %q", got.Reasons, w)
				}
			}
			if tc.hint && !strings.Contains(got.Hint, "ZIP") {
				t.Errorf("dashboard hint %q, want it to say a ZIP with the images (or image URLs) is needed", got.Hint)
			}
			u.screenshot("catalog-import-" + tc.outcome + "-dashboard.png")

			// Failed products show no broken image tile.
			u.goTo("#/catalog", ".pcard")
			u.wait("product cards and their images", `document.querySelectorAll('.pcard').length > 0 && [...document.querySelectorAll('.pcard img')].every((i) => i.complete)`, 20*time.Second)
			if n := u.num(`[...document.querySelectorAll('.pcard img')].filter((i) => i.complete && i.naturalWidth === 0).length`); n != 0 {
				t.Errorf("%v broken image tiles on the catalog page", n)
			}
		})
	}
	errs.Check(t)
}

// TestConsoleErrorsInWords uploads a truncated video and a text file named
// .mp4: each fails with "the file is truncated or not a video" and what to
// do, the original message folded below, no server path anywhere on the
// page or in the API's answers, and no Retry button (a retry cannot fix a
// bad file).
func TestConsoleErrorsInWords(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser")
	}
	samples := testenv.Samples(t)
	st := newStack(t)
	u, errs := st.signedIn(t)

	raw, err := os.ReadFile(filepath.Join(samples, "videos", "videoavatars_person_turntable.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.mp4")
	if err := os.WriteFile(cut, raw[:len(raw)/5], 0o640); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.mp4")
	if err := os.WriteFile(text, []byte("these are meeting notes, not a video\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	// Paths of this machine that must not reach a page: the data
	// directory (blobs, work files) and the uploaded files' directory.
	private := []string{st.dir, dir, "file:"}
	for _, f := range []string{cut, text} {
		t.Run(filepath.Base(f), func(t *testing.T) {
			u := u.in(t)
			id := u.uploadVideo(f)
			u.wait("the failure in words", `!!document.querySelector('#wf-problem .summary')`, 3*time.Minute)
			if got := u.str(`document.querySelector('#wf-problem .summary').textContent`); got != "The file is truncated or not a video." {
				t.Errorf("workflow page says %q", got)
			}
			if got := u.str(`document.querySelector('#wf-problem p.error').textContent`); !strings.Contains(got, "Upload the complete file again") {
				t.Errorf("workflow page gives no action: %q", got)
			}
			if u.num(`document.querySelectorAll('#retry').length`) != 0 {
				t.Error("Retry is offered for a file that is not a video")
			}
			if u.str(`document.querySelector('#wf-problem details').open ? 'open' : 'folded'`) != "folded" {
				t.Error("the ffmpeg detail is not folded")
			}
			detail := u.str(`document.getElementById('wf-error').textContent`)
			if !strings.Contains(detail, id) {
				t.Errorf("the folded detail %q does not name the video", detail)
			}
			t.Logf("folded detail: %s", detail)
			u.click(`#graph .node[data-state="failed"]`)
			u.wait("the step's error", `!!document.querySelector('#step-problem .summary')`, 10*time.Second)
			u.screenshot("error-in-words-" + filepath.Base(f) + ".png")
			page := u.str(`document.body.innerText + document.getElementById('app').textContent`)
			u.goTo("#/", fmt.Sprintf(`#videos tr[data-video=%q] .problem`, id))
			if got := u.str(fmt.Sprintf(`document.querySelector('#videos tr[data-video=%q] .problem').textContent`, id)); got != "The file is truncated or not a video." {
				t.Errorf("dashboard says %q", got)
			}
			page += u.str(`document.getElementById('app').textContent`)
			var api struct {
				Error string
			}
			st.call(t, "GET", "/v1/videos/"+id, nil, &api)
			var wfs struct {
				Workflows []struct{ Error string }
			}
			st.call(t, "GET", "/v1/workflows?subject="+id, nil, &wfs)
			page += api.Error
			for _, w := range wfs.Workflows {
				page += w.Error
			}
			for _, p := range private {
				if strings.Contains(page, p) {
					t.Errorf("%q appears in what the console and the API show: %s", p, page)
				}
			}
		})
	}
	errs.Check(t)
}

// virgioRows returns the header and the first n rows of the brand catalog's
// products.csv, whose images are paths (images/ID.jpg).
func virgioRows(t *testing.T, samples string, n int) ([]string, [][]string) {
	t.Helper()
	rows := testenv.CatalogRows(t, filepath.Join(samples, "catalog_virgio"))
	return rows[0], rows[1 : n+1]
}

func csvBytes(t *testing.T, rows ...[]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// mappingView is what the mapping step shows.
type mappingView struct {
	Needs, Images string
	Remembered    bool
	Mapping       map[string]string
}

const mappingJS = `(() => { const m = {}; for (const s of document.querySelectorAll('#catalog-mapping select[data-field]')) m[s.dataset.field] = s.value;
  return {Needs: (document.getElementById('catalog-needs') || {}).textContent || '', Images: (document.getElementById('catalog-images') || {}).textContent || '',
    Remembered: !!document.getElementById('mapping-remembered'), Mapping: m}; })()`

// upload puts a file in the dashboard's catalog form and waits for the
// mapping step.
func (u *ui) uploadCatalog(path string) mappingView {
	u.t.Helper()
	u.goTo("#/", "#catalog-file")
	// The dashboard may still show the step of an earlier upload.
	u.exec(`document.getElementById('catalog-mapping')?.remove()`)
	u.do(chromedp.SetUploadFiles("#catalog-file", []string{path}))
	u.click("#catalog-upload")
	u.wait("the column mapping of "+filepath.Base(path), `!!document.getElementById('catalog-mapping')`, time.Minute)
	return playertest.Eval[mappingView](u.t, u.ctx, mappingJS)
}

// TestConsoleCatalogOnboarding onboards catalogs from the console as a
// merchant would: the brand's CSV alone is told it needs a ZIP with its
// images; the same CSV in a ZIP with its images imports with clean titles;
// a feed with its own column names and image URLs is mapped by hand, and
// the mapping is remembered for the next file of that name.
func TestConsoleCatalogOnboarding(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a real browser and the catalog workflow")
	}
	samples := testenv.Samples(t)
	st := newStack(t)
	u, errs := st.signedIn(t)
	head, rows := virgioRows(t, samples, 4)
	dir := t.TempDir()

	t.Run("a CSV naming image files needs a ZIP", func(t *testing.T) {
		u := u.in(t)
		p := filepath.Join(dir, "products.csv")
		if err := os.WriteFile(p, csvBytes(t, append([][]string{head}, rows...)...), 0o640); err != nil {
			t.Fatal(err)
		}
		got := u.uploadCatalog(p)
		if !strings.Contains(got.Needs, "ZIP") || !strings.Contains(got.Needs, "images/") {
			t.Errorf("the mapping step says %q, want that the images need a ZIP", got.Needs)
		}
		u.screenshot("catalog-needs-zip.png")
	})

	t.Run("a ZIP with the CSV and its images", func(t *testing.T) {
		u := u.in(t)
		var zb bytes.Buffer
		zw := zip.NewWriter(&zb)
		add := func(name string, b []byte) {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(b)
		}
		add("virgio/products.csv", csvBytes(t, append([][]string{head}, rows...)...))
		add("virgio/README.txt", []byte("our spring catalog"))
		for _, r := range rows {
			img, err := os.ReadFile(filepath.Join(samples, "catalog_virgio", r[4]))
			if err != nil {
				t.Fatal(err)
			}
			add("virgio/"+r[4], img)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "virgio.zip")
		if err := os.WriteFile(p, zb.Bytes(), 0o640); err != nil {
			t.Fatal(err)
		}
		got := u.uploadCatalog(p)
		if got.Needs != "" || !strings.Contains(got.Images, "4 of 4 image files found in the ZIP") {
			t.Errorf("mapping step of the ZIP: needs %q, images %q", got.Needs, got.Images)
		}
		if got.Mapping["id"] != "id" || got.Mapping["title"] != "name" || got.Mapping["image"] != "image" || got.Mapping["price"] != "price_inr" {
			t.Errorf("suggested mapping %v, want id, name, image and price_inr", got.Mapping)
		}
		u.screenshot("catalog-zip-mapping.png")
		u.click("#catalog-start")
		u.wait("the catalog workflow page", `location.hash.startsWith('#/workflow/') && !!document.querySelector('#graph .node')`, time.Minute)
		u.wait("the import", graphJS("succeeded"), 5*time.Minute)
		u.wait("the batch summary", `!!document.getElementById('batch-summary')`, 20*time.Second)
		if b := u.str(`document.querySelector('.wf-head h1 .badge').textContent`); b != "succeeded" {
			t.Errorf("ZIP import is %q: %s", b, u.str(`document.getElementById('batch-summary').textContent`))
		}
		for _, r := range rows {
			var p struct {
				Title, Status string
				Price         float64
			}
			st.call(t, "GET", "/v1/catalog/products/"+r[0], nil, &p)
			if p.Status != "ready" || p.Title != r[1] {
				t.Errorf("product %s: %+v, want ready with title %q", r[0], p, r[1])
			}
		}
		u.goTo("#/catalog", ".pcard")
		u.wait("the imported images", fmt.Sprintf(`(() => { const i = document.querySelector('.pcard[data-product=%q] img'); return !!i && i.complete && i.naturalWidth > 0; })()`, rows[0][0]), 20*time.Second)
	})

	t.Run("a feed with image URLs, mapped by hand and remembered", func(t *testing.T) {
		u := u.in(t)
		shop := httptest.NewServer(http.StripPrefix("/img/", http.FileServer(http.Dir(filepath.Join(samples, "catalog_virgio", "images")))))
		defer shop.Close()
		feed := func(n int) string {
			out := [][]string{{"Code", "Label", "Page", "Cost", "Picture", "Notes"}}
			for _, r := range rows[:n] {
				out = append(out, []string{"shop-" + r[0], "Tee " + r[0], "https://shop.example/p/" + r[0], r[8], shop.URL + "/img/" + r[0] + ".jpg", "n/a"})
			}
			p := filepath.Join(t.TempDir(), "shopfeed.csv")
			if err := os.WriteFile(p, csvBytes(t, out...), 0o640); err != nil {
				t.Fatal(err)
			}
			return p
		}
		got := u.uploadCatalog(feed(2))
		if got.Remembered || got.Mapping["id"] != "" || got.Mapping["image"] != "" || !strings.Contains(got.Needs, "No column is mapped to the image") {
			t.Errorf("first upload of the feed: %+v, want nothing mapped yet, and said that the image needs a column", got)
		}
		want := map[string]string{"id": "Code", "title": "Label", "url": "Page", "price": "Cost", "image": "Picture"}
		for f, c := range want {
			u.exec(fmt.Sprintf(`document.getElementById('map-%s').value = %q`, f, c))
		}
		u.click("#catalog-start")
		u.wait("the catalog workflow page", `location.hash.startsWith('#/workflow/') && !!document.querySelector('#graph .node')`, time.Minute)
		u.wait("the import", graphJS("succeeded"), 5*time.Minute)
		for _, r := range rows[:2] {
			var p struct {
				Title, Status, URL string
				Price              float64
			}
			st.call(t, "GET", "/v1/catalog/products/shop-"+r[0], nil, &p)
			if p.Status != "ready" || p.Title != "Tee "+r[0] || p.URL != "https://shop.example/p/"+r[0] || p.Price == 0 {
				t.Errorf("product shop-%s: %+v, want ready with its title, link and price", r[0], p)
			}
		}
		// The next file of that name comes with the mapping.
		got = u.uploadCatalog(feed(3))
		if !got.Remembered {
			t.Error("the mapping was not remembered")
		}
		for f, c := range want {
			if got.Mapping[f] != c {
				t.Errorf("remembered mapping %v, want %v", got.Mapping, want)
				break
			}
		}
		if got.Needs != "" || !strings.Contains(got.Images, "3 image URLs") {
			t.Errorf("remembered mapping step: needs %q, images %q; want the 3 image URLs seen", got.Needs, got.Images)
		}
		u.screenshot("catalog-mapping-remembered.png")
	})
	errs.Check(t)
}
