// Package taxonomy is vitrine's garment taxonomy: a small set of product
// classes (top, outerwear, dress, ...) onto which both detector labels and
// catalog category names are mapped, so that a detection can be checked
// for agreement with a candidate product's category.
//
// Detector labels come from fixed vocabularies (COCO-80, ImageNet-1k
// apparel classes, the 13 DeepFashion2 classes, the garment labeller's
// labels and vitrine's person-region kinds) and are matched whole.
// Category names are free text chosen by a catalog ("Tshirts", "Casual
// Shoes", "Co-Ord", "Necklace and Chains"), so they are matched word by
// word, the head noun (the last garment word) deciding.
//
// Everything is driven by one table (table, below); each row says why its
// mappings are what they are when that is not obvious.
package taxonomy

import (
	"strings"
	"unicode"
)

// Class is a garment class. The zero value is Unknown.
type Class uint8

// The classes. Top to CoOrd, and Apparel, are garments (see
// Class.Garment); Footwear to Accessory are other things worn or carried.
const (
	// Unknown: not a fashion product, or a name the taxonomy does not know.
	Unknown Class = iota
	// Top: shirts, T-shirts, blouses, sweaters, sweatshirts, kurtas.
	Top
	// Outerwear: jackets, coats, blazers, cardigans, waistcoats and other
	// layers worn over a top.
	Outerwear
	// Dress: dresses and other one-piece garments (jumpsuits, gowns, sarees).
	Dress
	// Skirt: skirts, including skorts and lehengas.
	Skirt
	// Trousers: trousers, jeans, leggings, track pants.
	Trousers
	// Shorts: shorts, including swimming trunks.
	Shorts
	// Bottom: a lower-body garment of unknown kind (skirt, trousers or
	// shorts), such as the "lower" garment region of a person.
	Bottom
	// CoOrd: a multi-piece outfit sold as one product (co-ord sets, suits,
	// tracksuits, pyjama sets).
	CoOrd
	// Footwear: shoes, boots, sandals.
	Footwear
	// Bag: bags, backpacks, wallets, luggage.
	Bag
	// Eyewear: sunglasses and spectacles.
	Eyewear
	// Jewellery: jewellery and watches.
	Jewellery
	// Headwear: hats, caps, headbands.
	Headwear
	// Accessory: belts, ties, scarves, gloves, socks, umbrellas.
	Accessory
	// Apparel: a garment of unknown kind, such as a whole person.
	Apparel

	numClasses
)

var names = [numClasses]string{
	Unknown:   "unknown",
	Top:       "top",
	Outerwear: "outerwear",
	Dress:     "dress",
	Skirt:     "skirt",
	Trousers:  "trousers",
	Shorts:    "shorts",
	Bottom:    "bottom",
	CoOrd:     "co-ord",
	Footwear:  "footwear",
	Bag:       "bag",
	Eyewear:   "eyewear",
	Jewellery: "jewellery",
	Headwear:  "headwear",
	Accessory: "accessory",
	Apparel:   "apparel",
}

// String returns the class name ("top", "co-ord", ...; "unknown" for
// Unknown and for values that are not classes).
func (c Class) String() string {
	if c >= numClasses {
		return names[Unknown]
	}
	return names[c]
}

// Known reports whether c is a class other than Unknown.
func (c Class) Known() bool { return c > Unknown && c < numClasses }

// Garment reports whether c is a garment class: Top to CoOrd (including
// Bottom) or Apparel.
func (c Class) Garment() bool {
	switch c {
	case Top, Outerwear, Dress, Skirt, Trousers, Shorts, Bottom, CoOrd, Apparel:
		return true
	}
	return false
}

// Classes returns the known classes in declaration order.
func Classes() []Class {
	out := make([]Class, 0, numClasses-1)
	for c := Unknown + 1; c < numClasses; c++ {
		out = append(out, c)
	}
	return out
}

// Parse returns the class named name (as String returns it), or Unknown.
func Parse(name string) Class {
	for c := Unknown + 1; c < numClasses; c++ {
		if names[c] == strings.ToLower(strings.TrimSpace(name)) {
			return c
		}
	}
	return Unknown
}

// entry is one row of the taxonomy table: labels and category words that
// map to class.
type entry struct {
	class Class
	// labels are detector and garment labels, matched whole after
	// normalisation (lower case, hyphens and apostrophes dropped, other
	// punctuation as spaces).
	labels []string
	// words are words or phrases of category names, matched on the words
	// of a category name in singular or plural ("shoe" matches "Shoes",
	// "dress" "Dresses", "accessory" "Accessories", "scarf" "Scarves").
	words []string
}

