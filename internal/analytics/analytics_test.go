package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/store/storetest"
)

func openDB(t testing.TB) *store.DB {
	t.Helper()
	return storetest.SQLite().Open(t)
}

func TestEventValidation(t *testing.T) {
	ok := Event{Type: Impression, VideoID: "v_1", ItemID: "t3", ProductID: "16647", T: 1.5, Session: "s-abc"}
	cases := []struct {
		name string
		mod  func(*Event)
		want string // "" means valid
	}{
		{"valid", func(*Event) {}, ""},
		{"impression without product", func(e *Event) { e.ProductID = "" }, ""},
		{"unknown type", func(e *Event) { e.Type = "purchase" }, "type"},
		{"empty video", func(e *Event) { e.VideoID = "" }, "video id"},
		{"video with slash", func(e *Event) { e.VideoID = "../x" }, "video id"},
		{"long item", func(e *Event) { e.ItemID = strings.Repeat("a", 129) }, "item id"},
		{"product with space", func(e *Event) { e.ProductID = "a b" }, "product id"},
		{"click without product", func(e *Event) { e.Type, e.ProductID = Click, "" }, "needs a product"},
		{"add to cart", func(e *Event) { e.Type = AddToCart }, ""},
		{"add to cart without product", func(e *Event) { e.Type, e.ProductID = AddToCart, "" }, "needs a product"},
		{"negative time", func(e *Event) { e.T = -1 }, "time"},
		{"session with markup", func(e *Event) { e.Session = "<script>" }, "session"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := ok
			tc.mod(&e)
			err := e.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want ErrInvalid about %q", err, tc.want)
			}
		})
	}
}

// TestStoreReports runs on every dialect (PostgreSQL when
// $VITRINE_TEST_POSTGRES names a server).
func TestStoreReports(t *testing.T) {
	for _, o := range storetest.All() {
		t.Run(o.Name, func(t *testing.T) { testStoreReports(t, NewStore(o.Open(t), 5)) })
	}
}

func testStoreReports(t *testing.T, st *Store) {
	ctx := context.Background()
	day1 := time.Date(2026, 11, 24, 23, 59, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Minute)
	rec := func(at time.Time, typ, video, product string) Record {
		return Record{Event: Event{Type: typ, VideoID: video, ItemID: "t1", ProductID: product, T: 1}, At: at, KeyID: "pk_x"}
	}
	batch1 := []Record{
		rec(day1, Impression, "v1", "p1"), rec(day1, Impression, "v1", "p1"), rec(day1, Click, "v1", "p1"),
		rec(day1, Impression, "v1", "p2"), rec(day1, Impression, "v2", "p1"),
	}
	batch2 := []Record{
		rec(day2, Impression, "v1", "p1"), rec(day2, Buy, "v1", "p1"), rec(day2, AddToCart, "v1", "p2"), rec(day2, Impression, "v1", ""),
	}
	if err := st.Write(ctx, batch1); err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, batch2); err != nil {
		t.Fatal(err)
	}
	rg := Range{From: day1, To: day2}

	v1, err := st.VideoReport(ctx, "v1", rg)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Total != (Counts{Impressions: 5, Clicks: 1, Buys: 1, AddToCart: 1, CTR: 0.2}) {
		t.Errorf("v1 total %+v", v1.Total)
	}
	if len(v1.Rows) != 3 || v1.Rows[0].ID != "p1" || v1.Rows[0].Impressions != 3 || v1.Rows[0].Clicks != 1 || v1.Rows[0].Buys != 1 {
		t.Errorf("v1 rows %+v, want p1 first with 3 impressions", v1.Rows)
	}
	for _, r := range v1.Rows {
		if want := map[string]int64{"p2": 1}[r.ID]; r.AddToCart != want {
			t.Errorf("v1 row %s: %d added to cart, want %d", r.ID, r.AddToCart, want)
		}
	}
	if len(v1.Days) != 2 || v1.Days[0].Day != "2026-11-24" || v1.Days[0].Impressions != 3 || v1.Days[1].Impressions != 2 {
		t.Errorf("v1 days %+v", v1.Days)
	}

	p1, err := st.ProductReport(ctx, "p1", rg)
	if err != nil {
		t.Fatal(err)
	}
	if p1.Total.Impressions != 4 || len(p1.Rows) != 2 || p1.Rows[0].ID != "v1" || p1.Rows[1].ID != "v2" {
		t.Errorf("p1 report %+v", p1)
	}
	// A range that ends before day 2 leaves it out.
	only1, _ := st.VideoReport(ctx, "v1", Range{From: day1, To: day1})
	if only1.Total.Impressions != 3 || only1.Total.Buys != 0 {
		t.Errorf("day-1 report %+v", only1.Total)
	}

	vids, err := st.Videos(ctx, rg, 10)
	if err != nil || len(vids) != 2 || vids[0].ID != "v1" || vids[0].Impressions != 5 || vids[0].AddToCart != 1 {
		t.Errorf("Videos: %+v %v", vids, err)
	}

	// The raw table is capped at 5; the counters above still saw all 9.
	recent, err := st.Recent(ctx, "", 100)
	if err != nil || len(recent) != 5 {
		t.Fatalf("Recent: %d events, %v; want the cap of 5", len(recent), err)
	}
	if recent[0].Type != Impression || recent[0].ProductID != "" || !recent[0].At.Equal(day2) || recent[0].KeyID != "pk_x" {
		t.Errorf("newest raw event %+v", recent[0])
	}
}

