package catalog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Format is an import file format.
type Format string

// Supported import formats. FormatOf picks one from the file name's
// extension; NewParser then tells the formats that share an extension
// apart by the content (a Shopify export from vitrine's CSV by its
// header, a tab-separated feed from a comma-separated file).
const (
	CSV   Format = "csv"
	JSONL Format = "jsonl"
	// MerchantXML is a Google Merchant Center product feed: RSS 2.0 or
	// Atom with g: elements.
	MerchantXML Format = "merchant-xml"
	// MerchantTSV is Merchant Center's tab-separated text feed.
	MerchantTSV Format = "merchant-tsv"
	// ShopifyCSV is Shopify's product CSV export.
	ShopifyCSV Format = "shopify-csv"
	// JSONLD is schema.org Product JSON-LD: one, an array, or an @graph.
	JSONLD Format = "jsonld"
)

// ErrNoIDColumn is the file-level error of a CSV without a product id column.
var ErrNoIDColumn = errors.New("no product id column (id, product_id or sku)")

// MaxLineBytes caps one JSONL line; longer lines are a row error.
const MaxLineBytes = 1 << 20

// FormatOf picks the format from a file name's extension: .csv (vitrine's
// CSV or a Shopify export), .tsv and .txt (Merchant Center text feed),
// .xml (Merchant Center XML), .json and .jsonld (JSON-LD), .jsonl.
func FormatOf(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson":
		return JSONL, nil
	case ".tsv", ".txt":
		return MerchantTSV, nil
	case ".xml", ".rss", ".atom":
		return MerchantXML, nil
	case ".json", ".jsonld":
		return JSONLD, nil
	}
	return "", fmt.Errorf("catalog: %s: unknown import format (want .csv, .jsonl, .xml, .tsv, .txt, .json or .jsonld)", filepath.Base(name))
}

// Row is one parsed input record. When Err is set the row failed and Product
// holds whatever could be read (at least the id when there was one).
type Row struct {
	Line    int
	Product Product
	Err     error
}

// field is a product field a column or JSON key maps to.
type field int

const (
	fAttr field = iota
	fID
	fTitle
	fBrand
	fCategory
	fColour
	fPrice
	fCurrency
	fAvailability
	fRating
	fRatingCount
	fURL
	fImages
	fAttributes
)

var aliases = map[string]field{
	"id": fID, "product_id": fID, "productid": fID, "sku": fID, "merchant_product_id": fID,
	"name": fTitle, "title": fTitle, "product_name": fTitle, "productdisplayname": fTitle,
	"brand": fBrand, "vendor": fBrand,
	"category": fCategory, "product_type": fCategory,
	"colour": fColour, "color": fColour, "basecolour": fColour,
	"price": fPrice, "sale_price": fPrice,
	"currency":     fCurrency,
	"availability": fAvailability, "stock": fAvailability, "in_stock": fAvailability,
	"rating": fRating, "rating_count": fRatingCount, "ratings": fRatingCount, "review_count": fRatingCount,
	"url": fURL, "product_url": fURL, "link": fURL,
	"image": fImages, "images": fImages, "image_url": fImages, "image_urls": fImages, "image_path": fImages,
	"attributes": fAttributes,
}

// pricePerCurrency matches columns such as price_inr or price_eur.
var pricePerCurrency = regexp.MustCompile(`^price_([a-z]{3})$`)

// column describes what one input column or key feeds.
type column struct {
	f        field
	name     string // original header, used as the attribute key
	currency string // for price_xxx columns
}

func classify(name string) column {
	k := strings.ToLower(strings.TrimSpace(name))
	k = strings.ReplaceAll(k, " ", "_")
	if f, ok := aliases[k]; ok {
		return column{f: f, name: name}
	}
	if m := pricePerCurrency.FindStringSubmatch(k); m != nil {
		return column{f: fPrice, name: name, currency: strings.ToUpper(m[1])}
	}
	return column{f: fAttr, name: strings.TrimSpace(name)}
}

