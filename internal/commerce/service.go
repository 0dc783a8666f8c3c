package commerce

import (
	"context"
	"fmt"
	"log/slog"
)

// Similar finds up to k catalog products similar to a given one, best first,
// restricted to category when it is not empty. The catalog's filtered ANN
// search satisfies it. Service checks stock and category again against the
// source, which is the authority on both.
type Similar interface {
	SimilarProducts(ctx context.Context, productID, category string, k int) ([]string, error)
}

// Service answers product-details requests: it reads a Source (normally a
// Cache) and attaches in-stock alternatives to unavailable products.
type Service struct {
	src     Source
	similar Similar
	maxAlt  int
	log     *slog.Logger
}

// MaxBatch bounds the ids of one Products call.
const MaxBatch = 100

// NewService returns a Service reading src. similar may be nil (no
// alternatives); maxAlternatives <= 0 means 3. log may be nil.
func NewService(src Source, similar Similar, maxAlternatives int, log *slog.Logger) *Service {
	if maxAlternatives <= 0 {
		maxAlternatives = 3
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{src: src, similar: similar, maxAlt: maxAlternatives, log: log}
}

// Details is the answer to a batch request.
type Details struct {
	Products []Product `json:"products"`
	// Missing lists ids the source does not know.
	Missing []string `json:"missing,omitempty"`
	// Unavailable lists ids that could not be looked up (source down,
	// nothing cached).
	Unavailable []string `json:"unavailable,omitempty"`
}

// Products looks up ids (at most MaxBatch, each ValidID). A source failure is
// not an error here: the affected ids are listed in Unavailable and the rest
// is served, stale where needed.
func (s *Service) Products(ctx context.Context, ids []string) (Details, error) {
	ids = dedupe(ids)
	if len(ids) == 0 {
		return Details{}, fmt.Errorf("%w: no ids", ErrBadID)
	}
	if len(ids) > MaxBatch {
		return Details{}, fmt.Errorf("%w: %d ids, at most %d per request", ErrBadID, len(ids), MaxBatch)
	}
	for _, id := range ids {
		if !ValidID(id) {
			return Details{}, fmt.Errorf("%w: %q", ErrBadID, id)
		}
	}
	ps, err := s.src.Get(ctx, ids)
	d := Details{Products: ps}
	if err != nil {
		pe, ok := IsPartial(err)
		if !ok {
			// A source without a cache in front: nothing to fall back on.
			s.log.Warn("commerce: product lookup failed", "ids", len(ids), "err", err)
			d.Unavailable = ids
			d.Products = []Product{}
			return d, nil
		}
		d.Unavailable = pe.IDs
	}
	got := make(map[string]bool, len(ps))
	for _, p := range ps {
		got[p.ID] = true
	}
	gone := make(map[string]bool, len(d.Unavailable))
	for _, id := range d.Unavailable {
		gone[id] = true
	}
	for _, id := range ids {
		if !got[id] && !gone[id] {
			d.Missing = append(d.Missing, id)
		}
	}
	for i := range d.Products {
		if d.Products[i].Availability == OutOfStock {
			d.Products[i].Alternatives = s.alternatives(ctx, d.Products[i])
		}
	}
	if d.Products == nil {
		d.Products = []Product{}
	}
	return d, nil
}

// Product looks up one id; ErrNotFound when the source does not know it.
func (s *Service) Product(ctx context.Context, id string) (Product, error) {
	d, err := s.Products(ctx, []string{id})
	if err != nil {
		return Product{}, err
	}
	if len(d.Products) == 1 {
		return d.Products[0], nil
	}
	if len(d.Unavailable) > 0 {
		return Product{}, fmt.Errorf("commerce: product %s: source unavailable", id)
	}
	return Product{}, fmt.Errorf("%w: %s", ErrNotFound, id)
}

// alternatives returns up to maxAlt in-stock products of p's category that
// the similarity search ranks closest to p. Failures only cost the
// alternatives, never the product.
func (s *Service) alternatives(ctx context.Context, p Product) []Product {
	if s.similar == nil {
		return nil
	}
	// Ask for more than needed: some candidates may have sold out since the
	// index was built, and the source is the authority on stock.
	ids, err := s.similar.SimilarProducts(ctx, p.ID, p.Category, s.maxAlt*4)
	if err != nil {
		s.log.Warn("commerce: similar products", "product", p.ID, "err", err)
		return nil
	}
	var cand []string
	for _, id := range ids {
		if id != p.ID && ValidID(id) {
			cand = append(cand, id)
		}
	}
	if len(cand) == 0 {
		return nil
	}
	ps, err := s.src.Get(ctx, cand)
	if err != nil {
		if _, ok := IsPartial(err); !ok {
			s.log.Warn("commerce: alternatives lookup", "product", p.ID, "err", err)
			return nil
		}
	}
	var out []Product
	for _, a := range ps {
		if !a.Available() || (p.Category != "" && a.Category != "" && a.Category != p.Category) {
			continue
		}
		a.AlternativeFor = p.ID
		a.Alternatives = nil
		out = append(out, a)
		if len(out) == s.maxAlt {
			break
		}
	}
	return out
}

// Gone returns the ids src no longer sells: unknown to it, or known and
// marked Removed. Ids it could not look up (shop down, nothing cached) are
// not gone: an outage must not empty a video of its products. Invalid ids
// are left out of the lookup.
func Gone(ctx context.Context, src Source, ids []string) map[string]bool {
	gone := map[string]bool{}
	ids = dedupe(ids)
	for start := 0; start < len(ids); start += MaxBatch {
		var chunk []string
		for _, id := range ids[start:min(start+MaxBatch, len(ids))] {
			if ValidID(id) {
				chunk = append(chunk, id)
			}
		}
		if len(chunk) == 0 {
			continue
		}
		ps, err := src.Get(ctx, chunk)
		unsure := map[string]bool{}
		if err != nil {
			pe, ok := IsPartial(err)
			if !ok {
				continue
			}
			for _, id := range pe.IDs {
				unsure[id] = true
			}
		}
		seen := make(map[string]bool, len(ps))
		for _, p := range ps {
			seen[p.ID] = true
			if p.Removed {
				gone[p.ID] = true
			}
		}
		for _, id := range chunk {
			if !seen[id] && !unsure[id] {
				gone[id] = true
			}
		}
	}
	return gone
}