// table is the taxonomy. A label or word appears at most once. Labels
// that are a single word need not be listed when the same word is in words
// with the right class: FromLabel falls back to the words for single-word
// labels ("jeans", "shoes", "kimono").
var table = []entry{
	// Tops.
	{class: Top,
		labels: []string{
			// ImageNet "jersey, T-shirt, tee shirt".
			"jersey",
			// vitrine's person region above the waist, and the garment
			// labeller's generic labels.
			"upper", "top", "t-shirt", "shirt", "sweater", "sweatshirt",
			// DeepFashion2, and the names some of its detectors use.
			"short sleeve top", "long sleeve top", "short sleeved shirt", "long sleeved shirt",
			// DeepFashion2 "sling": a strappy, sleeveless top (camisole).
			"sling",
			// ImageNet "wool": fires on knitwear; the garment labeller
			// reads it as a sweater.
			"wool",
		},
		words: []string{
			"top", "topwear", "tshirt", "tee", "shirt", "blouse", "polo", "henley",
			"camisole", "cami", "sweater", "jumper", "pullover", "sweatshirt", "hoodie",
			"jersey", "bodysuit", "tunic", "brassiere", "bra",
			// Kurtas and kurtis are long tunics worn over trousers or
			// leggings; catalogs file them as tops, and so does the sample
			// catalog's own coarse grouping.
			"kurta", "kurti",
			// A choli is the short blouse of a lehenga or saree.
			"choli",
		}},
	// "vest" is a sleeveless top in DeepFashion2 (its "vest" class is tank
	// tops) and in Indian and British retail ("Innerwear Vests"). Vests
	// worn over a shirt have names of their own (waistcoat, gilet, puffer
	// vest: Outerwear below), and Top~Outerwear partial credit covers the
	// other reading.
	{class: Top, labels: []string{"vest"}, words: []string{"vest"}},

	// Outerwear: layers worn over a top.
	{class: Outerwear,
		labels: []string{
			// DeepFashion2 "outwear" covers jackets, coats and cardigans.
			"short sleeve outwear", "long sleeve outwear", "short sleeved outwear",
			"long sleeved outwear",
			"trench coat", "lab coat", "fur coat", "coat", "jacket",
			// Worn over the clothes, whatever ImageNet's pictures show.
			"bulletproof vest",
			// The garment labeller reads ImageNet "military uniform" as a
			// jacket: the tunic is what shows.
			"military uniform",
		},
		words: []string{
			"outerwear", "outwear", "jacket", "coat", "overcoat", "raincoat", "trench",
			"blazer", "waistcoat", "gilet", "puffer vest", "quilted vest", "sweater vest",
			"suit vest", "parka", "anorak", "windcheater", "windbreaker", "shacket",
			"shrug", "cape", "cloak", "poncho", "robe",
			// An open-front knit worn over a top: DeepFashion2 counts it as
			// outwear, unlike sweaters.
			"cardigan",
			// ImageNet's kimono is the Japanese robe, but what a fashion
			// catalog sells as a kimono is an open-front layer (kimono
			// jacket); the label and the category should agree.
			"kimono",
		}},

	// Dresses and other one-piece garments.
	{class: Dress,
		labels: []string{
			"short sleeve dress", "long sleeve dress", "vest dress", "sling dress",
			"short sleeved dress", "long sleeved dress",
		},
		words: []string{
			"dress", "gown", "frock", "sundress", "nightdress", "nightgown", "nightie",
			"baby doll", "babydoll", "kaftan", "caftan", "abaya", "anarkali",
			// One-piece garments that cover top and legs look like a dress
			// to a detector and are bought instead of one.
			"jumpsuit", "playsuit", "romper", "catsuit", "dungaree", "pinafore",
			// A saree is draped as one full-length garment.
			"saree", "sari",
		}},

	// Skirts.
	{class: Skirt,
		labels: []string{"skirt"},
		words: []string{
			"skirt", "miniskirt", "overskirt", "hoopskirt",
			// A skort is shorts under a skirt front: it looks like a skirt.
			"skort",
			// A lehenga is the skirt of a lehenga choli (the set is CoOrd).
			"lehenga",
			// ImageNet "sarong"; the garment labeller reads it as a skirt.
			"sarong",
		}},

	// Trousers, including jeans, leggings and track pants.
	{class: Trousers,
		labels: []string{
			// ImageNet "jean, blue jean, denim".
			"jean",
			"trousers",
		},
		words: []string{
			"trouser", "pant", "jean", "jegging", "legging", "tights", "capri", "chino",
			"jogger", "trackpant", "sweatpant", "cargo", "palazzo", "culotte", "salwar",
			"churidar", "patiala", "dhoti",
			// In Indian retail "Denims" are jeans; "Denim Jacket" and the
			// like end with their own head noun.
			"denim",
		}},

	// Shorts.
	{class: Shorts,
		labels: []string{
			// ImageNet "swimming trunks, bathing trunks": shorts to look at.
			"swimming trunks",
		},
		words: []string{"shorts", "bermuda", "hotpant"}},

	// A lower-body garment of unknown kind.
	{class: Bottom,
		labels: []string{
			// vitrine's person region below the waist: skirt, trousers or
			// shorts.
			"lower", "bottom",
		},
		words: []string{"bottom", "bottomwear"}},

	// Multi-piece outfits sold as one product.
	{class: CoOrd,
		labels: []string{
			// ImageNet "suit, suit of clothes" sees jacket, trousers and
			// shirt together: a suit is a multi-piece outfit, and catalogs
			// sell suits as sets.
			"suit",
			// ImageNet "pajama, pyjama": two-piece sleepwear; the garment
			// labeller calls it nightwear.
			"pajama", "nightwear",
			// ImageNet "bikini, two-piece".
			"bikini",
		},
		words: []string{
			"coord", "co ord", "set", "suit", "tracksuit", "lehenga choli", "pajama",
			"pyjama", "nightwear", "bikini",
		}},

	// Footwear.
	{class: Footwear,
		labels: []string{
			// vitrine's person region at the feet.
			"footwear",
			"running shoe", "cowboy boot", "shoes", "boots", "sneakers", "sandals",
		},
		words: []string{
			"footwear", "shoe", "sneaker", "trainer", "boot", "bootie", "sandal", "heel",
			"flat", "flip flop", "flipflop", "slipper", "slider", "loafer", "clog",
			"mule", "moccasin", "brogue", "oxford", "espadrille", "wedge", "pump",
			"floater", "jutti", "mojari", "kolhapuri",
		}},

	// Bags.
	{class: Bag,
		labels: []string{
			// COCO.
			"handbag", "backpack", "suitcase",
			// ImageNet.
			"purse", "wallet", "mailbag",
			// The garment labeller.
			"bag",
		},
		words: []string{
			"bag", "handbag", "backpack", "rucksack", "clutch", "wallet", "purse", "pouch",
			"tote", "satchel", "briefcase", "suitcase", "luggage", "trolley", "card holder",
		}},

	// Eyewear.
	{class: Eyewear,
		labels: []string{"sunglasses", "sunglass", "spectacles", "glasses"},
		words: []string{
			"eyewear", "sunglasses", "sunglass", "spectacles", "spectacle", "eyeglasses",
			"glasses", "goggles",
			// Catalogs sell spectacle frames as "Frames".
			"frames",
		}},

	// Jewellery and watches.
	{class: Jewellery,
		labels: []string{
			"watch", "digital watch", "necklace",
			// ImageNet has no analogue wristwatch class: its wristwatch
			// pictures are mostly classified "analog clock".
			"analog clock",
		},
		words: []string{
			"jewellery", "jewelry", "jewel", "jewellery set", "jewelry set", "watch",
			"smartwatch", "ring", "earring", "necklace", "chain", "pendant", "bracelet",
			"bangle", "anklet", "brooch", "cufflink",
		}},

	// Headwear. A hat is a product class of its own: a hat detection says
	// nothing about a belt or a scarf.
	{class: Headwear,
		labels: []string{"cowboy hat", "sombrero", "bonnet", "hat", "cap"},
		words: []string{
			"headwear", "hat", "cap", "beanie", "beret", "bonnet", "sombrero", "fedora",
			"headband", "turban",
		}},

	// Accessories.
	{class: Accessory,
		labels: []string{
			// COCO.
			"tie", "umbrella",
			// ImageNet.
			"bow tie", "bolo tie", "windsor tie", "stole", "sock", "mitten",
			// ImageNet "feather boa"; the garment labeller reads it as a scarf.
			"feather boa",
			"scarf", "gloves", "socks",
		},
		words: []string{
			"accessory", "belt", "tie", "bowtie", "bow tie", "scarf", "stole", "muffler",
			"shawl", "dupatta", "glove", "mitten", "sock", "stocking", "umbrella",
			"suspender", "wristband", "handkerchief", "pocket square", "key chain",
			"keychain", "key ring",
		}},

	// Garments of unknown kind.
	{class: Apparel,
		labels: []string{
			// A person box, and vitrine's whole-person region: wearing
			// something, but what?
			"person", "outfit",
			// The garment labeller's "swimwear" stands for ImageNet bikini
			// and both maillot classes: a set or a one-piece.
			"swimwear", "maillot",
		},
		words: []string{
			"apparel", "clothing", "clothes", "garment", "swimwear", "swimsuit",
			"lingerie", "innerwear", "loungewear",
		}},

	// Names that contain a garment word but are not fashion products.
	// Matching stops at them.
	{class: Unknown,
		words: []string{
			"photo frame", "sleeping bag", "bean bag", "punching bag", "tea bag",
			"gift set", "shoe rack", "watch box", "wine glass",
		}},
}

