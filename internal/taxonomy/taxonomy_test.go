package taxonomy

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

// labelTests has a row for every label of the table, and more.
var labelTests = []struct {
	label string
	want  Class
}{
	// vitrine's person regions.
	{"upper", Top}, {"lower", Bottom}, {"footwear", Footwear}, {"outfit", Apparel},
	// COCO-80 (the fashion classes; the rest are below, Unknown).
	{"person", Apparel}, {"backpack", Bag}, {"umbrella", Accessory}, {"handbag", Bag},
	{"tie", Accessory}, {"suitcase", Bag},
	// ImageNet-1k apparel classes (first synonym).
	{"abaya", Dress}, {"bikini", CoOrd}, {"bolo tie", Accessory}, {"bonnet", Headwear},
	{"bow tie", Accessory}, {"brassiere", Top}, {"bulletproof vest", Outerwear},
	{"cardigan", Outerwear}, {"cloak", Outerwear}, {"clog", Footwear},
	{"cowboy boot", Footwear}, {"cowboy hat", Headwear}, {"digital watch", Jewellery},
	{"feather boa", Accessory}, {"fur coat", Outerwear}, {"gown", Dress},
	{"hoopskirt", Skirt}, {"jean", Trousers}, {"jersey", Top}, {"kimono", Outerwear},
	{"lab coat", Outerwear}, {"Loafer", Footwear}, {"mailbag", Bag}, {"maillot", Apparel},
	{"military uniform", Outerwear}, {"miniskirt", Skirt}, {"mitten", Accessory},
	{"necklace", Jewellery}, {"overskirt", Skirt}, {"pajama", CoOrd}, {"poncho", Outerwear},
	{"purse", Bag}, {"running shoe", Footwear}, {"sandal", Footwear}, {"sarong", Skirt},
	{"sock", Accessory}, {"sombrero", Headwear}, {"stole", Accessory}, {"suit", CoOrd},
	{"sunglass", Eyewear}, {"sunglasses", Eyewear}, {"sweatshirt", Top},
	{"swimming trunks", Shorts}, {"trench coat", Outerwear}, {"wallet", Bag},
	{"Windsor tie", Accessory}, {"wool", Top}, {"analog clock", Jewellery},
	{"handkerchief", Accessory}, {"chain", Jewellery},
	// DeepFashion2, and the spelling of some of its detectors.
	{"short sleeve top", Top}, {"long sleeve top", Top},
	{"short sleeve outwear", Outerwear}, {"long sleeve outwear", Outerwear},
	{"vest", Top}, {"sling", Top}, {"shorts", Shorts}, {"trousers", Trousers},
	{"skirt", Skirt}, {"short sleeve dress", Dress}, {"long sleeve dress", Dress},
	{"vest dress", Dress}, {"sling dress", Dress},
	{"short_sleeved_shirt", Top}, {"long_sleeved_shirt", Top},
	{"short_sleeved_outwear", Outerwear}, {"long_sleeved_outwear", Outerwear},
	{"short_sleeved_dress", Dress}, {"long_sleeved_dress", Dress},
	{"Short Sleeve Top", Top}, {"  LONG  sleeve   dress ", Dress},
	// The garment labeller's labels and prompts.
	{"dress", Dress}, {"swimwear", Apparel}, {"hat", Headwear}, {"top", Top},
	{"coat", Outerwear}, {"shoes", Footwear}, {"boots", Footwear}, {"watch", Jewellery},
	{"scarf", Accessory}, {"jeans", Trousers}, {"t-shirt", Top}, {"bag", Bag},
	{"jacket", Outerwear}, {"gloves", Accessory}, {"nightwear", CoOrd},
	{"sneakers", Footwear}, {"sandals", Footwear}, {"socks", Accessory},
	{"sweater", Top}, {"shirt", Top},
	// Other labels of the table.
	{"bottom", Bottom}, {"spectacles", Eyewear}, {"glasses", Eyewear}, {"cap", Headwear},
	// Single words fall back to the category words.
	{"blazer", Outerwear}, {"Jumpsuit", Dress}, {"kurta", Top}, {"heels", Footwear},
	{"co-ord", CoOrd}, {"tshirt", Top}, {"T-Shirt", Top},
	// Not fashion, or not known.
	{"", Unknown}, {"  ", Unknown}, {"cup", Unknown}, {"chair", Unknown}, {"dog", Unknown},
	{"clock", Unknown}, {"wall clock", Unknown}, {"baseball glove", Unknown},
	{"wine glass", Unknown}, {"teddy bear", Unknown}, {"sleeping bag", Unknown},
	{"punching bag", Unknown}, {"shoe shop", Unknown}, {"chain mail", Unknown},
	{"tank", Unknown}, {"something", Unknown},
	// Several words are matched whole only: no reading of the head noun.
	{"denim jacket", Unknown},
}

