package commerce

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/commerce/shoptest"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func startShop(t testing.TB) *shoptest.Shop {
	t.Helper()
	s, err := shoptest.Start(testenv.Samples(t, filepath.Join("catalog", "products.csv")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// shopMapping maps the test shop's JSON to products.
var shopMapping = FieldMapping{
	ID: "handle", Title: "name", Category: "type", Images: "media.#.src",
	Price: "offer.price", Currency: "offer.currency", Availability: "offer.availability",
	Rating: "reviews.average", RatingCount: "reviews.count", URL: "link",
}

func shopConfig(shop *shoptest.Shop, batch bool) UpstreamConfig {
	c := UpstreamConfig{
		ProductURL:  shop.URL + shoptest.ProductPath + "{id}",
		ProductPath: "product",
		Mapping:     shopMapping,
		AuthHeader:  "Authorization", AuthValue: "Bearer " + shoptest.Token,
	}
	if batch {
		c.BatchURL = shop.URL + shoptest.BatchPath + "?ids={ids}"
		c.ItemsPath = "data.items"
	}
	return c
}

func newUpstream(t testing.TB, shop *shoptest.Shop, batch bool) *Upstream {
	t.Helper()
	u, err := NewUpstream(shopConfig(shop, batch), nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// clock is a settable time source for cache ages.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