// Indexes built from table.
var (
	labelIndex = map[string]Class{}
	wordIndex  = map[string]Class{}
	// maxPhrase is the number of words of the longest phrase in wordIndex.
	maxPhrase = 1
)

func init() {
	for _, e := range table {
		for _, l := range e.labels {
			n := strings.Join(words(l), " ")
			if c, dup := labelIndex[n]; dup && c != e.class {
				panic("taxonomy: label " + l + " listed as " + c.String() + " and " + e.class.String())
			}
			labelIndex[n] = e.class
		}
		for _, w := range e.words {
			ws := words(w)
			n := strings.Join(ws, " ")
			if c, dup := wordIndex[n]; dup && c != e.class {
				panic("taxonomy: word " + w + " listed as " + c.String() + " and " + e.class.String())
			}
			wordIndex[n] = e.class
			maxPhrase = max(maxPhrase, len(ws))
		}
	}
}

// words splits s into lower-case words: hyphens and apostrophes are
// dropped ("T-Shirt" is "tshirt", "Co-Ord" "coord"), any other character
// that is not a letter or digit separates words ("short_sleeve_top" is
// three words), and "&" is "and".
func words(s string) []string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r == '-' || r == '\'' || r == '’' || r == '‐':
		case r == '&':
			b.WriteString(" and ")
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}