// set stores one textual value into p. Images may hold several values
// separated by '|'.
func (c column) set(p *Product, v string) error {
	var err error
	switch c.f {
	case fID:
		p.ID = v
	case fTitle:
		p.Title = v
	case fBrand:
		p.Brand = v
	case fCategory:
		p.Category = v
	case fColour:
		p.Colour = v
	case fPrice:
		if p.Price, err = parsePrice(v); err != nil {
			return err
		}
		if c.currency != "" && p.Currency == "" {
			p.Currency = c.currency
		}
	case fCurrency:
		p.Currency = v
	case fAvailability:
		p.Availability = v
	case fRating:
		p.Rating, err = parseRating(v)
	case fRatingCount:
		p.RatingCount, err = parseCount(v)
	case fURL:
		p.URL = v
	case fImages:
		for _, s := range strings.Split(v, "|") {
			if s = strings.TrimSpace(s); s != "" {
				p.Images = append(p.Images, s)
			}
		}
	case fAttributes:
		// A JSON object of extra attributes in a single column.
		if strings.TrimSpace(v) == "" {
			return nil
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return fmt.Errorf("bad attributes %q: want a JSON object", truncate(v, 40))
		}
		for k, x := range m {
			setAttr(p, k, stringify(x))
		}
	default:
		setAttr(p, c.name, v)
	}
	return err
}

func setAttr(p *Product, k, v string) {
	if strings.TrimSpace(v) == "" || k == "" {
		return
	}
	if p.Attributes == nil {
		p.Attributes = map[string]string{}
	}
	p.Attributes[k] = v
}

// Parser streams Rows out of a CSV or JSONL file, one at a time, never holding
// more than the current record. Duplicate ids within the file are row errors
// on every occurrence after the first.
type Parser struct {
	format Format
	// feed reads the shop feed formats, which group variants.
	feed  func() (Row, bool, error)
	csv   *csv.Reader
	cols  []column
	lines *bufio.Reader
	line  int
	seen  map[string]int
}

// NewParser returns a Parser reading r. For CSV it reads the header at once
// and fails with ErrNoIDColumn (a file-level error) when no column names the
// product id.
func NewParser(r io.Reader, f Format) (*Parser, error) {
	p := &Parser{format: f, seen: map[string]int{}}
	switch f {
	case CSV, ShopifyCSV, MerchantTSV:
		br := bufio.NewReaderSize(r, 64<<10)
		if isTabSeparated(br) {
			t, err := newMerchantTSV(br)
			if err != nil {
				return nil, err
			}
			p.format = MerchantTSV
			p.feed = (&grouper{read: t.read}).next
			return p, nil
		}
		if f == MerchantTSV {
			return nil, errors.New("catalog: a .tsv or .txt feed must be tab-separated")
		}
		cr := csv.NewReader(br)
		cr.ReuseRecord = true
		cr.FieldsPerRecord = -1 // checked per row, to report it as a row error
		header, err := cr.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("catalog: empty CSV file (no header)")
			}
			return nil, fmt.Errorf("catalog: read CSV header: %w", err)
		}
		if isShopifyHeader(header) {
			p.format = ShopifyCSV
			p.feed = newShopifyCSV(cr, slices.Clone(header)).next
			return p, nil
		}
		p.format = CSV // asked for a Shopify export, given vitrine's CSV
		hasID := false
		for i, h := range header {
			if i == 0 {
				h = strings.TrimPrefix(h, "\ufeff") // Excel's byte-order mark
			}
			c := classify(h)
			hasID = hasID || c.f == fID
			p.cols = append(p.cols, c)
		}
		if !hasID {
			return nil, ErrNoIDColumn
		}
		p.csv = cr
	case JSONL:
		p.lines = bufio.NewReaderSize(r, 64<<10)
	case MerchantXML:
		br := bufio.NewReaderSize(r, 64<<10)
		head, _ := br.Peek(16 << 10)
		if !bytes.Contains(head, []byte("<rss")) && !bytes.Contains(head, []byte("<feed")) {
			return nil, errors.New("catalog: not a Merchant Center feed (no <rss> or <feed> element at the start)")
		}
		p.feed = (&grouper{read: newMerchantXML(br).read}).next
	case JSONLD:
		j, err := newJSONLD(r)
		if err != nil {
			return nil, err
		}
		p.feed = (&grouper{read: j.read}).next
	default:
		return nil, fmt.Errorf("catalog: unknown import format %q", f)
	}
	return p, nil
}

// DetectFile returns the format of the catalog file at path, told from
// its extension and then its content (a Shopify export or a tab-separated
// feed in a .csv); a file-level error when it is not one the importer
// reads.
func DetectFile(path string) (Format, error) {
	f, err := FormatOf(path)
	if err != nil {
		return "", err
	}
	fh, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("catalog: %w", err)
	}
	defer fh.Close()
	p, err := NewParser(fh, f)
	if err != nil {
		return "", err
	}
	return p.Format(), nil
}

// Format is the format of the file, as told from its content.
func (p *Parser) Format() Format { return p.format }

