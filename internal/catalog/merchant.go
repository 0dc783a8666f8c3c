package catalog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

// MerchantNS is the namespace of Google Merchant Center's g: elements.
const MerchantNS = "http://base.google.com/ns/1.0"

// maxItemBytes caps the text of one feed item; a larger item is a row
// error (and its text is not kept), so one runaway item cannot hold the
// memory of a whole feed.
const maxItemBytes = 1 << 20

// setMerchant maps one Merchant Center attribute (XML element or TSV
// column, without its g: prefix) onto v. Unknown attributes are kept as
// free attributes; the first error stays in v.err.
func setMerchant(v *variant, key, val string) {
	key = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(key), "g:")))
	val = strings.TrimSpace(val)
	if val == "" {
		return
	}
	fail := func(err error) {
		if v.err == nil {
			v.err = err
		}
	}
	p := &v.p
	switch key {
	case "id":
		v.id, p.ID = val, val
	case "item_group_id":
		v.group = val
	case "title":
		p.Title = val
	case "description", "summary": // summary: Atom's
		setAttr(p, AttrDescription, plainText(val))
	case "link":
		p.URL = val
	case "image_link":
		p.Images = append([]string{val}, p.Images...)
	case "additional_image_link":
		// Repeated in XML; comma separated in the text feed.
		for _, s := range strings.Split(val, ",") {
			if s = strings.TrimSpace(s); s != "" {
				p.Images = append(p.Images, s)
			}
		}
	case "price", "sale_price":
		amount, ccy, err := parseMerchantPrice(val)
		if err != nil {
			fail(fmt.Errorf("%s: %w", key, err))
			return
		}
		if key == "price" {
			setAttr(p, "list_price", val)
			if _, sale := p.Attributes["sale_price"]; sale {
				return // the sale price came first and wins
			}
		} else {
			setAttr(p, "sale_price", val)
		}
		p.Price, p.Currency = amount, ccy
	case "availability":
		a, err := ParseAvailability(val)
		if err != nil {
			fail(err)
			return
		}
		p.Availability = a
	case "brand":
		p.Brand = val
	case "product_type":
		// The merchant's own category path wins over Google's taxonomy.
		p.Category = val
	case "google_product_category":
		setAttr(p, key, val)
		if p.Category == "" {
			p.Category = val
		}
	case "color":
		p.Colour = val
	case "size":
		v.size = val
		setAttr(p, "size", val)
	default:
		setAttr(p, key, val)
	}
}

// setItemElement maps an element of an XML item. The g: elements are the
// feed's; RSS's and Atom's own title, link and description fill in only
// what the g: ones leave empty, and Atom's <id> (the entry's id, not the
// product's) is not used.
func setItemElement(v *variant, key string, native bool, val string) {
	if !native {
		switch key {
		case "id", "updated", "published":
			return
		case "title":
			if v.p.Title != "" {
				return
			}
		case "link":
			if v.p.URL != "" {
				return
			}
		case "description", "summary":
			if v.p.Attributes[AttrDescription] != "" {
				return
			}
		}
	}
	setMerchant(v, key, val)
}

