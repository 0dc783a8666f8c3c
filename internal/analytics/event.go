// Package analytics records what viewers do with shoppable videos: the
// player reports impressions (an item visible for at least a second), clicks
// (a product card opened), buys (the buy link followed) and add-to-cart
// presses (for products without a link, handed to the host page's cart). Events arrive in
// small batches on a public endpoint that bounds, validates and rate-limits
// them; they are aggregated into per-day counters per video and product (so
// storage stays small however popular a video gets) and kept raw in a capped
// table for inspection.
package analytics

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Event types.
const (
	Impression = "impression"
	Click      = "click"
	Buy        = "buy"
	// AddToCart is a press of the player's "Add to cart" button, which
	// hands the product to the host page's cart (the vitrine:add-to-cart
	// DOM event).
	AddToCart = "add_to_cart"
)

// MaxBatch bounds the events of one ingest request.
const MaxBatch = 100

// Event is one viewer action reported by the player.
type Event struct {
	Type      string  `json:"type"`
	VideoID   string  `json:"video"`
	ItemID    string  `json:"item"`
	ProductID string  `json:"product,omitempty"`
	T         float64 `json:"t"`                 // position in the video, seconds
	Session   string  `json:"session,omitempty"` // random per page view, set by the player
}

// Batch is the body of an ingest request.
type Batch struct {
	Events []Event `json:"events"`
}

// Record is a stored event with what the server knows about it.
type Record struct {
	Event
	At     time.Time `json:"at"`
	KeyID  string    `json:"key,omitempty"`
	Origin string    `json:"origin,omitempty"`
}

// ErrInvalid marks events that fail validation.
var ErrInvalid = errors.New("analytics: invalid event")

// validID accepts the ids vitrine and shops use: 1..128 bytes of letters,
// digits and "-_.:".
func validID(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// Validate checks one event.
func (e *Event) Validate() error {
	switch e.Type {
	case Impression, Click, Buy, AddToCart:
	default:
		return fmt.Errorf("%w: type %q is not impression, click, buy or add_to_cart", ErrInvalid, e.Type)
	}
	if !validID(e.VideoID, 128) {
		return fmt.Errorf("%w: video id %q", ErrInvalid, e.VideoID)
	}
	if !validID(e.ItemID, 128) {
		return fmt.Errorf("%w: item id %q", ErrInvalid, e.ItemID)
	}
	if e.ProductID != "" && !validID(e.ProductID, 128) {
		return fmt.Errorf("%w: product id %q", ErrInvalid, e.ProductID)
	}
	if (e.Type == Click || e.Type == Buy || e.Type == AddToCart) && e.ProductID == "" {
		return fmt.Errorf("%w: a %s needs a product id", ErrInvalid, e.Type)
	}
	if math.IsNaN(e.T) || math.IsInf(e.T, 0) || e.T < 0 || e.T > 24*3600 {
		return fmt.Errorf("%w: time %v is not a position in a video", ErrInvalid, e.T)
	}
	if e.Session != "" && !validID(e.Session, 64) {
		return fmt.Errorf("%w: session %q", ErrInvalid, e.Session)
	}
	return nil
}

// Validate checks a batch: 1..MaxBatch valid events.
func (b *Batch) Validate() error {
	if len(b.Events) == 0 {
		return fmt.Errorf("%w: no events", ErrInvalid)
	}
	if len(b.Events) > MaxBatch {
		return fmt.Errorf("%w: %d events, at most %d per request", ErrInvalid, len(b.Events), MaxBatch)
	}
	for i := range b.Events {
		if err := b.Events[i].Validate(); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
	}
	return nil
}