func TestFromLabel(t *testing.T) {
	for _, tc := range labelTests {
		if got := FromLabel(tc.label); got != tc.want {
			t.Errorf("FromLabel(%q) = %v, want %v", tc.label, got, tc.want)
		}
	}
}

// catalogCategories are the category values of the sample catalogs: the
// Myntra articleTypes of catalog/products.csv, and the Virgio categories
// of catalog_virgio/products.csv and the product types of its full
// catalog.
var catalogCategories = map[string]Class{
	// catalog/products.csv
	"Backpacks": Bag, "Belts": Accessory, "Bracelet": Jewellery, "Capris": Trousers,
	"Caps": Headwear, "Casual Shoes": Footwear, "Clutches": Bag, "Dresses": Dress,
	"Duffel Bag": Bag, "Flats": Footwear, "Flip Flops": Footwear, "Formal Shoes": Footwear,
	"Gloves": Accessory, "Handbags": Bag, "Hat": Headwear, "Heels": Footwear,
	"Jackets": Outerwear, "Jeans": Trousers, "Kurtas": Top, "Kurtis": Top,
	"Laptop Bag": Bag, "Leggings": Trousers, "Messenger Bag": Bag, "Mufflers": Accessory,
	"Necklace and Chains": Jewellery, "Sandals": Footwear, "Scarves": Accessory,
	"Shirts": Top, "Shorts": Shorts, "Skirts": Skirt, "Sports Shoes": Footwear,
	"Stoles": Accessory, "Sunglasses": Eyewear, "Sweaters": Top, "Sweatshirts": Top,
	"Ties": Accessory, "Tops": Top, "Track Pants": Trousers, "Trousers": Trousers,
	"Tshirts": Top, "Tunics": Top, "Wallets": Bag, "Watches": Jewellery,
	// catalog_virgio/products.csv
	"Co-Ord": CoOrd, "Dress": Dress, "Jacket": Outerwear, "Shirt": Top,
	"Skirt": Skirt, "Top": Top, "Trouser": Trousers, "Tshirt": Top,
	// catalog_virgio/catalog_full_969_products.csv, product_type
	"Jumpsuit": Dress, "Skorts": Skirt, "Playsuit": Dress,
}

