package catalog

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// fuzzParse drains a parser over arbitrary input: every row is either an
// error or a product with an id, and the parser always reaches the end.
func fuzzParse(t *testing.T, data string, f Format) {
	p, err := NewParser(strings.NewReader(data), f)
	if err != nil {
		return
	}
	for i := 0; ; i++ {
		if i > len(data)+1 {
			t.Fatalf("parser made %d rows out of %d bytes", i, len(data))
		}
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			return
		}
		if row.Err == nil && strings.TrimSpace(row.Product.ID) == "" {
			t.Fatalf("row %d accepted without an id: %+v", row.Line, row.Product)
		}
	}
}

// FuzzParseCSV: catalog CSV import never panics or loops.
func FuzzParseCSV(f *testing.F) {
	f.Add("id,title,image_url,price,availability\np1,Red dress,https://x/a.jpg,19.99,in_stock\n")
	f.Add("\ufeffsku;name\np1;x\n")
	f.Add("id,attributes\np1,\"{\"\"size\"\":\"\"M\"\"}\"\np1,dup\n")
	f.Add("id,price,rating\n\"unterminated,1\n")
	f.Add("title\nno id column\n")
	f.Fuzz(func(t *testing.T, data string) { fuzzParse(t, data, CSV) })
}

// FuzzParseJSONL: catalog JSONL import never panics or loops.
func FuzzParseJSONL(f *testing.F) {
	f.Add(`{"id":"p1","title":"Red dress","images":["https://x/a.jpg"],"price":19.99}` + "\n")
	f.Add(`{"id":"p2","attributes":{"size":"M","n":3}}` + "\n\n{bad json}\n")
	f.Add(`{"id":1e999}` + "\n" + `[1,2]` + "\n" + `"x"` + "\n")
	f.Add(`{"id":"p3","price":"-1","rating":"NaN","availability":"maybe"}`)
	f.Fuzz(func(t *testing.T, data string) { fuzzParse(t, data, JSONL) })
}
