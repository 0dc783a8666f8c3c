package match

import "strings"

// labelGroups maps detector and garment labels (COCO and ImageNet apparel
// class names, lower case) to coarse product groups.
var labelGroups = map[string]string{
	"handbag": "bag", "backpack": "bag", "suitcase": "bag", "purse": "bag", "wallet": "bag", "mailbag": "bag",
	"tie": "accessory", "bow tie": "accessory", "umbrella": "accessory", "watch": "jewellery", "digital watch": "jewellery", "analog clock": "jewellery",
	"sunglasses": "eyewear", "sunglass": "eyewear", "spectacles": "eyewear",
	"jersey": "top", "t-shirt": "top", "sweatshirt": "top", "cardigan": "top", "suit": "top", "trench coat": "top", "lab coat": "top", "fur coat": "top", "poncho": "top", "bulletproof vest": "top", "kimono": "dress", "abaya": "dress",
	"jean": "bottom", "miniskirt": "bottom", "overskirt": "bottom", "hoopskirt": "bottom", "swimming trunks": "bottom",
	"gown": "dress", "dress": "dress",
	"running shoe": "footwear", "sandal": "footwear", "cowboy boot": "footwear", "loafer": "footwear", "clog": "footwear", "boot": "footwear", "shoe": "footwear",
	"cowboy hat": "accessory", "sombrero": "accessory", "bonnet": "accessory", "cap": "accessory", "hat": "accessory", "scarf": "accessory", "stole": "accessory", "necklace": "jewellery",
	"person": "apparel", "upper": "top", "lower": "bottom", "top": "top", "bottom": "bottom", "outfit": "apparel",
}

// categoryGroups maps words of product category names (catalog
// articleType-style names such as "Tshirts", "Handbags", "Casual Shoes") to
// coarse groups.
var categoryGroups = []struct{ word, group string }{
	{"bag", "bag"}, {"clutch", "bag"}, {"wallet", "bag"}, {"backpack", "bag"}, {"purse", "bag"}, {"luggage", "bag"}, {"trolley", "bag"},
	{"sunglass", "eyewear"}, {"eyewear", "eyewear"}, {"frames", "eyewear"},
	{"watch", "jewellery"}, {"ring", "jewellery"}, {"earring", "jewellery"}, {"necklace", "jewellery"}, {"bracelet", "jewellery"}, {"pendant", "jewellery"}, {"jewel", "jewellery"},
	{"shoe", "footwear"}, {"heel", "footwear"}, {"sandal", "footwear"}, {"flip flop", "footwear"}, {"boot", "footwear"}, {"flats", "footwear"}, {"sneaker", "footwear"}, {"footwear", "footwear"},
	{"dress", "dress"}, {"gown", "dress"}, {"jumpsuit", "dress"}, {"kurta", "top"}, {"saree", "dress"},
	{"jean", "bottom"}, {"trouser", "bottom"}, {"skirt", "bottom"}, {"short", "bottom"}, {"legging", "bottom"}, {"pant", "bottom"}, {"track", "bottom"}, {"capri", "bottom"},
	{"shirt", "top"}, {"top", "top"}, {"tee", "top"}, {"sweat", "top"}, {"jacket", "top"}, {"blazer", "top"}, {"coat", "top"}, {"cardigan", "top"}, {"sweater", "top"}, {"vest", "top"}, {"waistcoat", "top"}, {"tunic", "top"},
	{"co-ord", "apparel"}, {"coord", "apparel"},
	{"tie", "accessory"}, {"belt", "accessory"}, {"cap", "accessory"}, {"hat", "accessory"}, {"scarf", "accessory"}, {"stole", "accessory"}, {"mufflers", "accessory"}, {"socks", "accessory"}, {"umbrella", "accessory"},
}

// LabelGroup returns the coarse product group of a detector or garment
// label, or "" when unknown.
func LabelGroup(label string) string { return labelGroups[strings.ToLower(strings.TrimSpace(label))] }

// CategoryGroup returns the coarse group of a product category name, or ""
// when unknown.
func CategoryGroup(category string) string {
	c := strings.ToLower(category)
	for _, g := range categoryGroups {
		if strings.Contains(c, g.word) {
			return g.group
		}
	}
	return ""
}

// CategoryCompatibility scores whether an item detected as label can be a
// product of category: 1 for the same group, 0.75 for apparel on a person,
// 0 for different known groups, 0.5 when either is unknown.
func CategoryCompatibility(label, category string) float64 {
	lg, cg := LabelGroup(label), CategoryGroup(category)
	switch {
	case lg == "" || cg == "":
		return 0.5
	case lg == cg:
		return 1
	case lg == "apparel" && (cg == "top" || cg == "bottom" || cg == "dress"),
		cg == "apparel" && (lg == "top" || lg == "bottom" || lg == "dress"):
		return 0.75
	default:
		return 0
	}
}