// categoryTests has a row for every word of the table, and names as
// catalogs write them.
var categoryTests = []struct {
	category string
	want     Class
}{
	// Top.
	{"Tops", Top}, {"Topwear", Top}, {"T-Shirts", Top}, {"Tees", Top}, {"Blouses", Top},
	{"Polos", Top}, {"Henleys", Top}, {"Camisoles", Top}, {"Cami", Top}, {"Jumpers", Top},
	{"Pullovers", Top}, {"Hoodies", Top}, {"Jersey", Top}, {"Bodysuits", Top},
	{"Tunic", Top}, {"Brassiere", Top}, {"Bra", Top}, {"Sports Bras", Top}, {"Kurta", Top},
	{"Kurti", Top}, {"Choli", Top}, {"Vests", Top}, {"Innerwear Vests", Top},
	{"Crop Top", Top}, {"Dress Shirts", Top}, {"Lounge Tshirts", Top},
	{"Tshirts for Men", Top}, {"Off-Shoulder Top", Top}, {"Tank Tops", Top},
	// Outerwear.
	{"Outerwear", Outerwear}, {"Outwear", Outerwear}, {"Coats", Outerwear},
	{"Overcoats", Outerwear}, {"Raincoat", Outerwear}, {"Trench", Outerwear},
	{"Blazers", Outerwear}, {"Waistcoat", Outerwear}, {"Gilets", Outerwear},
	{"Puffer Vests", Outerwear}, {"Quilted Vest", Outerwear}, {"Sweater Vest", Outerwear},
	{"Suit Vest", Outerwear}, {"Parkas", Outerwear}, {"Anorak", Outerwear},
	{"Windcheaters", Outerwear}, {"Windbreaker", Outerwear}, {"Shackets", Outerwear},
	{"Shrug", Outerwear}, {"Capes", Outerwear}, {"Cloak", Outerwear}, {"Ponchos", Outerwear},
	{"Bath Robe", Outerwear}, {"Robes", Outerwear}, {"Cardigans", Outerwear}, {"Kimono", Outerwear},
	{"Rain Jacket", Outerwear}, {"Nehru Jackets", Outerwear}, {"Denim Jacket", Outerwear},
	// Dress.
	{"Gowns", Dress}, {"Frocks", Dress}, {"Sundress", Dress}, {"Nightdress", Dress},
	{"Nightgown", Dress}, {"Nighties", Dress}, {"Baby Dolls", Dress}, {"Babydoll", Dress},
	{"Kaftans", Dress}, {"Caftan", Dress}, {"Abaya", Dress}, {"Anarkali", Dress},
	{"Jumpsuits", Dress}, {"Rompers", Dress}, {"Catsuit", Dress}, {"Dungarees", Dress},
	{"Pinafore", Dress}, {"Sarees", Dress}, {"Sari", Dress}, {"Shirt Dress", Dress},
	{"Dress with Belt", Dress}, {"Dress and Belt", Dress}, {"T-Shirt Dress", Dress},
	// Skirt.
	{"Miniskirt", Skirt}, {"Overskirt", Skirt}, {"Hoopskirt", Skirt}, {"Skort", Skirt},
	{"Lehenga", Skirt}, {"Sarongs", Skirt}, {"Tiered Skirt", Skirt},
	// Trousers.
	{"Pants", Trousers}, {"Jeggings", Trousers}, {"Tights", Trousers}, {"Chinos", Trousers},
	{"Joggers", Trousers}, {"Trackpants", Trousers}, {"Sweatpants", Trousers},
	{"Cargos", Trousers}, {"Palazzos", Trousers}, {"Culottes", Trousers},
	{"Salwar", Trousers}, {"Churidar", Trousers}, {"Patiala", Trousers}, {"Dhoti", Trousers},
	{"Denims", Trousers}, {"Bootcut Jeans", Trousers}, {"Salwar and Dupatta", Trousers},
	// Shorts.
	{"Bermudas", Shorts}, {"Hotpants", Shorts}, {"Lounge Shorts", Shorts},
	{"Cargo Shorts", Shorts},
	// Bottom.
	{"Bottoms", Bottom}, {"Bottomwear", Bottom},
	// CoOrd.
	{"Coords", CoOrd}, {"Co Ord", CoOrd}, {"Co-ord Set", CoOrd}, {"Sets", CoOrd},
	{"Suits", CoOrd}, {"Tracksuits", CoOrd}, {"Lehenga Choli", CoOrd},
	{"Pajamas", CoOrd}, {"Pyjama", CoOrd}, {"Nightwear", CoOrd}, {"Bikini", CoOrd},
	{"Kurta Sets", CoOrd}, {"Night suits", CoOrd}, {"Top and Skirt", CoOrd},
	{"Kurta & Palazzo", CoOrd}, {"Blazer Set", CoOrd},
	// Footwear.
	{"Footwear", Footwear}, {"Shoes", Footwear}, {"Sneakers", Footwear},
	{"Trainers", Footwear}, {"Boots", Footwear}, {"Booties", Footwear},
	{"Sandal", Footwear}, {"Heel", Footwear}, {"Flat", Footwear}, {"Flip-Flops", Footwear},
	{"Flipflops", Footwear}, {"Slippers", Footwear}, {"Sliders", Footwear},
	{"Loafers", Footwear}, {"Clogs", Footwear}, {"Mules", Footwear},
	{"Moccasins", Footwear}, {"Brogues", Footwear}, {"Oxfords", Footwear},
	{"Espadrilles", Footwear}, {"Wedges", Footwear}, {"Pumps", Footwear},
	{"Floaters", Footwear}, {"Juttis", Footwear}, {"Mojaris", Footwear},
	{"Kolhapuri", Footwear}, {"Sports Sandals", Footwear}, {"Shoe Laces", Footwear},
	// Bag.
	{"Bags", Bag}, {"Handbag", Bag}, {"Backpack", Bag}, {"Rucksacks", Bag}, {"Clutch", Bag},
	{"Wallet", Bag}, {"Purses", Bag}, {"Mobile Pouch", Bag}, {"Pouches", Bag}, {"Totes", Bag},
	{"Satchels", Bag}, {"Briefcases", Bag}, {"Suitcases", Bag}, {"Luggage", Bag},
	{"Trolley", Bag}, {"Trolley Bag", Bag}, {"Card Holders", Bag}, {"Sling Bag", Bag},
	// Eyewear.
	{"Eyewear", Eyewear}, {"Sunglass", Eyewear}, {"Spectacles", Eyewear},
	{"Spectacle", Eyewear}, {"Eyeglasses", Eyewear}, {"Glasses", Eyewear},
	{"Goggles", Eyewear}, {"Frames", Eyewear},
	// Jewellery.
	{"Jewellery", Jewellery}, {"Jewelry", Jewellery}, {"Jewels", Jewellery},
	{"Jewellery Set", Jewellery}, {"Jewelry Sets", Jewellery}, {"Watch", Jewellery},
	{"Smartwatches", Jewellery}, {"Rings", Jewellery}, {"Earrings", Jewellery},
	{"Necklaces", Jewellery}, {"Chains", Jewellery}, {"Pendant", Jewellery},
	{"Bracelets", Jewellery}, {"Bangles", Jewellery}, {"Anklets", Jewellery},
	{"Brooch", Jewellery}, {"Cufflinks", Jewellery}, {"Ties and Cufflinks", Jewellery},
	{"Watch Straps", Jewellery},
	// Headwear.
	{"Headwear", Headwear}, {"Hats", Headwear}, {"Cap", Headwear}, {"Beanies", Headwear},
	{"Berets", Headwear}, {"Bonnet", Headwear}, {"Sombrero", Headwear},
	{"Fedoras", Headwear}, {"Headband", Headwear}, {"Turbans", Headwear},
	{"Flat Cap", Headwear},
	// Accessory.
	{"Accessories", Accessory}, {"Hair Accessory", Accessory}, {"Shoe Accessories", Accessory},
	{"Belt", Accessory}, {"Tie", Accessory}, {"Bowties", Accessory},
	{"Bow Ties", Accessory}, {"Scarf", Accessory}, {"Stole", Accessory},
	{"Muffler", Accessory}, {"Shawls", Accessory}, {"Dupatta", Accessory},
	{"Glove", Accessory}, {"Mittens", Accessory}, {"Socks", Accessory},
	{"Stockings", Accessory}, {"Umbrellas", Accessory}, {"Suspenders", Accessory},
	{"Wristbands", Accessory}, {"Handkerchiefs", Accessory}, {"Pocket Squares", Accessory},
	{"Key chain", Accessory}, {"Keychains", Accessory}, {"Key Rings", Accessory},
	// Apparel.
	{"Apparel", Apparel}, {"Clothing", Apparel}, {"Clothes", Apparel},
	{"Garments", Apparel}, {"Swimwear", Apparel}, {"Swimsuits", Apparel},
	{"Lingerie", Apparel}, {"Innerwear", Apparel}, {"Loungewear", Apparel},
	{"Clothing and Accessories", Apparel}, {"Swimwear & Kaftan", Dress},
	// Names with a garment word that are not fashion, and unknown names.
	{"Photo Frames", Unknown}, {"Sleeping Bags", Unknown}, {"Bean Bag", Unknown},
	{"Punching Bag", Unknown}, {"Tea Bags", Unknown}, {"Gift Sets", Unknown}, {"Accessory Gift Set", Unknown},
	{"Shoe Rack", Unknown}, {"Watch Box", Unknown}, {"Wine Glasses", Unknown},
	{"", Unknown}, {"Something Else", Unknown}, {"Perfume", Unknown},
	{"Water Bottle", Unknown}, {"Laptop", Unknown}, {"Tank", Unknown},
}

