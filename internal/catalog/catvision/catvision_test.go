package catvision

import (
	"image"
	"slices"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/catalog"
)

func TestViews(t *testing.T) {
	bounds := image.Rect(0, 0, 400, 600)
	model := catalog.Item{Label: "person", Box: image.Rect(100, 50, 300, 550)}
	for _, tc := range []struct {
		name     string
		item     catalog.Item
		category string
		want     []string
	}{
		{"a top: the upper body", model, "Top", []string{catalog.KindViewUpper}},
		{"a jacket: the upper body", model, "Jacket", []string{catalog.KindViewUpper}},
		{"trousers: the lower body", model, "Trouser", []string{catalog.KindViewLower}},
		{"a skirt: the lower body", model, "Skirt", []string{catalog.KindViewLower}},
		{"a dress: both", model, "Dress", []string{catalog.KindViewLower, catalog.KindViewUpper}},
		{"a co-ord: both", model, "Co-Ord", []string{catalog.KindViewLower, catalog.KindViewUpper}},
		{"a bag: none", model, "Handbag", nil},
		{"an unknown category: none", model, "Gift card", nil},
		{"a packshot: none", catalog.Item{Label: "trimmed", Box: image.Rect(20, 20, 380, 580)}, "Top", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kinds := Views{}.ViewKinds(tc.item.Label, tc.category)
			got := Views{}.Views(bounds, tc.item, tc.category)
			keys := make([]string, 0, len(got))
			for k, r := range got {
				keys = append(keys, k)
				if !r.In(tc.item.Box) || r.Empty() {
					t.Errorf("%s view %v not inside the main item %v", k, r, tc.item.Box)
				}
			}
			slices.Sort(keys)
			slices.Sort(kinds)
			if !slices.Equal(keys, tc.want) || !slices.Equal(kinds, tc.want) {
				t.Errorf("views %v, kinds %v, want %v", keys, kinds, tc.want)
			}
			// The upper view is above the lower one, each about half the body.
			up, low := got[catalog.KindViewUpper], got[catalog.KindViewLower]
			if !up.Empty() && !low.Empty() && !(up.Min.Y < low.Min.Y && up.Max.Y < low.Max.Y) {
				t.Errorf("upper %v is not above lower %v", up, low)
			}
			for k, r := range got {
				if h := r.Dy(); h < tc.item.Box.Dy()/3 || h > tc.item.Box.Dy()*2/3 {
					t.Errorf("%s view %v is %d px high, not about half of the %d px body", k, r, h, tc.item.Box.Dy())
				}
			}
		})
	}
}
