package catalog

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzFeed drains a feed parser over arbitrary input: it always ends,
// every accepted row has an id, and no two rows share a row number (the
// batch records one outcome per number).
func fuzzFeed(t *testing.T, data string, f Format) {
	p, err := NewParser(strings.NewReader(data), f)
	if err != nil {
		return
	}
	lines := map[int]bool{}
	for i := 0; ; i++ {
		if i > len(data)+1 {
			t.Fatalf("parser made %d rows out of %d bytes", i, len(data))
		}
		row, err := p.Next()
		if errors.Is(err, io.EOF) || err != nil {
			return
		}
		if row.Err == nil && strings.TrimSpace(row.Product.ID) == "" {
			t.Fatalf("row %d accepted without an id: %+v", row.Line, row.Product)
		}
		if lines[row.Line] {
			t.Fatalf("row number %d given twice", row.Line)
		}
		lines[row.Line] = true
	}
}

func addSeedFile(f *testing.F, name string) {
	b, err := os.ReadFile(filepath.Join("testdata", "feeds", name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b))
}

// FuzzParseMerchantXML: the Merchant Center XML parser never panics,
// loops or numbers two rows alike, whatever the bytes.
func FuzzParseMerchantXML(f *testing.F) {
	addSeedFile(f, "merchant_rss.xml")
	addSeedFile(f, "merchant_atom.xml")
	f.Add(rssHead + rssItem("A", "") + "<item><g:id>B</g:id><<</item>" + rssItem("C", "<g:item_group_id>G</g:item_group_id>"))
	f.Add(`<?xml version="1.0" encoding="windows-1252"?><rss xmlns:g="x"><item><g:id>` + "\x93q\x94" + `</g:id></item></rss>`)
	f.Add(`<feed xmlns:g="http://base.google.com/ns/1.0"><entry><g:id>a</g:id><link href="u"/></entry><entry>`)
	f.Fuzz(func(t *testing.T, data string) { fuzzFeed(t, data, MerchantXML) })
}

// FuzzParseShopifyCSV: the Shopify export parser never panics, loops or
// numbers two rows alike.
func FuzzParseShopifyCSV(f *testing.F) {
	addSeedFile(f, "shopify_products.csv")
	f.Add("Handle,Title,Variant SKU,Variant Price,Image Src,Image Position\na,A,A1,1,u,2\na,,A2,x,v,\nb,\"B\nline\",,,,\n")
	f.Add("Handle,Title,Option1 Name,Option1 Value,Variant Price\na,A,Size,S,1\na,,,M,2\n,,,\n")
	f.Fuzz(func(t *testing.T, data string) { fuzzFeed(t, data, ShopifyCSV) })
}

// FuzzParseMerchantTSV: the Merchant Center text feed parser.
func FuzzParseMerchantTSV(f *testing.F) {
	addSeedFile(f, "merchant.tsv")
	f.Fuzz(func(t *testing.T, data string) { fuzzFeed(t, data, MerchantTSV) })
}

// FuzzParseJSONLD: the schema.org JSON-LD parser.
func FuzzParseJSONLD(f *testing.F) {
	addSeedFile(f, "products.jsonld")
	addSeedFile(f, "product.json")
	f.Fuzz(func(t *testing.T, data string) { fuzzFeed(t, data, JSONLD) })
}
