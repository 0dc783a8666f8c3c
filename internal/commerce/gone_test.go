package commerce

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"testing"
)

// TestGone: the products a shop no longer sells are those it does not know
// and those it marks removed; a shop that cannot be reached makes nothing
// gone, and lookups past MaxBatch ids are split.
func TestGone(t *testing.T) {
	ctx := context.Background()
	shop := startShop(t)
	items := shop.Items()
	a, b := items[0].ID, items[1].ID
	up := newUpstream(t, shop, true)
	// The catalog source of a server marks products a feed sync removed.
	removedB := SourceFunc(func(ctx context.Context, ids []string) ([]Product, error) {
		ps, err := up.Get(ctx, ids)
		for i := range ps {
			ps[i].Removed = ps[i].ID == b
		}
		return ps, err
	})
	many := []string{a}
	for i := range 2 * MaxBatch {
		many = append(many, "unknown-"+strconv.Itoa(i))
	}
	for _, tc := range []struct {
		name string
		src  Source
		down bool
		ids  []string
		want []string
	}{
		{"known ids stay", up, false, []string{a, b}, nil},
		{"unknown id is gone", up, false, []string{a, "no-such-product", b}, []string{"no-such-product"}},
		{"removed product is gone", removedB, false, []string{a, b}, []string{b}},
		{"shop down: nothing gone", NewCache(up, CacheConfig{}, nil), true, []string{a, "no-such-product"}, nil},
		{"invalid ids are not looked up", up, false, []string{a, "a,b"}, nil},
		{"more than a batch", up, false, many, many[1:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shop.SetDown(tc.down)
			defer shop.SetDown(false)
			got := slices.Sorted(maps.Keys(Gone(ctx, tc.src, tc.ids)))
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("Gone(%d ids) = %v, want %v", len(tc.ids), got, want)
			}
		})
	}
}
