package player

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vitrine-dev/vitrine/internal/analytics"
	"github.com/vitrine-dev/vitrine/internal/commerce"
	"github.com/vitrine-dev/vitrine/internal/commerce/shoptest"
	"github.com/vitrine-dev/vitrine/internal/shoppable"
	"github.com/vitrine-dev/vitrine/internal/store"
	"github.com/vitrine-dev/vitrine/internal/testenv"
	"github.com/vitrine-dev/vitrine/web/player/playertest"
)

// stack is everything the public read path needs, wired as the server wires
// it: a real shop behind the commerce connector, publishable keys and
// analytics in a real SQLite database, the player and the demo page.
type stack struct {
	srv    *httptest.Server
	shop   *shoptest.Shop
	keys   *commerce.Keys
	key    string
	events *analytics.Store
	rec    *analytics.Recorder

	mu     sync.Mutex
	docs   map[string][]byte
	videos map[string]DemoVideo
}

// docSource serves documents held in memory by the test.
type docSource struct{ s *stack }

func (d docSource) ShoppableJSON(ctx context.Context, id string) ([]byte, error) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	b, ok := d.s.docs[id]
	if !ok {
		return nil, fmt.Errorf("%w: video %s", commerce.ErrNotFound, id)
	}
	return b, nil
}

func (d docSource) DemoVideo(ctx context.Context, id string) (DemoVideo, error) {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	v, ok := d.s.videos[id]
	if !ok {
		return DemoVideo{}, ErrNotFound
	}
	return v, nil
}

func (d docSource) DemoKey(ctx context.Context, origin string) (string, error) {
	if origin != d.s.srv.URL {
		return "", errors.New("no demo key for origin " + origin)
	}
	return d.s.key, nil
}

// shopMapping maps the test shop's JSON to products.
var shopMapping = commerce.FieldMapping{
	ID: "handle", Title: "name", Category: "type", Images: "media.#.src",
	Price: "offer.price", Currency: "offer.currency", Availability: "offer.availability",
	Rating: "reviews.average", RatingCount: "reviews.count", URL: "link",
}

// stackOptions vary the wiring.
type stackOptions struct {
	// similar gives out-of-stock products alternatives from a colour index
	// of the shop's images.
	similar bool
	cache   commerce.CacheConfig
}

// newStack wires the stack.
func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	shop, err := shoptest.Start(testenv.Samples(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(shop.Close)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "vitrine.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	up, err := commerce.NewUpstream(commerce.UpstreamConfig{
		ProductURL: shop.URL + shoptest.ProductPath + "{id}", ProductPath: "product",
		BatchURL: shop.URL + shoptest.BatchPath + "?ids={ids}", ItemsPath: "data.items",
		Mapping: shopMapping, AuthHeader: "Authorization", AuthValue: "Bearer " + shoptest.Token,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sim commerce.Similar
	if o.similar {
		ix, err := shop.NewColourIndex()
		if err != nil {
			t.Fatal(err)
		}
		sim = ix
	}
	svc := commerce.NewService(commerce.NewCache(up, o.cache, log), sim, 3, log)
	keys := commerce.NewKeys(db, 0)
	gate := commerce.NewGate(keys, log)
	s := &stack{shop: shop, docs: map[string][]byte{}, videos: map[string]DemoVideo{}}
	s.events = analytics.NewStore(db, 0)
	s.rec = analytics.NewRecorder(s.events, analytics.RecorderConfig{FlushInterval: 100 * time.Millisecond}, log)
	t.Cleanup(func() { s.rec.Close(context.Background()) })
	ingest := analytics.NewIngest(s.rec, analytics.IngestConfig{
		KeyOf:    func(r *http.Request) string { return commerce.KeyFromContext(r.Context()).Key },
		OriginOf: commerce.RequestOrigin,
		Logger:   log,
	})

	mux := http.NewServeMux()
	mux.Handle("GET /player/", http.StripPrefix("/player", Handler()))
	mux.Handle("GET /public/v1/videos/{id}/shoppable", gate.Wrap(commerce.NewDocumentHandler(docSource{s}, 0)))
	mux.Handle("GET /public/v1/products", gate.Wrap(http.HandlerFunc(svc.ServeProducts)))
	mux.Handle("GET /public/v1/products/{id}", gate.Wrap(http.HandlerFunc(svc.ServeProduct)))
	mux.Handle("POST /public/v1/events", gate.Wrap(ingest))
	mux.Handle("OPTIONS /public/v1/", gate.Wrap(http.NotFoundHandler()))
	mux.HandleFunc("GET /media/{file}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(testenv.Samples(t), "videos", filepath.Base(r.PathValue("file"))))
	})
	mux.Handle("GET /demo/{id}", &Demo{Source: docSource{s}, ScriptURL: "/player/" + ScriptName})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	pk, err := keys.Create(ctx, "demo", []string{s.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	s.key = pk.Key
	s.keys = keys
	return s
}

// addVideo publishes a document for a sample video file.
func (s *stack) addVideo(t *testing.T, doc []byte, file string) string {
	t.Helper()
	var d struct {
		Video struct {
			ID            string `json:"id"`
			Width, Height int
		} `json:"video"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.docs[d.Video.ID] = doc
	s.videos[d.Video.ID] = DemoVideo{ID: d.Video.ID, Title: file, Src: "/media/" + file, Width: d.Video.Width, Height: d.Video.Height}
	return d.Video.ID
}

// addFixture publishes the testdata document at path for a sample video
// file and returns it parsed, with its video id.
func (s *stack) addFixture(t *testing.T, path, file string) (*shoppable.Document, string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return playertest.LoadDoc(t, raw), s.addVideo(t, raw, file)
}

// openDemo loads the demo page of video id in the browser ctx, after steps
// such as a viewport to emulate, and waits until the player is ready.
func (s *stack) openDemo(t *testing.T, ctx context.Context, id string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	playertest.Do(t, ctx, append(steps, chromedp.Navigate(s.srv.URL+"/demo/"+id))...)
	playertest.WaitJS(t, ctx, "player ready", playertest.ReadyJS, 30*time.Second)
}

func commerceKeys(t *testing.T, s *stack) *commerce.Keys {
	t.Helper()
	return s.keys
}