func TestFromCategory(t *testing.T) {
	for _, tc := range categoryTests {
		if got := FromCategory(tc.category); got != tc.want {
			t.Errorf("FromCategory(%q) = %v, want %v", tc.category, got, tc.want)
		}
	}
	for c, want := range catalogCategories {
		if got := FromCategory(c); got != want {
			t.Errorf("FromCategory(%q) = %v, want %v (sample catalog category)", c, got, want)
		}
	}
}

// TestTableCovered checks that every label and word of the table has a
// row of its own in labelTests or categoryTests (or catalogCategories).
func TestTableCovered(t *testing.T) {
	labels := map[string]bool{}
	for _, tc := range labelTests {
		labels[strings.Join(words(tc.label), " ")] = true
	}
	cats := map[string]bool{}
	addCat := func(name string) {
		ws := words(name)
		if len(ws) == 0 {
			return
		}
		head := strings.Join(ws[:len(ws)-1], " ")
		for _, f := range forms(ws[len(ws)-1]) {
			cats[strings.TrimSpace(head+" "+f)] = true
		}
	}
	for _, tc := range categoryTests {
		addCat(tc.category)
	}
	for c := range catalogCategories {
		addCat(c)
	}
	for _, e := range table {
		for _, l := range e.labels {
			if !labels[strings.Join(words(l), " ")] {
				t.Errorf("label %q (%v) has no row in labelTests", l, e.class)
			}
		}
		for _, w := range e.words {
			if !cats[strings.Join(words(w), " ")] {
				t.Errorf("word %q (%v) has no row in categoryTests", w, e.class)
			}
		}
	}
}

