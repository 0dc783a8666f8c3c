package catalog

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the feed parsers' golden files in testdata/feeds")

// feedRow is a parsed row as the golden files hold it.
type feedRow struct {
	Line    int      `json:"line"`
	Err     string   `json:"error,omitempty"`
	Product *Product `json:"product,omitempty"`
}

// parseFeedFile parses a testdata feed the way an import does: format
// from the extension, then from the content.
func parseFeedFile(t *testing.T, path string) (Format, []feedRow) {
	t.Helper()
	f, err := FormatOf(path)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	p, err := NewParser(fh, f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var rows []feedRow
	for i := 0; i < 10000; i++ {
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			return p.Format(), rows
		}
		if err != nil {
			t.Fatalf("%s: file-level error after %d rows: %v", path, len(rows), err)
		}
		fr := feedRow{Line: r.Line}
		if r.Err != nil {
			fr.Err = r.Err.Error()
			fr.Product = &Product{ID: r.Product.ID}
		} else {
			p := r.Product
			fr.Product = &p
		}
		rows = append(rows, fr)
	}
	t.Fatal("parser did not end")
	return "", nil
}

func TestFeedFormats(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		// want maps product id -> check of the parsed product ("" = it
		// must have failed with a reason containing fail).
		want map[string]func(t *testing.T, p *Product)
		fail map[string]string
	}{
		{
			file: "merchant_rss.xml", format: MerchantXML,
			want: map[string]func(*testing.T, *Product){
				"DR-100": func(t *testing.T, p *Product) {
					wantAttr(t, p, AttrVariantIDs, "DR-100-S,DR-100-M,DR-100-M-OLIVE")
					wantAttr(t, p, AttrSizes, "S, M")
					wantEq(t, "colour", p.Colour, "Sand, Olive")
					wantEq(t, "images", strings.Join(p.Images, " "), "https://cdn.shop.example/dr-100-front.jpg https://cdn.shop.example/dr-100-back.jpg https://cdn.shop.example/dr-100-detail.jpg https://cdn.shop.example/dr-100-olive.jpg")
					wantEq(t, "price", fmt.Sprintf("%v %s", *p.Price, p.Currency), "69 EUR") // the sale price of S
					wantEq(t, "availability", p.Availability, InStock)                       // S is out, M is in
					wantEq(t, "category", p.Category, "Women > Dresses")
					wantEq(t, "brand", p.Brand, "Atelier Nord")
					wantAttr(t, p, AttrDescription, "A relaxed wrap dress in washed linen.")
					wantEq(t, "url", p.URL, "https://shop.example/products/linen-wrap-dress?variant=S")
				},
				"BAG-7": func(t *testing.T, p *Product) {
					wantEq(t, "title", p.Title, "Leather tote") // RSS <title>, no g:title
					wantEq(t, "availability", p.Availability, PreOrder)
					wantEq(t, "price", fmt.Sprintf("%v %s", *p.Price, p.Currency), "149.5 EUR")
					wantEq(t, "category", p.Category, "Apparel & Accessories > Handbags, Wallets & Cases > Handbags")
					wantAttr(t, p, AttrVariantIDs, "")
				},
			},
			fail: map[string]string{"SCARF-2": `bad price "twenty EUR"`},
		},
		{
			file: "merchant_atom.xml", format: MerchantXML,
			want: map[string]func(*testing.T, *Product){
				"TEE-1": func(t *testing.T, p *Product) {
					wantEq(t, "title", p.Title, "Organic cotton tee")
					wantEq(t, "url", p.URL, "https://shop.example/products/organic-tee")
					wantEq(t, "price", fmt.Sprintf("%v %s", *p.Price, p.Currency), "22 USD")
					wantEq(t, "colour", p.Colour, "White, Black")
					wantAttr(t, p, AttrVariantIDs, "TEE-1-WHITE,TEE-1-BLACK")
					wantAttr(t, p, AttrDescription, "Heavyweight organic cotton.")
				},
				"CAP-3": func(t *testing.T, p *Product) {
					wantEq(t, "availability", p.Availability, OutOfStock)
					wantEq(t, "title", p.Title, "Canvas baseball cap") // g:title over Atom's <title>; Atom's <id> is not the product's
				},
			},
		},
		{
			file: "merchant.tsv", format: MerchantTSV,
			want: map[string]func(*testing.T, *Product){
				"SH-9": func(t *testing.T, p *Product) {
					wantAttr(t, p, AttrVariantIDs, "SH-9-40,SH-9-41")
					wantAttr(t, p, AttrSizes, "40, 41")
					wantEq(t, "price", fmt.Sprintf("%v %s", *p.Price, p.Currency), "150 GBP")
					wantEq(t, "images", strings.Join(p.Images, " "), "https://cdn.shop.example/sh-9.jpg https://cdn.shop.example/sh-9-side.jpg https://cdn.shop.example/sh-9-sole.jpg")
					wantEq(t, "category", p.Category, "Shoes > Loafers")
				},
				"BELT-4": func(t *testing.T, p *Product) {
					wantEq(t, "availability", p.Availability, OutOfStock)
					wantEq(t, "category", p.Category, "Apparel & Accessories > Clothing Accessories > Belts")
				},
			},
			fail: map[string]string{"BELT-5": `bad availability "maybe"`},
		},
		{
			file: "shopify_products.csv", format: ShopifyCSV,
			want: map[string]func(*testing.T, *Product){
				"linen-shirt": func(t *testing.T, p *Product) {
					wantEq(t, "title", p.Title, "Linen shirt")
					wantEq(t, "brand", p.Brand, "Harbour")
					wantEq(t, "category", p.Category, "Shirts")
					wantAttr(t, p, AttrVariantIDs, "LS-WHT-S,LS-WHT-M,LS-BLU-S,LS-BLU-M")
					wantAttr(t, p, AttrSizes, "S, M")
					wantAttr(t, p, "tags", "linen, summer")
					wantAttr(t, p, AttrDescription, "Breathable linen shirt, relaxed fit.")
					wantEq(t, "colour", p.Colour, "White, Blue")
					wantEq(t, "price", fmt.Sprint(*p.Price), "55")
					wantEq(t, "availability", p.Availability, InStock)
					// Positioned images first, then the variant-only image, each once.
					wantEq(t, "images", strings.Join(p.Images, " "), "https://cdn.shop.example/linen-shirt-1.jpg https://cdn.shop.example/linen-shirt-2.jpg https://cdn.shop.example/linen-shirt-3.jpg https://cdn.shop.example/linen-shirt-blue.jpg")
				},
				"canvas-sneaker": func(t *testing.T, p *Product) {
					wantEq(t, "availability", p.Availability, OutOfStock) // 0 in stock, policy deny
					wantEq(t, "images", strings.Join(p.Images, " "), "https://cdn.shop.example/canvas-sneaker-1.jpg https://cdn.shop.example/canvas-sneaker-2.jpg")
					wantAttr(t, p, AttrSizes, "")
					wantAttr(t, p, AttrVariantIDs, "CS-1")
				},
				"straw-hat": func(t *testing.T, p *Product) {
					wantEq(t, "availability", p.Availability, OutOfStock) // a draft is not for sale
					wantAttr(t, p, "status", "draft")
				},
				"silk-scarf": func(t *testing.T, p *Product) {
					wantAttr(t, p, AttrVariantIDs, "SC-GRN")
					wantEq(t, "price", fmt.Sprint(*p.Price), "39")
				},
			},
			fail: map[string]string{"silk-scarf": `variant SC-RED: bad price "abc"`},
		},
		{
			file: "products.jsonld", format: JSONLD,
			want: map[string]func(*testing.T, *Product){
				"KNIT-5": func(t *testing.T, p *Product) {
					wantEq(t, "title", p.Title, "Merino crew-neck jumper")
					wantEq(t, "brand", p.Brand, "Fjell")
					wantAttr(t, p, AttrVariantIDs, "KNIT-5-NAVY-M,KNIT-5-GREY-L")
					wantEq(t, "colour", p.Colour, "Navy, Grey")
					wantEq(t, "price", fmt.Sprintf("%v %s", *p.Price, p.Currency), "99.5 EUR")
					wantEq(t, "availability", p.Availability, InStock)
					wantEq(t, "images", strings.Join(p.Images, " "), "https://cdn.shop.example/knit-5-navy.jpg https://cdn.shop.example/knit-5-grey.jpg")
				},
				"BOOT-2": func(t *testing.T, p *Product) {
					wantEq(t, "rating", fmt.Sprintf("%v %d", *p.Rating, *p.RatingCount), "4.6 212")
					wantEq(t, "price", fmt.Sprintf("%v %s", *p.Price, p.Currency), "160 EUR")
					wantEq(t, "availability", p.Availability, InStock)
					wantEq(t, "images", fmt.Sprint(len(p.Images)), "2")
				},
			},
			fail: map[string]string{"": "without sku"},
		},
		{
			file: "product.json", format: JSONLD,
			want: map[string]func(*testing.T, *Product){
				"BL-8": func(t *testing.T, p *Product) {
					wantEq(t, "brand", p.Brand, "Maison Lune")
					wantEq(t, "images", strings.Join(p.Images, " "), "https://cdn.shop.example/bl-8.jpg")
					wantEq(t, "price", fmt.Sprint(*p.Price), "195")
					wantEq(t, "availability", p.Availability, PreOrder)
					wantAttr(t, p, AttrDescription, "Sandwashed silk blouse.")
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "feeds", tc.file)
			format, rows := parseFeedFile(t, path)
			if format != tc.format {
				t.Errorf("format %q, want %q", format, tc.format)
			}
			good, failed := map[string]*Product{}, map[string]string{}
			lines := map[int]bool{}
			for _, r := range rows {
				if lines[r.Line] {
					t.Errorf("line %d has two outcomes", r.Line)
				}
				lines[r.Line] = true
				if r.Err != "" {
					failed[r.Product.ID] = r.Err
				} else {
					good[r.Product.ID] = r.Product
				}
			}
			for id, check := range tc.want {
				p, ok := good[id]
				if !ok {
					t.Errorf("no product %q (got %v, failed %v)", id, keys(good), failed)
					continue
				}
				t.Run(id, func(t *testing.T) { check(t, p) })
			}
			for id, reason := range tc.fail {
				if !strings.Contains(failed[id], reason) {
					t.Errorf("row of %q: error %q, want %q", id, failed[id], reason)
				}
			}
			if len(failed) != len(tc.fail) {
				t.Errorf("failed rows %v, want %v", failed, tc.fail)
			}
			checkGolden(t, path+".golden.json", rows)
		})
	}
}

// checkGolden compares rows with the golden file (rewritten by -update).
func checkGolden(t *testing.T, path string, rows []feedRow) {
	t.Helper()
	got, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestFeedFormats -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("parsed rows differ from %s (run go test -run TestFeedFormats -update and review the diff):\n%s", path, got)
	}
}

func wantEq(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func wantAttr(t *testing.T, p *Product, k, want string) {
	t.Helper()
	if got := p.Attributes[k]; got != want {
		t.Errorf("attribute %s = %q, want %q", k, got, want)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
