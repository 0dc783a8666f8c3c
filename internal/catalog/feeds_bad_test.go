package catalog

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

const rssHead = `<?xml version="1.0"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>
`

func rssItem(id, extra string) string {
	return fmt.Sprintf("<item><g:id>%s</g:id><g:title>T %s</g:title><g:price>10.00 EUR</g:price>%s</item>\n", id, id, extra)
}

// feedOutcome summarises parsed rows: id -> "" or the error.
func feedOutcome(t *testing.T, data string, f Format) (map[string]string, error) {
	t.Helper()
	p, err := NewParser(strings.NewReader(data), f)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	lines := map[int]bool{}
	for i := 0; ; i++ {
		if i > len(data)+1 {
			t.Fatal("parser does not end")
		}
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if lines[r.Line] {
			t.Errorf("line %d has two outcomes", r.Line)
		}
		lines[r.Line] = true
		key := r.Product.ID
		if _, dup := out[key]; dup {
			key += fmt.Sprintf("@%d", r.Line)
		}
		if r.Err != nil {
			out[key] = r.Err.Error()
		} else {
			out[key] = ""
		}
	}
}

func TestFeedBadInput(t *testing.T) {
	latin1 := rssItem("L1", "") + "<item><g:id>L2</g:id><g:title>Caf\xe9 cr\xe8me</g:title></item>\n"
	tests := []struct {
		name   string
		format Format
		data   string
		// want: id -> "" (good) or a substring of its error.
		want    map[string]string
		fileErr string
	}{
		{
			name: "broken item in the middle: the rest still imports", format: MerchantXML,
			data: rssHead + rssItem("A", "") + "<item><g:id>B</g:id><g:title>unclosed</item>\n" + rssItem("C", "") + rssItem("D", "") + "</channel></rss>",
			want: map[string]string{"A": "", "": "malformed XML", "C": "", "D": ""},
		},
		{
			name: "two broken items", format: MerchantXML,
			data: rssHead + "<item><g:id>A</g:id><<</item>\n" + rssItem("B", "") + "<item><g:id>C</g:id></wrong>\n" + rssItem("D", "") + "</channel></rss>",
			want: map[string]string{"": "malformed XML", "@3": "malformed XML", "B": "", "D": ""},
		},
		{
			name: "truncated file", format: MerchantXML,
			data: rssHead + rssItem("A", "") + rssItem("B", "") + "<item><g:id>C</g:id><g:title>cut he",
			want: map[string]string{"A": "", "B": "", "": "malformed XML"},
		},
		{
			name: "latin-1 declared", format: MerchantXML,
			data: `<?xml version="1.0" encoding="ISO-8859-1"?>` + "\n" + strings.TrimPrefix(rssHead, `<?xml version="1.0"?>`+"\n") + latin1 + "</channel></rss>",
			want: map[string]string{"L1": "", "L2": ""},
		},
		{
			name: "latin-1 bytes undeclared", format: MerchantXML,
			data: rssHead + latin1 + rssItem("L3", "") + "</channel></rss>",
			want: map[string]string{"L1": "", "": "invalid UTF-8", "L3": ""},
		},
		{
			name: "duplicate ids and a split group", format: MerchantXML,
			data: rssHead + rssItem("A", "") + rssItem("A", "") +
				rssItem("G-1", "<g:item_group_id>G</g:item_group_id>") + rssItem("B", "") +
				rssItem("G-2", "<g:item_group_id>G</g:item_group_id>") + "</channel></rss>",
			want: map[string]string{"A": "", "A@2": `duplicate id "A"`, "G": "", "B": "", "G@5": `duplicate id "G"`},
		},
		{
			name: "an item over the size cap", format: MerchantXML,
			data: rssHead + rssItem("A", "") + rssItem("BIG", "<g:description>"+strings.Repeat("x", maxItemBytes+1)+"</g:description>") + rssItem("C", "") + "</channel></rss>",
			want: map[string]string{"A": "", "BIG": "item larger than", "C": ""},
		},
		{
			name: "item without an id", format: MerchantXML,
			data: rssHead + "<item><g:title>no id</g:title></item>" + rssItem("A", "") + "</channel></rss>",
			want: map[string]string{"": "without g:id", "A": ""},
		},
		{name: "not a feed", format: MerchantXML, data: `<?xml version="1.0"?><html><body/></html>`, fileErr: "not a Merchant Center feed"},
		{name: "feed without items", format: MerchantXML, data: rssHead + "</channel></rss>", want: map[string]string{}, fileErr: "no <item>"},
		{
			name: "text feed: bad bytes and short lines", format: MerchantTSV,
			data: "id\ttitle\tprice\nA\tok\t1.00 EUR\nB\tCaf\xe9\t1.00 EUR\nC\tshort\n\tno id\t2.00 EUR\n",
			want: map[string]string{"A": "", "B": "not UTF-8", "C": "has 2 fields", "": "empty id"},
		},
		{name: "text feed without id", format: MerchantTSV, data: "title\tprice\nx\t1\n", fileErr: "no id column"},
		{name: "text feed with commas", format: MerchantTSV, data: "id,title\nA,x\n", fileErr: "must be tab-separated"},
		{
			name: "shopify: bad quote, empty handle, split handle", format: CSV,
			data: "Handle,Title,Variant SKU,Variant Price\n" +
				"a,A,A1,10\n" +
				",orphan,X1,1\n" +
				"b,B,B1,5\n" +
				"a,A again,A2,10\n" +
				"c,\"C,C1,1\n",
			want: map[string]string{"a": "", "": "empty Handle", "b": "", "a@5": `duplicate id "a"`, "@6": "malformed CSV"},
		},
		{
			name: "json-ld: a broken element ends the array", format: JSONLD,
			data: `[{"@type":"Product","sku":"A","name":"a"},{"@type":"Product","sku":"B","offers":{"price":"-3"}},{"@type":"Product","sku":` + "\n" + `}]`,
			want: map[string]string{"A": "", "B": "bad price", "": "malformed JSON"},
		},
		{name: "json-ld: not JSON", format: JSONLD, data: "<html></html>", fileErr: "not a JSON-LD file"},
		{name: "json-ld: JSON without products", format: JSONLD, data: `[{"id":"p1","title":"vitrine's own JSON"}]`, fileErr: "no schema.org Product"},
		{name: "json-ld: empty array", format: JSONLD, data: `[]`, fileErr: "no schema.org Product"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := feedOutcome(t, tc.data, tc.format)
			if tc.fileErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.fileErr) {
					t.Fatalf("file error %v, want %q", err, tc.fileErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Errorf("rows %q, want %q", got, tc.want)
			}
			for id, want := range tc.want {
				g, ok := got[id]
				if !ok || (want == "") != (g == "") || !strings.Contains(g, want) {
					t.Errorf("%q: outcome %q, want %q (all: %q)", id, g, want, got)
				}
			}
		})
	}
}

// TestMerchantXMLRowNumbers checks that rows are numbered by item, also
// on one line and after a resync, and that a syntax error names its line.
func TestMerchantXMLRowNumbers(t *testing.T) {
	data := rssHead + rssItem("A", "") + "<item>\n<g:id>B</g:id>\n<<\n</item>\n" + "\n\n" +
		strings.TrimSuffix(rssItem("C", ""), "\n") + rssItem("D", "") + "</channel></rss>"
	p, err := NewParser(strings.NewReader(data), MerchantXML)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for i := 0; i < 10; i++ {
		r, err := p.Next()
		if err != nil {
			break
		}
		rows = append(rows, fmt.Sprintf("%s:%d", r.Product.ID, r.Line))
		if r.Err != nil && !strings.Contains(r.Err.Error(), "(line 6)") {
			t.Errorf("error %v does not name line 6", r.Err)
		}
	}
	if got := strings.Join(rows, " "); got != "A:1 :2 C:3 D:4" {
		t.Errorf("rows %q, want A:1 :2 C:3 D:4", got)
	}
}