// TestSampleCatalogs checks that every category of the sample catalogs is
// listed in catalogCategories (so that a new one gets a look) and maps to a
// known class, and that the class agrees with the coarse grouping the
// packshot catalog comes with.
func TestSampleCatalogs(t *testing.T) {
	dir := testenv.Samples(t)
	coarse := map[string][]Class{
		"top":             {Top, Outerwear},
		"bottom":          {Skirt, Trousers, Shorts},
		"dress":           {Dress},
		"footwear":        {Footwear},
		"bag":             {Bag},
		"eyewear":         {Eyewear},
		"jewellery_watch": {Jewellery},
		"accessory":       {Accessory, Headwear},
	}
	for _, f := range []struct{ path, column string }{
		{"catalog/products.csv", "category"},
		{"catalog_virgio/products.csv", "category"},
		{"catalog_virgio/catalog_full_969_products.csv", "product_type"},
	} {
		t.Run(f.path, func(t *testing.T) {
			rows := readCSV(t, filepath.Join(dir, f.path))
			seen := map[string]bool{}
			for _, r := range rows {
				cat := r[f.column]
				c := FromCategory(cat)
				if !seen[cat] {
					seen[cat] = true
					if want, ok := catalogCategories[cat]; !ok {
						t.Errorf("category %q (%v) is not listed in catalogCategories", cat, c)
					} else if c != want {
						t.Errorf("FromCategory(%q) = %v, want %v", cat, c, want)
					}
					if !c.Known() {
						t.Errorf("category %q maps to no class", cat)
					}
				}
				if g, ok := r["coarse_category"]; ok {
					if allowed, ok := coarse[g]; !ok {
						t.Errorf("unexpected coarse_category %q", g)
					} else if !contains(allowed, c) {
						t.Errorf("product %s: category %q is %v, coarse_category %q", r["id"], cat, c, g)
					}
				}
			}
			if len(seen) == 0 {
				t.Errorf("no categories in %s", f.path)
			}
			t.Logf("%d products, %d categories", len(rows), len(seen))
		})
	}
}

