package catalog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func parseAll(t *testing.T, in string, f Format) ([]Row, error) {
	t.Helper()
	p, err := NewParser(strings.NewReader(in), f)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for {
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
}

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		fileErr error
		// want maps line -> "" for a good row or a substring of the row error.
		want map[int]string
	}{
		{
			name: "aliases and attributes",
			in:   "sku,title,colour,price,currency,availability,rating,rating_count,product_url,images,fabric\nA1,Red Tee,Red,12.5,eur,out of stock,4.5,10,https://shop/a1,a.jpg|b.jpg,cotton\n",
			want: map[int]string{2: ""},
		},
		{name: "missing id column", in: "name,price\nx,1\n", fileErr: ErrNoIDColumn},
		{name: "empty file", in: "", fileErr: errors.New("empty CSV")},
		{
			name: "bad values are row errors",
			in: "id,name,price,availability,rating,rating_count\n" +
				"1,ok,10,,,\n" +
				"2,bad price,ten,,,\n" +
				"3,neg price,-1,,,\n" +
				"4,bad avail,1,maybe,,\n" +
				"5,bad rating,1,,x,\n" +
				"6,bad count,1,,,1.5\n" +
				",no id,1,,,\n" +
				"1,dup,1,,,\n" +
				"7,short row\n" +
				"8,\"broken quote,1,,,\n",
			want: map[int]string{2: "", 3: "bad price", 4: "bad price", 5: "bad availability", 6: "bad rating", 7: "bad rating count", 8: "empty product id", 9: "duplicate id", 10: "fields", 11: "malformed CSV"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := parseAll(t, tc.in, CSV)
			if tc.fileErr != nil {
				if err == nil || (!errors.Is(err, tc.fileErr) && !strings.Contains(err.Error(), tc.fileErr.Error())) {
					t.Fatalf("error = %v, want %v", err, tc.fileErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, rows, tc.want)
		})
	}
}

func checkRows(t *testing.T, rows []Row, want map[int]string) {
	t.Helper()
	got := map[int]string{}
	for _, r := range rows {
		got[r.Line] = ""
		if r.Err != nil {
			got[r.Line] = r.Err.Error()
		}
	}
	for line, w := range want {
		g, ok := got[line]
		switch {
		case !ok:
			t.Errorf("line %d: no row", line)
		case w == "" && g != "":
			t.Errorf("line %d: unexpected error %q", line, g)
		case w != "" && !strings.Contains(g, w):
			t.Errorf("line %d: error %q, want it to contain %q", line, g, w)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("got %d rows, want %d: %v", len(rows), len(want), got)
	}
}

func TestParseCSVFields(t *testing.T) {
	rows, err := parseAll(t, "sku,title,colour,price,currency,availability,rating,rating_count,product_url,images,fabric\nA1,Red Tee,Red,12.5,eur,out of stock,4.5,10,https://shop/a1,a.jpg| b.jpg ,cotton\n", CSV)
	if err != nil || len(rows) != 1 || rows[0].Err != nil {
		t.Fatalf("rows=%v err=%v", rows, err)
	}
	p := rows[0].Product
	if p.ID != "A1" || p.Title != "Red Tee" || p.Colour != "Red" || *p.Price != 12.5 || p.Currency != "EUR" ||
		p.Availability != OutOfStock || *p.Rating != 4.5 || *p.RatingCount != 10 || p.URL != "https://shop/a1" ||
		strings.Join(p.Images, ",") != "a.jpg,b.jpg" || p.Attributes["fabric"] != "cotton" {
		t.Errorf("product = %+v", p)
	}
}

func TestParseJSONL(t *testing.T) {
	in := `{"id":"a","title":"A","price":9.99,"currency":"usd","images":["x.jpg","y.jpg"],"attributes":{"fabric":"linen","size":2},"availability":false}
{"product_id":42,"name":"numeric id","price_inr":1675,"rating_count":3}

{"id":"b","price":"cheap"}
{"id":"c",
{"title":"no id"}
{"id":"a","title":"again"}
{"id":"d","images":[1,2]}
not json at all
`
	rows, err := parseAll(t, in, JSONL)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, map[int]string{1: "", 2: "", 4: "bad price", 5: "malformed JSON", 6: "empty product id", 7: "duplicate id", 8: "images must be strings", 9: "malformed JSON"})
	a, n := rows[0].Product, rows[1].Product
	if a.Availability != OutOfStock || a.Currency != "USD" || len(a.Images) != 2 || a.Attributes["size"] != "2" || a.Attributes["fabric"] != "linen" {
		t.Errorf("row 1 = %+v", a)
	}
	if n.ID != "42" || n.Currency != "INR" || *n.Price != 1675 || *n.RatingCount != 3 {
		t.Errorf("row 2 = %+v", n)
	}
}

func TestParseJSONLLongLine(t *testing.T) {
	in := `{"id":"a"}` + "\n" + `{"id":"b","x":"` + strings.Repeat("z", MaxLineBytes) + `"}` + "\n" + `{"id":"c"}`
	rows, err := parseAll(t, in, JSONL)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, map[int]string{1: "", 2: "longer than", 3: ""})
}

// TestParseSampleCatalogs reads both shared sample catalogs as they are.
func TestParseSampleCatalogs(t *testing.T) {
	samples := testenv.Samples(t)
	tests := []struct {
		file     string
		rows     int
		currency string
		attr     string
	}{
		{file: "catalog/products.csv", rows: 420, attr: "coarse_category"},
		{file: "catalog_virgio/products.csv", rows: 237, currency: "INR", attr: "description"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(samples, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			rows, err := parseAll(t, string(b), CSV)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tc.rows {
				t.Fatalf("rows = %d, want %d", len(rows), tc.rows)
			}
			for _, r := range rows {
				p := r.Product
				if r.Err != nil || p.ID == "" || p.Title == "" || len(p.Images) != 1 || p.Category == "" || p.Attributes[tc.attr] == "" {
					t.Fatalf("line %d: %+v err=%v", r.Line, p, r.Err)
				}
				if tc.currency != "" && (p.Currency != tc.currency || p.Price == nil) {
					t.Fatalf("line %d: price %v %q", r.Line, p.Price, p.Currency)
				}
			}
		})
	}
}

// TestParseLargeCSVStreams feeds 200k generated rows through a pipe and
// checks that the heap stays far below the input size.
func TestParseLargeCSVStreams(t *testing.T) {
	const n = 200_000
	pr, pw := io.Pipe()
	var written int64
	go func() {
		w := &countWriter{w: pw}
		fmt.Fprintln(w, "id,name,category,price,image,description")
		desc := strings.Repeat("lorem ipsum ", 40)
		for i := 0; i < n; i++ {
			fmt.Fprintf(w, "p%07d,Product %d,Tops,%d.99,images/%d.jpg,%s\n", i, i, i%500, i, desc)
		}
		written = w.n
		pw.Close()
	}()
	p, err := NewParser(pr, CSV)
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	var peak uint64
	rows := 0
	for {
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.Err != nil {
			t.Fatalf("line %d: %v", r.Line, r.Err)
		}
		rows++
		if rows%20_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if rows != n {
		t.Fatalf("rows = %d, want %d", rows, n)
	}
	// The input is ~110 MB; the parser keeps one record plus the set of ids
	// seen (for duplicate detection), a few MB at this size.
	if limit := uint64(written / 4); peak > limit {
		t.Errorf("peak heap %d bytes for %d bytes of input: not streaming", peak, written)
	}
	t.Logf("input %d bytes, peak heap %d bytes", written, peak)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
