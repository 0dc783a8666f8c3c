// Package catalog holds vitrine's product catalog: product records and their
// images, import from CSV/JSONL files, the ingestion workflow that finds the
// main item in each product image and embeds it, the vector index lifecycle,
// and search by image, by text and by similar product.
//
// Data flows parse → fetch → embed → index; each stage is a method of
// Ingester that reads its input from the database and writes its output
// there, so each can run as a resumable workflow step.
package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Availability values of Product.Availability.
const (
	InStock    = "in_stock"
	OutOfStock = "out_of_stock"
	PreOrder   = "preorder"
)

// Product status values: a product is searchable by image once ready.
const (
	StatusPending = "pending"
	StatusReady   = "ready"
	StatusFailed  = "failed"
)

// ErrNotFound is returned when a product id is unknown.
var ErrNotFound = errors.New("catalog: product not found")

// Product is one merchant product.
type Product struct {
	ID           string            `json:"id"`
	Title        string            `json:"title"`
	Brand        string            `json:"brand,omitempty"`
	Category     string            `json:"category,omitempty"`
	Colour       string            `json:"colour,omitempty"`
	Price        *float64          `json:"price,omitempty"`
	Currency     string            `json:"currency,omitempty"`
	Availability string            `json:"availability"`
	Rating       *float64          `json:"rating,omitempty"`
	RatingCount  *int64            `json:"rating_count,omitempty"`
	URL          string            `json:"url,omitempty"`
	Images       []string          `json:"images,omitempty"`
	Attributes   map[string]string `json:"attributes,omitempty"`

	// Set by the store, ignored on input.
	Status    string    `json:"status,omitempty"`
	Error     string    `json:"error,omitempty"`
	Version   int64     `json:"version,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Normalize trims fields, fills defaults and validates the record. It returns
// an error naming the first bad field.
func (p *Product) Normalize() error {
	p.ID = strings.TrimSpace(p.ID)
	if p.ID == "" {
		return errors.New("empty product id")
	}
	if len(p.ID) > 256 {
		return errors.New("product id longer than 256 bytes")
	}
	p.Title = strings.TrimSpace(p.Title)
	p.Brand = strings.TrimSpace(p.Brand)
	p.Category = strings.TrimSpace(p.Category)
	p.Colour = strings.TrimSpace(p.Colour)
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	p.URL = strings.TrimSpace(p.URL)
	a, err := ParseAvailability(p.Availability)
	if err != nil {
		return err
	}
	p.Availability = a
	if p.Price != nil && (math.IsNaN(*p.Price) || math.IsInf(*p.Price, 0) || *p.Price < 0) {
		return fmt.Errorf("bad price %v", *p.Price)
	}
	if p.Rating != nil && (math.IsNaN(*p.Rating) || math.IsInf(*p.Rating, 0) || *p.Rating < 0) {
		return fmt.Errorf("bad rating %v", *p.Rating)
	}
	if p.RatingCount != nil && *p.RatingCount < 0 {
		return fmt.Errorf("bad rating count %d", *p.RatingCount)
	}
	imgs := p.Images[:0]
	for _, s := range p.Images {
		if s = strings.TrimSpace(s); s != "" {
			imgs = append(imgs, s)
		}
	}
	p.Images = imgs
	for k, v := range p.Attributes {
		if strings.TrimSpace(v) == "" {
			delete(p.Attributes, k)
		}
	}
	if len(p.Attributes) == 0 {
		p.Attributes = nil
	}
	return nil
}

// recordHash identifies the product's input record: two imports of the same
// record hash equal, whatever the stored status.
func (p *Product) recordHash() string {
	c := *p
	c.Status, c.Error, c.Version, c.UpdatedAt = "", "", 0, time.Time{}
	b, _ := json.Marshal(c) // map keys are sorted, so this is canonical
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// availabilitySpelling removes the separators of availability spellings;
// built once, as a feed calls ParseAvailability for every item.
var availabilitySpelling = strings.NewReplacer(" ", "", "_", "", "-", "")

// ParseAvailability maps the spellings found in merchant feeds to InStock,
// OutOfStock or PreOrder. Empty means InStock.
func ParseAvailability(s string) (string, error) {
	k := availabilitySpelling.Replace(strings.ToLower(strings.TrimSpace(s)))
	switch k {
	case "", "instock", "available", "true", "yes", "1", "y":
		return InStock, nil
	case "outofstock", "soldout", "unavailable", "false", "no", "0", "n", "discontinued":
		return OutOfStock, nil
	case "preorder", "backorder", "comingsoon":
		return PreOrder, nil
	}
	return "", fmt.Errorf("bad availability %q (want in_stock, out_of_stock or preorder)", s)
}

// parsePrice accepts a plain decimal number, optionally with surrounding
// spaces. Thousands separators are refused because "1,675" and "1.675" are
// ambiguous across locales.
func parsePrice(s string) (*float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return nil, fmt.Errorf("bad price %q", s)
	}
	return &v, nil
}

func parseRating(s string) (*float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return nil, fmt.Errorf("bad rating %q", s)
	}
	return &v, nil
}

func parseCount(s string) (*int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return nil, fmt.Errorf("bad rating count %q", s)
	}
	return &v, nil
}