// forms returns w and the singulars it may be the plural of, most literal
// first: "accessories" → accessory, "scarves" → scarf, "capes" → cape,
// "dresses" → dress.
func forms(w string) []string {
	out := []string{w}
	if len(w) < 4 {
		return out
	}
	if s, ok := strings.CutSuffix(w, "ies"); ok {
		out = append(out, s+"y")
	}
	if s, ok := strings.CutSuffix(w, "ves"); ok {
		out = append(out, s+"f")
	}
	if s, ok := strings.CutSuffix(w, "s"); ok {
		out = append(out, s)
	}
	if s, ok := strings.CutSuffix(w, "es"); ok {
		out = append(out, s)
	}
	return out
}

// FromLabel returns the class of a detector or garment label: a COCO-80 or
// ImageNet-1k class name (its first synonym), a DeepFashion2 class, a
// garment labeller label or a person region kind ("upper", "lower",
// "footwear", "outfit"). Case and punctuation do not matter ("Loafer",
// "short_sleeve_top"). A single-word label that is not in the label table
// is looked up as a category word, so a garment labeller prompt label such
// as "blazer" or "jeans" is understood too. Anything else, including every
// non-fashion COCO class, is Unknown.
func FromLabel(label string) Class {
	ws := words(label)
	if c, ok := labelIndex[strings.Join(ws, " ")]; ok {
		return c
	}
	if len(ws) == 1 {
		if c, ok := lookup(ws); ok {
			return c
		}
	}
	return Unknown
}

// lookup returns the class of the phrase ws ends with, trying the longest
// phrase first and singular forms of the last word.
func lookup(ws []string) (Class, bool) {
	for n := min(maxPhrase, len(ws)); n >= 1; n-- {
		head := strings.Join(ws[len(ws)-n:len(ws)-1], " ")
		for _, f := range forms(ws[len(ws)-1]) {
			if head != "" {
				f = head + " " + f
			}
			if c, ok := wordIndex[f]; ok {
				return c, true
			}
		}
	}
	return Unknown, false
}

// stopWords end the part of a category name that names the product:
// "Dress with Belt" is a dress, "Bag for Laptop" a bag.
var stopWords = map[string]bool{"with": true, "without": true, "for": true}