func contains(cs []Class, c Class) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// readCSV reads a CSV file with a header into maps, skipping the test when
// it is absent.
func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not available: %v", path, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		m := map[string]string{}
		for i, h := range head {
			if i < len(rec) {
				m[h] = rec[i]
			}
		}
		out = append(out, m)
	}
	return out
}

// readLines returns the non-empty, non-comment lines of a file of the
// vision package, skipping the test when it is absent.
func readLines(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "vision", name))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not available: %v", name, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDetectorVocabularies checks the class names of the detectors and
// classifiers vitrine ships: every COCO-80 and ImageNet-1k name that maps
// to a class has its row in labelTests (so nothing maps by accident), and
// every DeepFashion2 class, garment labeller label and garment prompt maps
// to a known class.
func TestDetectorVocabularies(t *testing.T) {
	want := map[string]Class{}
	for _, tc := range labelTests {
		want[strings.ToLower(tc.label)] = tc.want
	}
	t.Run("coco and imagenet", func(t *testing.T) {
		names := readLines(t, "labels/coco80.txt")
		for _, l := range readLines(t, "labels/imagenet1k.txt") {
			_, syn, _ := strings.Cut(l, " ") // "n03595614 jersey, T-shirt, tee shirt"
			first, _, _ := strings.Cut(syn, ",")
			names = append(names, strings.TrimSpace(first))
		}
		for _, n := range names {
			got := FromLabel(n)
			if n == "Cardigan" {
				// ImageNet's Cardigan Welsh corgi shares its name with the
				// cardigan (a sweater) but for the case: labels are matched
				// without case, so the corgi is outerwear.
				continue
			}
			if w, ok := want[strings.ToLower(n)]; ok {
				if got != w {
					t.Errorf("FromLabel(%q) = %v, want %v", n, got, w)
				}
			} else if got != Unknown {
				t.Errorf("FromLabel(%q) = %v: add a labelTests row if that is right", n, got)
			}
		}
	})
	t.Run("deepfashion2", func(t *testing.T) {
		for _, n := range readLines(t, "labels/deepfashion2.txt") {
			if c := FromLabel(n); !c.Garment() {
				t.Errorf("FromLabel(%q) = %v, want a garment class", n, c)
			}
		}
	})
	t.Run("garment labeller", func(t *testing.T) {
		for _, l := range readLines(t, "labels/imagenet_apparel.tsv") {
			f := strings.Split(l, "\t")
			if len(f) < 2 {
				t.Fatalf("bad apparel table line %q", l)
			}
			if c := FromLabel(f[1]); !c.Known() {
				t.Errorf("garment label %q (ImageNet class %s) maps to no class", f[1], f[0])
			}
		}
	})
	t.Run("garment prompts", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join("..", "vision", "manifest.default.json"))
		if errors.Is(err, fs.ErrNotExist) {
			t.Skipf("default manifest not available: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Garments struct {
				Prompts map[string]string `json:"prompts"`
			} `json:"garments"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for label := range m.Garments.Prompts {
			if c := FromLabel(label); !c.Known() {
				t.Errorf("garment prompt label %q maps to no class", label)
			}
		}
	})
}

func TestCompatible(t *testing.T) {
	tests := []struct {
		a, b Class
		want float64
	}{
		{Top, Top, 1}, {CoOrd, CoOrd, 1}, {Footwear, Footwear, 1},
		{Top, Outerwear, 0.75},
		{CoOrd, Top, 0.75}, {CoOrd, Outerwear, 0.75}, {CoOrd, Skirt, 0.75},
		{CoOrd, Trousers, 0.75}, {CoOrd, Shorts, 0.75}, {CoOrd, Bottom, 0.75},
		{Dress, CoOrd, 0.5},
		{Apparel, Top, 0.75}, {Apparel, Dress, 0.75}, {Apparel, CoOrd, 0.75},
		{Apparel, Bottom, 0.75}, {Shorts, Apparel, 0.75},
		{Bottom, Skirt, 0.75}, {Bottom, Trousers, 0.75}, {Bottom, Shorts, 0.75},
		{Bottom, Dress, 0.5}, {Dress, Skirt, 0.5}, {Skirt, Shorts, 0.5}, {Trousers, Shorts, 0.5},
		{Footwear, Dress, 0}, {Bag, Top, 0}, {Top, Dress, 0}, {Top, Trousers, 0},
		{Skirt, Trousers, 0}, {Apparel, Footwear, 0}, {Apparel, Bag, 0},
		{Jewellery, Accessory, 0}, {Headwear, Accessory, 0}, {Eyewear, Jewellery, 0},
		{Unknown, Dress, 0.5}, {Bag, Unknown, 0.5}, {Unknown, Unknown, 0.5},
		{Class(200), Top, 0.5},
	}
	for _, tc := range tests {
		if got := Compatible(tc.a, tc.b); got != tc.want {
			t.Errorf("Compatible(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	all := append([]Class{Unknown}, Classes()...)
	for _, a := range all {
		for _, b := range all {
			s := Compatible(a, b)
			if s < 0 || s > 1 {
				t.Errorf("Compatible(%v, %v) = %v, out of 0..1", a, b, s)
			}
			if r := Compatible(b, a); r != s {
				t.Errorf("Compatible(%v, %v) = %v but Compatible(%v, %v) = %v", a, b, s, b, a, r)
			}
			if a == b && a != Unknown && s != 1 {
				t.Errorf("Compatible(%v, %v) = %v, want 1", a, a, s)
			}
		}
	}
	for pair := range partial {
		if pair[0] == pair[1] || !pair[0].Known() || !pair[1].Known() {
			t.Errorf("partial pair %v~%v", pair[0], pair[1])
		}
		if _, dup := partial[[2]Class{pair[1], pair[0]}]; dup {
			t.Errorf("partial pair %v~%v listed both ways", pair[0], pair[1])
		}
	}
}

func TestNames(t *testing.T) {
	seen := map[string]Class{}
	for _, c := range Classes() {
		n := c.String()
		if n == "" || n == "unknown" {
			t.Errorf("class %d has name %q", c, n)
		}
		if d, dup := seen[n]; dup {
			t.Errorf("classes %d and %d are both %q", d, c, n)
		}
		seen[n] = c
		if Parse(n) != c || Parse(" "+strings.ToUpper(n)) != c {
			t.Errorf("Parse(%q) = %v", n, Parse(n))
		}
		if !c.Known() {
			t.Errorf("%v not Known", c)
		}
	}
	if len(seen) != 15 {
		t.Errorf("%d classes", len(seen))
	}
	if Unknown.String() != "unknown" || Class(200).String() != "unknown" || Parse("nope") != Unknown {
		t.Error("unknown class names")
	}
	if Unknown.Known() || Class(200).Known() || Unknown.Garment() || Footwear.Garment() || !Apparel.Garment() || !CoOrd.Garment() {
		t.Error("Known/Garment")
	}
}