// isTabSeparated reports whether the first line of br (left unread) holds
// tabs and no commas: a Merchant Center text feed.
func isTabSeparated(br *bufio.Reader) bool {
	head, _ := br.Peek(4096)
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	return bytes.IndexByte(head, '\t') >= 0 && bytes.IndexByte(head, ',') < 0
}

// Next returns the next row, or io.EOF after the last one. Any other error
// is a file-level read error; row problems are reported in Row.Err.
func (p *Parser) Next() (Row, error) {
	for {
		var row Row
		var skip bool
		var err error
		switch {
		case p.feed != nil:
			row, skip, err = p.feed()
		case p.format == CSV:
			row, skip, err = p.nextCSV()
		default:
			row, skip, err = p.nextJSONL()
		}
		if err != nil {
			return Row{}, err
		}
		if skip {
			continue
		}
		if row.Err == nil {
			row.Err = row.Product.Normalize()
		}
		if id := strings.TrimSpace(row.Product.ID); id != "" {
			if first, dup := p.seen[id]; dup {
				if row.Err == nil {
					row.Err = fmt.Errorf("duplicate id %q (first on line %d)", id, first)
				}
			} else {
				// Clone: the id is a substring of the whole CSV record, which
				// must not stay reachable.
				p.seen[strings.Clone(id)] = row.Line
			}
		}
		return row, nil
	}
}

func (p *Parser) nextCSV() (Row, bool, error) {
	rec, err := p.csv.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Row{}, false, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return Row{Line: pe.StartLine, Err: fmt.Errorf("malformed CSV: %v", pe.Err)}, false, nil
		}
		return Row{}, false, fmt.Errorf("catalog: read CSV: %w", err)
	}
	if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
		return Row{}, true, nil // blank line
	}
	// FieldPos only after a successful Read: it panics when the last Read
	// failed (an unterminated quote) and returned no record.
	line, _ := p.csv.FieldPos(0)
	row := Row{Line: line}
	for i, v := range rec {
		if i >= len(p.cols) {
			break
		}
		if err := p.cols[i].set(&row.Product, v); err != nil && row.Err == nil {
			row.Err = err
		}
	}
	if len(rec) != len(p.cols) && row.Err == nil {
		row.Err = fmt.Errorf("row has %d fields, header has %d", len(rec), len(p.cols))
	}
	return row, false, nil
}

func (p *Parser) nextJSONL() (Row, bool, error) {
	line, tooLong, err := readLine(p.lines, MaxLineBytes)
	if err != nil && !(errors.Is(err, io.EOF) && (len(line) > 0 || tooLong)) {
		if errors.Is(err, io.EOF) {
			return Row{}, false, io.EOF
		}
		return Row{}, false, fmt.Errorf("catalog: read JSONL: %w", err)
	}
	p.line++
	row := Row{Line: p.line}
	if tooLong {
		row.Err = fmt.Errorf("line longer than %d bytes", MaxLineBytes)
		return row, false, nil
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return Row{}, true, nil
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		row.Err = fmt.Errorf("malformed JSON: %v", err)
		// Salvage the id so the failure can be attributed to a product.
		var idOnly struct {
			ID any `json:"id"`
		}
		if json.Unmarshal(line, &idOnly) == nil && idOnly.ID != nil {
			row.Product.ID = stringify(idOnly.ID)
		}
		return row, false, nil
	}
	for k, raw := range obj {
		c := classify(k)
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			row.Err = fmt.Errorf("key %q: %v", k, err)
			continue
		}
		var err error
		switch x := v.(type) {
		case nil:
		case []any:
			if c.f != fImages {
				err = c.set(&row.Product, stringify(x))
				break
			}
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					err = fmt.Errorf("key %q: images must be strings", k)
					break
				}
				if s = strings.TrimSpace(s); s != "" {
					row.Product.Images = append(row.Product.Images, s)
				}
			}
		case map[string]any:
			if c.f == fAttributes {
				for ak, av := range x {
					setAttr(&row.Product, ak, stringify(av))
				}
			} else {
				err = c.set(&row.Product, stringify(x))
			}
		case bool:
			if c.f == fAvailability {
				row.Product.Availability = strconv.FormatBool(x)
			} else {
				err = c.set(&row.Product, strconv.FormatBool(x))
			}
		default:
			err = c.set(&row.Product, stringify(x))
		}
		if err != nil && row.Err == nil {
			row.Err = err
		}
	}
	return row, false, nil
}

// readLine reads one '\n'-terminated line without ever buffering more than
// max bytes; an overlong line is consumed and reported with tooLong.
func readLine(r *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, tooLong, err
	}
}

func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