// FromCategory returns the class of a catalog category name. The words of
// the name are read from the end, as English puts the head noun last: the
// last word (or phrase) in the taxonomy decides, so "Shirt Dress" is a
// dress, "Dress Shirts" a top, "Casual Shoes" footwear, "Kurta Sets" a
// co-ord and "Tshirts for Men" a top. Words after "with", "without" or
// "for" are ignored. A name listing garments of different classes joined
// by "and" ("Top and Skirt", "Kurta & Palazzo") is a co-ord, a garment
// listed with things that are not garments is that garment ("Dress and
// Belt"), and otherwise the last part that is known decides ("Necklace and
// Chains"). Names without a known word are Unknown.
func FromCategory(category string) Class {
	ws := words(category)
	for i, w := range ws {
		if stopWords[w] {
			ws = ws[:i]
			break
		}
	}
	var parts []Class
	start := 0
	for i := 0; i <= len(ws); i++ {
		if i < len(ws) && ws[i] != "and" {
			continue
		}
		if c, ok := headClass(ws[start:i]); ok {
			parts = append(parts, c)
		}
		start = i + 1
	}
	// A name joining garments: a set of different ones is a co-ord ("Top
	// and Skirt"), one garment with things that are not garments is that
	// garment ("Dress and Belt", "Shirt & Tie"), and a garment of unknown
	// kind with things that are not garments is Apparel ("Clothing and
	// Accessories").
	var garment Class
	for _, c := range parts {
		switch {
		case !c.Garment():
		case c == Apparel:
			if garment == Unknown {
				garment = Apparel
			}
		case garment != Unknown && garment != Apparel && c != garment:
			return CoOrd
		default:
			garment = c
		}
	}
	switch {
	case garment != Unknown:
		return garment
	case len(parts) == 0:
		return Unknown
	}
	return parts[len(parts)-1]
}

// headClass returns the class of the last known word or phrase of ws.
func headClass(ws []string) (Class, bool) {
	for end := len(ws); end > 0; end-- {
		if c, ok := lookup(ws[:end]); ok {
			return c, true
		}
	}
	return Unknown, false
}

// Partial credit of Compatible for classes that are told apart less
// reliably than their names suggest.
const (
	// related: the detected thing may well be the product (a piece of a
	// set, a layer for the layer next to it, a garment of unknown kind).
	related = 0.75
	// lookalike: the two often look alike in video (the skirt of a dress,
	// long shorts and cropped trousers): no evidence either way.
	lookalike = 0.5
	// unknownScore is the score when either class is unknown.
	unknownScore = 0.5
)

// partial lists the pairs of different known classes that score above 0,
// in either order; every other pair of different known classes scores 0.
var partial = map[[2]Class]float64{
	// Shirts, overshirts and shackets, sweaters and cardigans, tops under
	// open jackets: detectors and people draw the line in different places.
	{Top, Outerwear}: related,

	// A detected piece of a set is the set's product.
	{CoOrd, Top}:       related,
	{CoOrd, Outerwear}: related, // a suit's or blazer set's jacket
	{CoOrd, Skirt}:     related,
	{CoOrd, Trousers}:  related,
	{CoOrd, Shorts}:    related,
	{CoOrd, Bottom}:    related,
	// A top and skirt in one print read as a dress, and a jumpsuit as a
	// set.
	{CoOrd, Dress}: lookalike,

	// A lower-body garment of unknown kind may be any of them, or the
	// skirt of a dress.
	{Bottom, Skirt}:    related,
	{Bottom, Trousers}: related,
	{Bottom, Shorts}:   related,
	{Bottom, Dress}:    lookalike,

	{Dress, Skirt}:     lookalike, // the skirt of a dress, seen alone
	{Skirt, Shorts}:    lookalike, // skorts, flared shorts
	{Trousers, Shorts}: lookalike, // capris, culottes, long shorts
}

// Compatible scores whether something of class a can be a product of class
// b, in 0..1: 1 for the same class, 0.5 when either is Unknown, 0.75 for
// Apparel (a garment of unknown kind) against any garment class and for
// related classes (Top~Outerwear, a piece of a co-ord set against the set,
// Bottom against skirts, trousers and shorts), 0.5 for look-alikes
// (Dress~CoOrd, Dress~Skirt, ...), 0 otherwise (footwear against a dress,
// a bag against a top). It is symmetric.
func Compatible(a, b Class) float64 {
	switch {
	case !a.Known() || !b.Known():
		return unknownScore
	case a == b:
		return 1
	case a == Apparel && b.Garment(), b == Apparel && a.Garment():
		return related
	}
	if s, ok := partial[[2]Class{a, b}]; ok {
		return s
	}
	return partial[[2]Class{b, a}]
}
