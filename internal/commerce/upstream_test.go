package commerce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestUpstreamMapping(t *testing.T) {
	shop := startShop(t)
	it, _ := shop.Item("16647") // Facit Men Polo Tee Red Tshirt
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			u := newUpstream(t, shop, batch)
			ps, err := u.Get(context.Background(), []string{"16647", "no-such-product", "16820"})
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 2 {
				t.Fatalf("got %d products, want 2 (the unknown id left out): %+v", len(ps), ps)
			}
			p := ps[0]
			if batch && p.ID != "16647" {
				p = ps[1]
			}
			if p.ID != "16647" || p.Title != it.Name || p.Category != "Tshirts" {
				t.Errorf("identity fields: %+v", p)
			}
			if p.Price == nil || *p.Price != it.Price || p.Currency != "INR" {
				t.Errorf("price %v %q, want %v INR (string price parsed, currency upper-cased)", p.Price, p.Currency, it.Price)
			}
			if p.Rating == nil || *p.Rating != it.Rating || p.RatingCount != it.Reviews {
				t.Errorf("rating %v/%d, want %v/%d", p.Rating, p.RatingCount, it.Rating, it.Reviews)
			}
			if p.Availability != InStock {
				t.Errorf("availability %q, want in_stock from a schema.org URL", p.Availability)
			}
			if len(p.Images) != 1 || p.Images[0] != shop.URL+"/images/16647.jpg" || p.URL != shop.URL+"/p/16647" {
				t.Errorf("links: %v %q", p.Images, p.URL)
			}
		})
	}
}

func TestUpstreamBatchesAreChunked(t *testing.T) {
	shop := startShop(t)
	cfg := shopConfig(shop, true)
	cfg.MaxBatch = 2
	u, err := NewUpstream(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := u.Get(context.Background(), []string{"16331", "12644", "14942", "12496", "16647"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 5 || shop.Batches() != 3 {
		t.Fatalf("got %d products in %d batch requests, want 5 in 3", len(ps), shop.Batches())
	}
}

func TestUpstreamFailures(t *testing.T) {
	shop := startShop(t)
	ctx := context.Background()

	t.Run("auth header is sent", func(t *testing.T) {
		cfg := shopConfig(shop, false)
		cfg.AuthValue = "Bearer wrong"
		u, _ := NewUpstream(cfg, nil)
		if _, err := u.Get(ctx, []string{"16647"}); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("wrong token: err = %v, want a 401 error", err)
		}
	})
	t.Run("server error", func(t *testing.T) {
		shop.SetDown(true)
		defer shop.SetDown(false)
		_, err := newUpstream(t, shop, true).Get(ctx, []string{"16647"})
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("err = %v, want a 503 error", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		shop.SetDelay(2 * time.Second)
		defer shop.SetDelay(0)
		cfg := shopConfig(shop, false)
		cfg.Timeout = 100 * time.Millisecond
		u, _ := NewUpstream(cfg, nil)
		start := time.Now()
		_, err := u.Get(ctx, []string{"16647"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a deadline error", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("gave up after %v, want about the 100ms timeout", d)
		}
	})
}

// TestUpstreamBadResponses covers shops that answer, but wrongly.
func TestUpstreamBadResponses(t *testing.T) {
	cases := []struct {
		name, body, want string
		cfg              func(*UpstreamConfig)
	}{
		{"not json", `<html>oops</html>`, "not valid JSON", nil},
		{"no product object", `{"product": 7}`, "no product object", nil},
		{"missing id", `{"product": {"name": "x"}}`, "missing or invalid", nil},
		{"other product", `{"product": {"handle": "other"}}`, `for product "other"`, nil},
		{"too large", `{"product": {"handle": "p1", "name": "` + strings.Repeat("x", 2000) + `"}}`, "larger than", func(c *UpstreamConfig) { c.MaxBody = 1000 }},
		{"batch not an array", `{"data": {"items": {}}}`, "no product array", func(c *UpstreamConfig) {
			c.ProductURL, c.ItemsPath = "", "data.items"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			cfg := UpstreamConfig{ProductURL: srv.URL + "/p/{id}", BatchURL: srv.URL + "/b?ids={ids}", ProductPath: "product",
				Mapping: FieldMapping{ID: "handle", Title: "name"}}
			cfg.BatchURL = ""
			if tc.cfg != nil {
				cfg.BatchURL = srv.URL + "/b?ids={ids}"
				tc.cfg(&cfg)
				if cfg.ItemsPath == "" {
					cfg.BatchURL = ""
				}
			}
			u, err := NewUpstream(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = u.Get(context.Background(), []string{"p1"})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestUpstreamConfigErrors(t *testing.T) {
	cases := map[string]UpstreamConfig{
		"no urls":       {},
		"no {id}":       {ProductURL: "http://shop/p"},
		"no {ids}":      {BatchURL: "http://shop/b"},
		"not http":      {ProductURL: "ftp://shop/{id}"},
		"no id mapping": {ProductURL: "http://shop/{id}", Mapping: FieldMapping{Title: "t"}},
	}
	for name, cfg := range cases {
		if _, err := NewUpstream(cfg, nil); err == nil {
			t.Errorf("%s: NewUpstream accepted %+v", name, cfg)
		}
	}
}

func TestNormalizeAvailability(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{true, InStock}, {false, OutOfStock}, {float64(3), InStock}, {float64(0), OutOfStock},
		{"In Stock", InStock}, {"https://schema.org/OutOfStock", OutOfStock}, {"sold_out", OutOfStock},
		{"PreOrder", PreOrder}, {"back-order", PreOrder}, {"maybe", Unknown}, {nil, Unknown},
	}
	for _, tc := range cases {
		if got := NormalizeAvailability(tc.in); got != tc.want {
			t.Errorf("NormalizeAvailability(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUnsafeLinksAreDropped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id":"p1","title":"x","url":"javascript:alert(1)","availability":1}`))
	}))
	defer srv.Close()
	u, err := NewUpstream(UpstreamConfig{ProductURL: srv.URL + "/{id}"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := u.Get(context.Background(), []string{"p1"})
	if err != nil || len(ps) != 1 {
		t.Fatalf("Get: %v %v", ps, err)
	}
	if ps[0].URL != "" || ps[0].Availability != InStock {
		t.Errorf("got url %q availability %q, want no url and in_stock", ps[0].URL, ps[0].Availability)
	}
}