type ingestEnv struct {
	srv *httptest.Server
	st  *Store
	rec *Recorder
}

func newIngestEnv(t *testing.T, cfg IngestConfig) *ingestEnv {
	t.Helper()
	st := NewStore(openDB(t), 0)
	rec := NewRecorder(st, RecorderConfig{FlushInterval: time.Hour}, nil)
	t.Cleanup(func() { rec.Close(context.Background()) })
	cfg.KeyOf = func(r *http.Request) string { return r.URL.Query().Get("key") }
	mux := http.NewServeMux()
	mux.Handle("/v1/public/events", NewIngest(rec, cfg))
	rep := NewReports(st)
	mux.HandleFunc("GET /v1/analytics/videos", rep.ServeVideos)
	mux.HandleFunc("GET /v1/analytics/videos/{id}", rep.ServeVideo)
	mux.HandleFunc("GET /v1/analytics/products/{id}", rep.ServeProduct)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &ingestEnv{srv, st, rec}
}

func (e *ingestEnv) post(t *testing.T, contentType, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(e.srv.URL+"/v1/public/events?key=pk_test", contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func eventsJSON(n int, typ string) string {
	var evs []string
	for i := range n {
		evs = append(evs, fmt.Sprintf(`{"type":%q,"video":"v1","item":"t%d","product":"p%d","t":%d.5,"session":"s1"}`, typ, i, i%3, i))
	}
	return `{"events":[` + strings.Join(evs, ",") + `]}`
}

func TestIngest(t *testing.T) {
	env := newIngestEnv(t, IngestConfig{MaxBody: 4096})
	cases := []struct {
		name, ctype, body string
		status            int
		want              string
	}{
		{"json", "application/json", eventsJSON(3, Impression), 202, `"accepted":3`},
		{"beacon text/plain", "text/plain;charset=UTF-8", eventsJSON(1, Click), 202, `"accepted":1`},
		{"repeated event", "application/json", `{"events":[{"type":"buy","video":"v1","item":"t0","product":"p0","t":1},{"type":"buy","video":"v1","item":"t0","product":"p0","t":1}]}`, 202, `"accepted":1`},
		{"not json", "application/json", `type=click`, 400, "not an event batch"},
		{"unknown field", "application/json", `{"events":[{"type":"click","video":"v1","item":"t","product":"p","t":1,"price":5}]}`, 400, "unknown field"},
		{"trailing data", "application/json", eventsJSON(1, Click) + `{}`, 400, "after the event batch"},
		{"empty", "application/json", `{"events":[]}`, 400, "no events"},
		{"bad event", "application/json", `{"events":[{"type":"impression","video":"v1","item":"t","t":1},{"type":"view","video":"v1","item":"t","t":1}]}`, 400, "event 1"},
		{"too many", "application/json", strings.Repeat(" ", 0) + eventsJSON(MaxBatch+1, Impression), 413, "larger than"},
		{"form", "application/x-www-form-urlencoded", eventsJSON(1, Click), 415, "send JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := env.post(t, tc.ctype, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("POST: %d %s, want %d containing %q", status, body, tc.status, tc.want)
			}
		})
	}
	// More than MaxBatch events fit in a large enough body: the count limit
	// applies on its own.
	big := newIngestEnv(t, IngestConfig{MaxBody: 1 << 20, PerIPBurst: 1000})
	if status, body := big.post(t, "application/json", eventsJSON(MaxBatch+1, Impression)); status != 400 || !strings.Contains(body, "at most") {
		t.Errorf("101 events: %d %s", status, body)
	}
	resp, err := http.Get(env.srv.URL + "/v1/public/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}

	// What was accepted is counted and reported.
	if err := env.rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rep Report
	getJSON(t, env.srv.URL+"/v1/analytics/videos/v1?days=1", &rep)
	if rep.Total.Impressions != 3 || rep.Total.Clicks != 1 || rep.Total.Buys != 1 {
		t.Errorf("report total %+v, want 3 impressions, 1 click, 1 buy", rep.Total)
	}
	getJSON(t, env.srv.URL+"/v1/analytics/products/p0?days=1", &rep)
	if len(rep.Rows) != 1 || rep.Rows[0].ID != "v1" || rep.Total.Clicks != 1 {
		t.Errorf("product report %+v", rep)
	}
	var vids struct{ Videos []Row }
	getJSON(t, env.srv.URL+"/v1/analytics/videos", &vids)
	if len(vids.Videos) != 1 || vids.Videos[0].Impressions != 3 {
		t.Errorf("videos %+v", vids)
	}
	recent, _ := env.st.Recent(context.Background(), "v1", 10)
	if len(recent) != 5 || recent[0].KeyID != "pk_test" {
		t.Errorf("raw events %+v", recent)
	}
	for _, q := range []string{"days=0", "days=x", "from=2026-13-01", "from=2026-11-02&to=2026-11-01"} {
		resp, err := http.Get(env.srv.URL + "/v1/analytics/videos/v1?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", q, resp.StatusCode)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestIngestRateLimit(t *testing.T) {
	env := newIngestEnv(t, IngestConfig{PerIPRate: 1, PerIPBurst: 10})
	if status, _ := env.post(t, "application/json", eventsJSON(8, Impression)); status != 202 {
		t.Fatalf("first batch: %d", status)
	}
	status, body := env.post(t, "application/json", eventsJSON(8, Impression))
	if status != http.StatusTooManyRequests {
		t.Fatalf("second batch over the burst: %d %s, want 429", status, body)
	}
	// A different key from the same IP shares the IP's bucket.
	resp, err := http.Post(env.srv.URL+"/v1/public/events?key=pk_other", "application/json", strings.NewReader(eventsJSON(8, Impression)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("other key, same IP: %d, want 429 with Retry-After", resp.StatusCode)
	}
}

func TestRecorderBounds(t *testing.T) {
	st := NewStore(openDB(t), 0)
	rec := NewRecorder(st, RecorderConfig{QueueSize: 10, FlushInterval: time.Hour}, nil)
	r := Record{Event: Event{Type: Impression, VideoID: "v", ItemID: "i", T: 1}, At: time.Now()}
	if err := rec.Add([]Record{r, r, r, r, r, r}); err != nil {
		t.Fatal(err)
	}
	if err := rec.Add([]Record{r, r, r, r, r}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("overfull Add: %v, want ErrQueueFull", err)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := rec.Stats(); s.Written != 6 || s.Dropped != 5 || s.Queued != 0 {
		t.Errorf("stats %+v, want 6 written, 5 dropped", s)
	}
	if err := rec.Add([]Record{r}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	got, _ := st.VideoReport(context.Background(), "v", LastDays(time.Now(), 1))
	if got.Total.Impressions != 6 {
		t.Errorf("stored %d impressions, want 6", got.Total.Impressions)
	}
}

func TestLimiterIsBounded(t *testing.T) {
	l := NewLimiter(10, 5)
	l.max = 100
	now := time.Now()
	l.now = func() time.Time { return now }
	for i := range 1000 {
		l.Allow(fmt.Sprint("ip", i), 1)
		now = now.Add(time.Millisecond)
	}
	if n := len(l.buckets); n > 100 {
		t.Errorf("%d buckets, want at most 100", n)
	}
	if !l.Allow("fresh", 5) || l.Allow("fresh", 1) {
		t.Error("a new bucket does not hold exactly its burst")
	}
}
