package commerce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// FieldMapping says where each product field is found in a shop's JSON
// product object, as a gjson path ("title", "variants.0.price",
// "images.#.src"). Empty paths leave the field unset.
type FieldMapping struct {
	ID           string `toml:"id" json:"id"`
	Title        string `toml:"title" json:"title"`
	Category     string `toml:"category" json:"category"`
	Images       string `toml:"images" json:"images"` // a string or an array of strings
	Price        string `toml:"price" json:"price"`   // a number or a numeric string
	Currency     string `toml:"currency" json:"currency"`
	Rating       string `toml:"rating" json:"rating"`
	RatingCount  string `toml:"rating_count" json:"rating_count"`
	Availability string `toml:"availability" json:"availability"` // bool, stock count or text
	URL          string `toml:"url" json:"url"`
}

// DefaultMapping reads products whose JSON already uses vitrine's field names.
var DefaultMapping = FieldMapping{
	ID: "id", Title: "title", Category: "category", Images: "images", Price: "price",
	Currency: "currency", Rating: "rating", RatingCount: "rating_count",
	Availability: "availability", URL: "url",
}

// UpstreamConfig configures an HTTP shop as a Source.
type UpstreamConfig struct {
	// ProductURL fetches one product; "{id}" is replaced by the escaped id.
	ProductURL string `toml:"product_url"`
	// BatchURL, when set, fetches several products at once; "{ids}" is
	// replaced by the escaped, comma-separated ids.
	BatchURL string `toml:"batch_url"`
	// ItemsPath locates the array of products in a batch response ("" means
	// the response is the array). ProductPath locates the product in a
	// single-product response ("" means the response is the product).
	ItemsPath   string       `toml:"items_path"`
	ProductPath string       `toml:"product_path"`
	Mapping     FieldMapping `toml:"mapping"`
	// DefaultCurrency applies when the mapping yields no currency.
	DefaultCurrency string `toml:"default_currency"`
	// PriceScale multiplies mapped prices (0.01 for shops that send cents);
	// 0 means 1.
	PriceScale float64 `toml:"price_scale"`
	// AuthHeader and AuthValue are sent on every request
	// ("Authorization", "Bearer …").
	AuthHeader string `toml:"auth_header"`
	AuthValue  string `toml:"auth_value"`
	// Timeout bounds one upstream request; 0 means 3 s.
	Timeout time.Duration `toml:"timeout"`
	// MaxBatch bounds ids per batch request; 0 means 50.
	MaxBatch int `toml:"max_batch"`
	// MaxBody bounds a response body in bytes; 0 means 4 MiB.
	MaxBody int64 `toml:"max_body"`
	// Concurrency bounds parallel single-product requests when there is no
	// BatchURL; 0 means 8.
	Concurrency int `toml:"concurrency"`
}

// Upstream is a Source that reads an HTTP shop API.
type Upstream struct {
	cfg    UpstreamConfig
	client *http.Client
}

// NewUpstream checks cfg and returns the shop source. client may be nil.
func NewUpstream(cfg UpstreamConfig, client *http.Client) (*Upstream, error) {
	if cfg.ProductURL == "" && cfg.BatchURL == "" {
		return nil, errors.New("commerce: upstream needs product_url or batch_url")
	}
	if cfg.ProductURL != "" && !strings.Contains(cfg.ProductURL, "{id}") {
		return nil, fmt.Errorf("commerce: upstream product_url %q has no {id}", cfg.ProductURL)
	}
	if cfg.BatchURL != "" && !strings.Contains(cfg.BatchURL, "{ids}") {
		return nil, fmt.Errorf("commerce: upstream batch_url %q has no {ids}", cfg.BatchURL)
	}
	for _, u := range []string{cfg.ProductURL, cfg.BatchURL} {
		if u == "" {
			continue
		}
		pu, err := url.Parse(strings.NewReplacer("{id}", "x", "{ids}", "x").Replace(u))
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("commerce: upstream url %q is not an http(s) URL", u)
		}
	}
	if cfg.Mapping == (FieldMapping{}) {
		cfg.Mapping = DefaultMapping
	}
	if cfg.Mapping.ID == "" {
		return nil, errors.New("commerce: upstream mapping needs an id path")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 50
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 4 << 20
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.PriceScale == 0 {
		cfg.PriceScale = 1
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Upstream{cfg: cfg, client: client}, nil
}

// Get fetches ids from the shop, in batches when a BatchURL is configured.
func (u *Upstream) Get(ctx context.Context, ids []string) ([]Product, error) {
	var out []Product
	if u.cfg.BatchURL != "" {
		for start := 0; start < len(ids); start += u.cfg.MaxBatch {
			chunk := ids[start:min(start+u.cfg.MaxBatch, len(ids))]
			ps, err := u.batch(ctx, chunk)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
		}
		return out, nil
	}
	type res struct {
		p   *Product
		err error
	}
	results := make([]res, len(ids))
	sem := make(chan struct{}, u.cfg.Concurrency)
	done := make(chan struct{})
	for i, id := range ids {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem; done <- struct{}{} }()
			p, err := u.one(ctx, id)
			results[i] = res{p, err}
		}()
	}
	for range ids {
		<-done
	}
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		if r.p != nil {
			out = append(out, *r.p)
		}
	}
	return out, nil
}

