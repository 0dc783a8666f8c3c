package match

import "github.com/vitrine-dev/vitrine/internal/taxonomy"

// LabelGroup returns the garment class name (see package taxonomy: "top",
// "outerwear", "trousers", "co-ord", "footwear", ...) of a detector or
// garment label, or "" when unknown.
func LabelGroup(label string) string { return className(taxonomy.FromLabel(label)) }

// CategoryGroup returns the garment class name of a product category name
// (such as "Tshirts", "Casual Shoes", "Co-Ord"), or "" when unknown.
func CategoryGroup(category string) string {
	return className(taxonomy.FromCategory(category))
}

// CategoryCompatibility scores whether an item detected as label can be a
// product of category (taxonomy.Compatible): 1 for the same class, partial
// credit for classes easily confused (0.75 for apparel on a person against
// a garment category, a top against outerwear, a piece of a set against a
// co-ord), 0 for different classes, 0.5 when either is unknown.
func CategoryCompatibility(label, category string) float64 {
	return taxonomy.Compatible(taxonomy.FromLabel(label), taxonomy.FromCategory(category))
}

func className(c taxonomy.Class) string {
	if !c.Known() {
		return ""
	}
	return c.String()
}
