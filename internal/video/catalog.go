package video

import (
	"context"
	"fmt"
	"strconv"

	"github.com/vitrine-dev/vitrine/internal/catalog"
	"github.com/vitrine-dev/vitrine/internal/match"
	"github.com/vitrine-dev/vitrine/internal/vecindex"
)

// CatalogSource adapts the catalog's index and store to Catalog.
type CatalogSource struct {
	Index *catalog.Index
	Store *catalog.Store
	// Filter restricts matching (for example to available products); nil
	// searches everything.
	Filter *vecindex.Filter
}

// Search returns the k nearest products of vec.
func (c *CatalogSource) Search(ctx context.Context, vec []float32, k int) ([]match.Candidate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hits, err := c.Index.Search(vec, k, c.Filter)
	if err != nil {
		return nil, fmt.Errorf("catalog search: %w", err)
	}
	out := make([]match.Candidate, len(hits))
	for i, h := range hits {
		out[i] = match.Candidate{ProductID: h.Product, Score: float64(h.Score)}
	}
	return out, nil
}

// ProductInfo returns the categories of the given products.
func (c *CatalogSource) ProductInfo(ctx context.Context, ids []string) (map[string]match.ProductInfo, error) {
	ps, err := c.Store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]match.ProductInfo, len(ps))
	for _, p := range ps {
		out[p.ID] = match.ProductInfo{Category: p.Category}
	}
	return out, nil
}

// Version returns the catalog version counter.
func (c *CatalogSource) Version(ctx context.Context) (string, error) {
	v, err := c.Store.Version(ctx)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(v, 10), nil
}