func (u *Upstream) one(ctx context.Context, id string) (*Product, error) {
	body, status, err := u.fetch(ctx, strings.ReplaceAll(u.cfg.ProductURL, "{id}", url.PathEscape(id)))
	if err != nil {
		return nil, fmt.Errorf("commerce: upstream get %s: %w", id, err)
	}
	if status == http.StatusNotFound {
		return nil, nil
	}
	v := gjson.ParseBytes(body)
	if u.cfg.ProductPath != "" {
		v = v.Get(u.cfg.ProductPath)
	}
	if !v.IsObject() {
		return nil, fmt.Errorf("commerce: upstream get %s: response has no product object at %q", id, u.cfg.ProductPath)
	}
	p, err := u.mapProduct(v)
	if err != nil {
		return nil, fmt.Errorf("commerce: upstream get %s: %w", id, err)
	}
	if p.ID != id {
		return nil, fmt.Errorf("commerce: upstream get %s: response is for product %q", id, p.ID)
	}
	return &p, nil
}

func (u *Upstream) batch(ctx context.Context, ids []string) ([]Product, error) {
	esc := make([]string, len(ids))
	for i, id := range ids {
		esc[i] = url.QueryEscape(id)
	}
	body, status, err := u.fetch(ctx, strings.ReplaceAll(u.cfg.BatchURL, "{ids}", strings.Join(esc, ",")))
	if err != nil {
		return nil, fmt.Errorf("commerce: upstream batch of %d: %w", len(ids), err)
	}
	if status == http.StatusNotFound {
		return nil, nil
	}
	v := gjson.ParseBytes(body)
	if u.cfg.ItemsPath != "" {
		v = v.Get(u.cfg.ItemsPath)
	}
	if v.Type == gjson.Null && v.Exists() {
		return nil, nil // "items": null, a shop's way of saying none
	}
	if !v.IsArray() {
		return nil, fmt.Errorf("commerce: upstream batch: response has no product array at %q", u.cfg.ItemsPath)
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var out []Product
	for _, item := range v.Array() {
		p, err := u.mapProduct(item)
		if err != nil {
			return nil, fmt.Errorf("commerce: upstream batch: %w", err)
		}
		if want[p.ID] { // a shop may return more than asked; keep only ours
			delete(want, p.ID)
			out = append(out, p)
		}
	}
	return out, nil
}

// fetch GETs target and returns a body for 2xx and 404; other statuses and
// transport failures are errors.
func (u *Upstream) fetch(ctx context.Context, target string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	if u.cfg.AuthHeader != "" {
		req.Header.Set(u.cfg.AuthHeader, u.cfg.AuthValue)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, resp.StatusCode, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, resp.StatusCode, fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, u.cfg.MaxBody+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > u.cfg.MaxBody {
		return nil, resp.StatusCode, fmt.Errorf("body larger than %d bytes", u.cfg.MaxBody)
	}
	if !gjson.ValidBytes(body) {
		return nil, resp.StatusCode, errors.New("body is not valid JSON")
	}
	return body, resp.StatusCode, nil
}

// mapProduct applies the field mapping to one product object.
func (u *Upstream) mapProduct(v gjson.Result) (Product, error) {
	m := u.cfg.Mapping
	get := func(path string) gjson.Result {
		if path == "" {
			return gjson.Result{}
		}
		return v.Get(path)
	}
	p := Product{
		ID:       get(m.ID).String(),
		Title:    get(m.Title).String(),
		Category: get(m.Category).String(),
		Currency: strings.ToUpper(get(m.Currency).String()),
		URL:      get(m.URL).String(),
	}
	if !ValidID(p.ID) {
		return Product{}, fmt.Errorf("product id %q at %q is missing or invalid", p.ID, m.ID)
	}
	if p.Currency == "" {
		p.Currency = u.cfg.DefaultCurrency
	}
	if img := get(m.Images); img.IsArray() {
		for _, x := range img.Array() {
			if s := x.String(); webURL(s) {
				p.Images = append(p.Images, s)
			}
		}
	} else if s := img.String(); webURL(s) {
		p.Images = []string{s}
	}
	if f, ok := number(get(m.Price)); ok {
		f *= u.cfg.PriceScale
		p.Price = &f
	}
	if f, ok := number(get(m.Rating)); ok {
		p.Rating = &f
	}
	if f, ok := number(get(m.RatingCount)); ok {
		p.RatingCount = int(f)
	}
	p.Availability = NormalizeAvailability(get(m.Availability).Value())
	if !webURL(p.URL) {
		p.URL = "" // never hand a javascript: or relative link to the player
	}
	return p, nil
}

// webURL reports whether s is an absolute http(s) URL with a host.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// number reads a JSON number or a numeric string ("19.99").
func number(r gjson.Result) (float64, bool) {
	switch r.Type {
	case gjson.Number:
		return r.Num, true
	case gjson.String:
		f, err := strconv.ParseFloat(strings.TrimSpace(r.Str), 64)
		return f, err == nil
	}
	return 0, false
}