// parseMerchantPrice reads "15.00 USD" (the feed's form), "USD 15.00" or a
// bare number.
func parseMerchantPrice(s string) (*float64, string, error) {
	f := strings.Fields(s)
	var num, ccy string
	switch {
	case len(f) == 1:
		num = f[0]
	case len(f) == 2 && isCurrency(f[1]):
		num, ccy = f[0], f[1]
	case len(f) == 2 && isCurrency(f[0]):
		num, ccy = f[1], f[0]
	default:
		return nil, "", fmt.Errorf("bad price %q (want \"15.00 USD\")", s)
	}
	v, err := parsePrice(num)
	if err != nil {
		return nil, "", fmt.Errorf("bad price %q (want \"15.00 USD\")", s)
	}
	return v, strings.ToUpper(ccy), nil
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

// merchantXML streams the items of a Merchant Center RSS 2.0 or Atom
// feed with encoding/xml's token decoder: only the current item is held.
// After a syntax error it reports a failed row and resumes at the next
// <item> or <entry> it finds, so one broken item does not lose the rest.
// Row numbers are item numbers (the first item is 1): a feed may hold
// many items on one line.
type merchantXML struct {
	br      *bufio.Reader
	dec     *xml.Decoder
	lineOff int      // added to the decoder's line numbers after a resync
	nsDecl  []string // xmlns declarations seen above the items
	items   int
	failed  bool // the last error ended the stream
	// resynced: the decoder reads a resumed stream whose synthetic root
	// never closes, so an error between items there ends it quietly.
	resynced bool
}

func newMerchantXML(r io.Reader) *merchantXML {
	m := &merchantXML{br: bufio.NewReaderSize(r, 64<<10)}
	m.dec = m.decoder(m.br)
	return m
}

// decoder reads r byte by byte through br (xml.Decoder adds no buffer of
// its own over an io.ByteReader), so after an error br sits where the
// decoder stopped. HTML entities (&nbsp;) are accepted and declared
// charsets other than UTF-8 are decoded.
func (m *merchantXML) decoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		enc, err := htmlindex.Get(label)
		if err != nil {
			return nil, fmt.Errorf("unknown charset %q", label)
		}
		return enc.NewDecoder().Reader(in), nil
	}
	return d
}

func (m *merchantXML) line() int {
	l, _ := m.dec.InputPos()
	return l + m.lineOff
}

func (m *merchantXML) read() (variant, error) {
	if m.failed {
		return variant{}, io.EOF
	}
	for {
		tok, err := m.dec.Token()
		if err == io.EOF {
			if m.items == 0 {
				return variant{}, errors.New("catalog: no <item> or <entry> elements: not a Merchant Center feed")
			}
			return variant{}, io.EOF
		}
		if err != nil {
			if m.resynced {
				if m.resync() {
					continue
				}
				return variant{}, io.EOF
			}
			m.items++
			return m.broken(err, m.items)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local != "item" && se.Name.Local != "entry" {
			for _, a := range se.Attr {
				var decl string
				if a.Name.Space == "xmlns" {
					decl = fmt.Sprintf(`xmlns:%s=%q`, a.Name.Local, a.Value)
				} else if a.Name.Space == "" && a.Name.Local == "xmlns" {
					decl = fmt.Sprintf(`xmlns=%q`, a.Value)
				}
				if decl != "" && !slices.Contains(m.nsDecl, decl) && len(m.nsDecl) < 64 {
					m.nsDecl = append(m.nsDecl, decl)
				}
			}
			continue
		}
		m.items++
		v := variant{line: m.items}
		if err := m.item(&v); err != nil {
			return m.broken(err, m.items)
		}
		return v, nil
	}
}

// item reads the children of an <item>/<entry> into v.
func (m *merchantXML) item(v *variant) error {
	var key string
	var native bool // a g: element
	var text bytes.Buffer
	depth, size := 0, 0
	for {
		tok, err := m.dec.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				key, native = t.Name.Local, t.Name.Space == MerchantNS
				text.Reset()
				if key == "link" && t.Name.Space != MerchantNS {
					// Atom: <link rel="alternate" href="…"/>
					for _, a := range t.Attr {
						if a.Name.Local == "href" {
							text.WriteString(a.Value)
						}
					}
				}
			}
		case xml.CharData:
			if depth >= 1 {
				size += len(t)
				if size <= maxItemBytes {
					text.Write(t)
				}
			}
		case xml.EndElement:
			if depth == 0 {
				if size > maxItemBytes && v.err == nil {
					v.err = fmt.Errorf("item larger than %d bytes", maxItemBytes)
				}
				if v.id == "" && v.err == nil {
					v.err = errors.New("item without g:id")
				}
				return nil
			}
			if depth == 1 && size <= maxItemBytes {
				setItemElement(v, key, native, text.String())
			}
			depth--
		}
	}
}

