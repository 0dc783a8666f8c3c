package catalog

import (
	"context"
	"fmt"
	"testing"
)

func TestStoreList(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	for i := range 5 {
		p := Product{ID: fmt.Sprintf("p%d", i), Title: fmt.Sprintf("Product %d", i), Images: []string{fmt.Sprintf("https://shop.test/%d.jpg", i)}}
		if _, err := st.Upsert(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name           string
		status         string
		offset, limit  int
		wantN, wantTot int
	}{
		{"first page", "", 0, 2, 2, 5},
		{"last page", "", 4, 2, 1, 5},
		{"past the end", "", 10, 2, 0, 5},
		{"pending only", StatusPending, 0, 10, 5, 5},
		{"no ready ones", StatusReady, 0, 10, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, total, err := st.List(ctx, tc.status, tc.offset, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != tc.wantN || total != tc.wantTot {
				t.Fatalf("List = %d products of %d, want %d of %d", len(ps), total, tc.wantN, tc.wantTot)
			}
			for _, p := range ps {
				if len(p.Images) != 1 || p.Status != StatusPending {
					t.Errorf("product %+v: want its image and pending status", p)
				}
			}
		})
	}
	all, _, _ := st.List(ctx, "", 0, 10)
	seen := map[string]bool{}
	for _, p := range all {
		if seen[p.ID] {
			t.Errorf("product %s listed twice", p.ID)
		}
		seen[p.ID] = true
	}
}
