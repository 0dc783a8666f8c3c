// Package shoptest runs a real HTTP shop on loopback for tests of the
// commerce connector and the player: it serves the sample packshot catalog
// (products.csv and images from the samples directory) through a JSON API
// shaped like a typical e-commerce platform, nested differently from
// vitrine's own fields so that field mappings are exercised. Tests can take
// it down, slow it, change stock and count its requests.
package shoptest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Token is the bearer token the shop requires.
const Token = "shop-secret-token"

// Item is one product as the shop stores it.
type Item struct {
	ID       string
	Name     string
	Category string
	Colour   string
	Image    string // file name under the images directory
	Price    float64
	Rating   float64
	Reviews  int
	Stock    int
	// NoLink leaves the product without a page link, as shops that sell
	// only through their own cart have.
	NoLink bool
}

// Shop is a running shop server.
type Shop struct {
	*httptest.Server
	imagesDir string

	mu       sync.Mutex
	items    map[string]*Item
	order    []string
	down     bool
	delay    time.Duration
	requests atomic.Int64
	batches  atomic.Int64
}

// Start serves the catalog in samplesDir/catalog on a loopback port.
func Start(samplesDir string) (*Shop, error) {
	dir := filepath.Join(samplesDir, "catalog")
	f, err := os.Open(filepath.Join(dir, "products.csv"))
	if err != nil {
		return nil, fmt.Errorf("shoptest: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("shoptest: read header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	s := &Shop{imagesDir: dir, items: map[string]*Item{}}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("shoptest: read products: %w", err)
		}
		id := rec[col["id"]]
		n, _ := strconv.Atoi(id)
		// Deterministic shop-side data the sample catalog does not carry.
		s.items[id] = &Item{
			ID: id, Name: rec[col["name"]], Category: rec[col["category"]], Colour: rec[col["colour"]],
			Image: filepath.Base(rec[col["image"]]),
			Price: float64(399 + (n*37)%2000), Rating: 3 + float64(n%21)/10, Reviews: 5 + n%300, Stock: 1 + n%9,
		}
		s.order = append(s.order, id)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/products/{id}", s.product)
	mux.HandleFunc("GET /api/products", s.batch)
	mux.HandleFunc("GET /images/{file}", s.image)
	mux.HandleFunc("GET /p/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>product %s</title><h1>product %s</h1>", r.PathValue("id"), r.PathValue("id"))
	})
	s.Server = httptest.NewServer(mux)
	return s, nil
}

// The shop's API, for configuring a connector: GET ProductPath+id answers
// {"product": {...}}, GET BatchPath+"?ids=a,b" answers {"data": {"items":
// [...]}}. Each product looks like
//
//	{"handle": "16647", "name": "...", "type": "Tshirts",
//	 "media": [{"src": "http://…/images/16647.jpg"}],
//	 "offer": {"price": "1091.00", "currency": "inr", "availability": "https://schema.org/InStock"},
//	 "reviews": {"average": 3.8, "count": 152}, "link": "http://…/p/16647"}
const (
	ProductPath = "/api/products/"
	BatchPath   = "/api/products"
)

// Item returns a copy of the stored product.
func (s *Shop) Item(id string) (Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	if !ok {
		return Item{}, false
	}
	return *it, true
}

// Items returns copies of all products in catalog order.
func (s *Shop) Items() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Item, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.items[id])
	}
	return out
}

// SetDown makes every API request fail with 503 (images keep working).
func (s *Shop) SetDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

// SetDelay delays every API response.
func (s *Shop) SetDelay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// SetStock sets a product's stock count.
func (s *Shop) SetStock(id string, n int) { s.edit(id, func(it *Item) { it.Stock = n }) }

// SetPrice sets a product's price.
func (s *Shop) SetPrice(id string, p float64) { s.edit(id, func(it *Item) { it.Price = p }) }

// SetName sets a product's name.
func (s *Shop) SetName(id, name string) { s.edit(id, func(it *Item) { it.Name = name }) }

// SetNoLink removes (or restores) a product's page link.
func (s *Shop) SetNoLink(id string, none bool) { s.edit(id, func(it *Item) { it.NoLink = none }) }

// edit changes a product the shop has, under the lock; unknown ids are
// left alone.
func (s *Shop) edit(id string, change func(*Item)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[id]; ok {
		change(it)
	}
}

// Requests counts API requests served (single and batch).
func (s *Shop) Requests() int64 { return s.requests.Load() }

// Batches counts batch API requests.
func (s *Shop) Batches() int64 { return s.batches.Load() }

type media struct {
	Src string `json:"src"`
}
type offer struct {
	Price        string `json:"price"`
	Currency     string `json:"currency"`
	Availability string `json:"availability"`
}
type reviews struct {
	Average float64 `json:"average"`
	Count   int     `json:"count"`
}
type product struct {
	Handle  string  `json:"handle"`
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Media   []media `json:"media"`
	Offer   offer   `json:"offer"`
	Reviews reviews `json:"reviews"`
	Link    string  `json:"link"`
}

func (s *Shop) render(it *Item) product {
	avail := "https://schema.org/InStock"
	if it.Stock <= 0 {
		avail = "https://schema.org/OutOfStock"
	}
	link := s.URL + "/p/" + it.ID
	if it.NoLink {
		link = ""
	}
	return product{
		Handle: it.ID, Name: it.Name, Type: it.Category,
		Media:   []media{{Src: s.URL + "/images/" + it.Image}},
		Offer:   offer{Price: strconv.FormatFloat(it.Price, 'f', 2, 64), Currency: "inr", Availability: avail},
		Reviews: reviews{Average: it.Rating, Count: it.Reviews},
		Link:    link,
	}
}

// gate applies auth, outages and delay; it reports whether to go on.
func (s *Shop) gate(w http.ResponseWriter, r *http.Request) bool {
	s.requests.Add(1)
	s.mu.Lock()
	down, delay := s.down, s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return false
		}
	}
	if down {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return false
	}
	if r.Header.Get("Authorization") != "Bearer "+Token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return false
	}
	return true
}

func (s *Shop) product(w http.ResponseWriter, r *http.Request) {
	if !s.gate(w, r) {
		return
	}
	s.mu.Lock()
	it, ok := s.items[r.PathValue("id")]
	var p product
	if ok {
		p = s.render(it)
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"product": p})
}

func (s *Shop) batch(w http.ResponseWriter, r *http.Request) {
	s.batches.Add(1)
	if !s.gate(w, r) {
		return
	}
	var items []product
	s.mu.Lock()
	for id := range strings.SplitSeq(r.URL.Query().Get("ids"), ",") {
		if it, ok := s.items[id]; ok {
			items = append(items, s.render(it))
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"items": items, "count": len(items)}})
}

func (s *Shop) image(w http.ResponseWriter, r *http.Request) {
	name := filepath.Base(r.PathValue("file"))
	http.ServeFile(w, r, filepath.Join(s.imagesDir, "images", name))
}