// broken records a syntax error as the failed row of item number n and
// resynchronises on the next item.
func (m *merchantXML) broken(cause error, n int) (variant, error) {
	msg := cause.Error()
	var se *xml.SyntaxError
	isSyntax := errors.As(cause, &se)
	if isSyntax {
		msg = fmt.Sprintf("%s (line %d)", se.Msg, se.Line+m.lineOff)
	}
	v := variant{line: n, err: fmt.Errorf("malformed XML: %s", msg)}
	if !isSyntax || !m.resync() {
		m.failed = true // truncated, or nothing follows
	}
	return v, nil
}

// resync skips to the next "<item" or "<entry" and starts a decoder there,
// inside a synthetic root that declares the namespaces seen so far.
func (m *merchantXML) resync() bool {
	line := m.line()
	skipped, tag, ok := seekItem(m.br)
	if !ok {
		return false
	}
	prefix := "<vitrine-resync " + strings.Join(m.nsDecl, " ") + ">" + tag
	m.dec = m.decoder(&prefixReader{prefix: prefix, br: m.br})
	m.lineOff = line + skipped - 1
	m.resynced = true
	return true
}

// prefixReader reads prefix, then br, as an io.ByteReader so that the
// decoder reads br byte by byte and a later resync finds br where the
// decoder stopped.
type prefixReader struct {
	prefix string
	br     *bufio.Reader
}

func (p *prefixReader) ReadByte() (byte, error) {
	if p.prefix != "" {
		b := p.prefix[0]
		p.prefix = p.prefix[1:]
		return b, nil
	}
	return p.br.ReadByte()
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if p.prefix != "" {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.br.Read(b)
}

// seekItem consumes br up to and including the next "<item" or "<entry"
// followed by '>' or a space, returning the newlines passed and the tag
// text consumed.
func seekItem(br *bufio.Reader) (newlines int, tag string, ok bool) {
	var window []byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			return newlines, "", false
		}
		if b == '\n' {
			newlines++
		}
		window = append(window, b)
		if len(window) > 8 {
			window = window[len(window)-8:]
		}
		for _, t := range []string{"<item", "<entry"} {
			w := string(window)
			if len(w) > len(t) && strings.HasSuffix(w[:len(w)-1], t) {
				last := w[len(w)-1]
				if last == '>' || last == ' ' || last == '\t' || last == '\n' || last == '\r' {
					if last == '\n' {
						newlines-- // given back with the tag
					}
					return newlines, t + string(last), true
				}
			}
		}
	}
}

// merchantTSV reads Merchant Center's tab-separated text feed: a header of
// attribute names (id, title, price, …, optionally g:-prefixed) and one
// item per line.
type merchantTSV struct {
	csv  *csv.Reader
	cols []string
}

func newMerchantTSV(r io.Reader) (*merchantTSV, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.Comma = '\t'
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("catalog: empty feed file (no header)")
		}
		return nil, fmt.Errorf("catalog: read feed header: %w", err)
	}
	t := &merchantTSV{csv: cr}
	hasID := false
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(h), "g:"))
		hasID = hasID || h == "id"
		t.cols = append(t.cols, h)
	}
	if !hasID {
		return nil, errors.New("catalog: text feed has no id column")
	}
	return t, nil
}

func (t *merchantTSV) read() (variant, error) {
	for {
		rec, err := t.csv.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return variant{}, io.EOF
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return variant{line: pe.StartLine, err: fmt.Errorf("malformed feed line: %v", pe.Err)}, nil
			}
			return variant{}, fmt.Errorf("catalog: read feed: %w", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		line, _ := t.csv.FieldPos(0)
		v := variant{line: line}
		for i, val := range rec {
			if i >= len(t.cols) {
				break
			}
			if !utf8.ValidString(val) {
				if v.err == nil {
					v.err = fmt.Errorf("column %s is not UTF-8 text (export the feed as UTF-8)", t.cols[i])
				}
				continue
			}
			setMerchant(&v, t.cols[i], strings.Clone(val))
		}
		if len(rec) != len(t.cols) && v.err == nil {
			v.err = fmt.Errorf("line has %d fields, header has %d", len(rec), len(t.cols))
		}
		if v.id == "" && v.err == nil {
			v.err = errors.New("empty id")
		}
		return v, nil
	}
}
