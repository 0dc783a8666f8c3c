// Package commerce is vitrine's product-details connector: it answers "what is
// product X, what does it cost and can I buy it" for the player. Products come
// from a Source (the built-in catalog or an upstream shop over HTTP), always
// through a Cache so that a popular video does not hammer the shop, and when
// the shop is down the player still gets the last known data marked stale.
//
// When a matched product is out of stock, Service adds the most similar
// in-stock products of the same category as alternatives.
package commerce

import (
	"context"
	"errors"
	"math"
	"strings"
)

// Availability values of Product.Availability.
const (
	InStock    = "in_stock"
	OutOfStock = "out_of_stock"
	PreOrder   = "preorder"
	Unknown    = "unknown"
)

// Product is the details a viewer sees on a product card.
type Product struct {
	ID           string   `json:"id"`
	Title        string   `json:"title"`
	Category     string   `json:"category,omitempty"`
	Images       []string `json:"images,omitempty"`
	Price        *float64 `json:"price,omitempty"`
	Currency     string   `json:"currency,omitempty"`
	Rating       *float64 `json:"rating,omitempty"`
	RatingCount  int      `json:"rating_count,omitempty"`
	Availability string   `json:"availability"`
	URL          string   `json:"url,omitempty"`
	// Removed is set when the shop no longer lists the product (a feed
	// sync found it gone): players draw no hotspot for it.
	Removed bool `json:"removed,omitempty"`
	// Stale is set when the source could not be reached and these are the
	// last known details.
	Stale bool `json:"stale,omitempty"`
	// AlternativeFor names the out-of-stock product this one replaces.
	AlternativeFor string `json:"alternative_for,omitempty"`
	// Alternatives are similar in-stock products offered when this one is
	// unavailable.
	Alternatives []Product `json:"alternatives,omitempty"`
}

// Available reports whether a viewer can buy the product now.
func (p *Product) Available() bool {
	return p.Availability == InStock || p.Availability == PreOrder
}

// clone returns a copy that shares no slices with p, so cached values are
// never modified by callers.
func (p Product) clone() Product {
	if p.Images != nil {
		p.Images = append([]string(nil), p.Images...)
	}
	if p.Price != nil {
		v := *p.Price
		p.Price = &v
	}
	if p.Rating != nil {
		v := *p.Rating
		p.Rating = &v
	}
	if p.Alternatives != nil {
		alts := make([]Product, len(p.Alternatives))
		for i, a := range p.Alternatives {
			alts[i] = a.clone()
		}
		p.Alternatives = alts
	}
	return p
}

// Source looks products up by id. Ids it does not know are left out of the
// result; an error means the lookup itself failed (shop down, timeout).
type Source interface {
	Get(ctx context.Context, ids []string) ([]Product, error)
}

// SourceFunc adapts a function to Source; wiring code uses it to expose the
// built-in catalog without this package importing it.
type SourceFunc func(ctx context.Context, ids []string) ([]Product, error)

// Get calls f.
func (f SourceFunc) Get(ctx context.Context, ids []string) ([]Product, error) { return f(ctx, ids) }

// ErrNotFound is returned when a requested product does not exist.
var ErrNotFound = errors.New("commerce: product not found")

// ErrBadID is returned for an id that cannot name a product.
var ErrBadID = errors.New("commerce: invalid product id")

// MaxIDLen bounds product ids accepted from requests.
const MaxIDLen = 128

// ValidID reports whether id is acceptable as a product id: 1..MaxIDLen
// printable characters without separators used in URLs and batch lists.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for _, r := range id {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(",/?#%\\\"'<>", r) {
			return false
		}
	}
	return true
}

// NormalizeAvailability maps the many spellings shops use (booleans, stock
// counts, schema.org URLs, "In stock", "sold_out", …) to the constants above.
func NormalizeAvailability(v any) string {
	switch x := v.(type) {
	case nil:
		return Unknown
	case bool:
		if x {
			return InStock
		}
		return OutOfStock
	case float64:
		if math.IsNaN(x) {
			return Unknown
		}
		if x > 0 {
			return InStock
		}
		return OutOfStock
	case int:
		return NormalizeAvailability(float64(x))
	case string:
		s := strings.ToLower(strings.TrimSpace(x))
		if i := strings.LastIndexByte(s, '/'); i >= 0 {
			s = s[i+1:] // https://schema.org/InStock
		}
		s = strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s)
		switch s {
		case "instock", "available", "true", "yes", "limitedavailability", "onlineonly", "instoreonly":
			return InStock
		case "outofstock", "soldout", "unavailable", "false", "no", "discontinued":
			return OutOfStock
		case "preorder", "backorder", "presale":
			return PreOrder
		case "":
			return Unknown
		}
		return Unknown
	}
	return Unknown
}
