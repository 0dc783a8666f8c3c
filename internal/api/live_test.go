package api

import (
	"bufio"
	"context"
	"encoding/json"
	"image"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/jobs"
	"github.com/vitrine-dev/vitrine/internal/live"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/internal/video"
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
func TestLiveRoutes(t *testing.T) {
	testenv.NeedFFmpeg(t)
	ctx := context.Background()
	dir := t.TempDir()
	clip := filepath.Join(dir, "clip.mp4")
	testenv.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=30", "-pix_fmt", "yuv420p", clip)
	cfg := testConfig(t, dir, nil)
	db := testDB(t, dir)
	bs := testBlobs(t, dir)
	r, err := jobs.New(ctx, db, jobs.Options{Workers: 0})
	if err != nil {
		t.Fatal(err)
	}
	keys := apikey.New(db)
	admin, _, _ := keys.Create(ctx, apikey.ScopeAdmin, "admin")
	ingest, _, _ := keys.Create(ctx, apikey.ScopeIngest, "ingest")
	read, _, _ := keys.Create(ctx, apikey.ScopeRead, "read")
	price := 12.0
	if _, err := catalog.NewStore(db).Upsert(ctx, catalog.Product{ID: "tee-red", Title: "Red tee", Category: "Tshirts", Price: &price, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	lm, err := live.New(live.Config{DB: db, NewAnalyzer: func(context.Context) (live.Analyzer, error) { return &announcer{product: "tee-red"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lm.Wait)
	s, err := New(Deps{Config: cfg, DB: db, Blob: bs, Runner: r, Keys: keys, Catalog: catalog.NewService(db, bs, nil, nil, nil), Live: lm})
	if err != nil {
		t.Fatal(err)
	}
	e := &shopEnv{handler: s.Handler(), db: db}
	e.srv = httptest.NewServer(e.handler)
	t.Cleanup(e.srv.Close)

	const site = "https://shop.example"
	st, _, raw := e.req(t, "POST", "/v1/publishable-keys", admin, "", `{"name":"shop","origins":["`+site+`"]}`)
	var pk struct{ Key string }
	if st != 201 || json.Unmarshal(raw, &pk) != nil {
		t.Fatalf("publishable key: %d %s", st, raw)
	}
	body := func(src string) string {
		b, _ := json.Marshal(map[string]string{"source": src, "name": "show"})
		return string(b)
	}
	for _, tc := range []struct {
		name, key, body string
		want            int
	}{
		{"read key", read, body("https://cdn.example/live.m3u8"), 403},
		{"not http or a file", ingest, body("rtmp://cdn.example/live"), 400},
		{"relative file", admin, body("clip.mp4"), 400},
		{"file with an ingest key", ingest, body(clip), 403},
		{"no source", ingest, `{}`, 400},
	} {
		if st, _, raw := e.req(t, "POST", "/v1/live", tc.key, "", tc.body); st != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, st, raw, tc.want)
		}
	}
	st, _, raw = e.req(t, "POST", "/v1/live", admin, "", body(clip))
	var ls live.Stream
	if st != 201 || json.Unmarshal(raw, &ls) != nil || ls.State != live.StateRunning {
		t.Fatalf("start: %d %s", st, raw)
	}
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
	st, _, raw = e.req(t, "GET", "/v1/live/"+ls.ID, read, "", "")
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
