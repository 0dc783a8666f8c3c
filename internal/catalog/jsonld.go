package catalog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// maxJSONLDObject caps a JSON-LD file holding one top-level object (a
// Product, a ProductGroup or an @graph), which is decoded whole; a
// top-level array is streamed one element at a time.
const maxJSONLDObject = 64 << 20

// jsonLD reads schema.org Product JSON-LD: one Product or ProductGroup, an
// array of them, an @graph or an ItemList. Nodes of other types (WebSite,
// BreadcrumbList, …) are skipped. A ProductGroup's hasVariant products and
// products that name their group (inProductGroupWithID, isVariantOf)
// become variants of the group. Row numbers count the products in the
// file, in order.
type jsonLD struct {
	br    *bufio.Reader
	dec   *json.Decoder
	queue []variant
	n     int
	done  bool
}

func newJSONLD(r io.Reader) (*jsonLD, error) {
	j := &jsonLD{br: bufio.NewReaderSize(r, 64<<10)}
	for {
		rn, _, err := j.br.ReadRune()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("catalog: empty JSON-LD file")
			}
			return nil, fmt.Errorf("catalog: read JSON-LD: %w", err)
		}
		if rn == '\ufeff' || unicode.IsSpace(rn) {
			continue
		}
		if rn != '[' && rn != '{' {
			return nil, fmt.Errorf("catalog: not a JSON-LD file (starts with %q, want { or [)", rn)
		}
		j.br.UnreadRune()
		if rn == '[' {
			j.dec = json.NewDecoder(j.br)
			j.dec.UseNumber()
			if _, err := j.dec.Token(); err != nil {
				return nil, fmt.Errorf("catalog: read JSON-LD: %w", err)
			}
		}
		return j, nil
	}
}

func (j *jsonLD) read() (variant, error) {
	for len(j.queue) == 0 {
		if j.done && j.n == 0 {
			return variant{}, errors.New(`catalog: no schema.org Product in the JSON-LD file (want "@type": "Product" or "ProductGroup"; vitrine's own JSON goes one object per line in a .jsonl file)`)
		}
		if j.done {
			return variant{}, io.EOF
		}
		if j.dec == nil { // one top-level object
			j.done = true
			dec := json.NewDecoder(io.LimitReader(j.br, maxJSONLDObject+1))
			dec.UseNumber()
			var node any
			if err := dec.Decode(&node); err != nil {
				j.n++
				return variant{line: j.n, err: fmt.Errorf("malformed JSON: %v (a file over %d bytes must be an array)", err, maxJSONLDObject)}, nil
			}
			j.expand(node, nil)
			continue
		}
		if !j.dec.More() {
			j.done = true
			continue
		}
		var node any
		if err := j.dec.Decode(&node); err != nil {
			j.done = true // the decoder cannot resume after a syntax error
			j.n++
			return variant{line: j.n, err: fmt.Errorf("malformed JSON after product %d: %v", j.n-1, err)}, nil
		}
		j.expand(node, nil)
	}
	v := j.queue[0]
	j.queue = j.queue[1:]
	return v, nil
}

// expand queues the products of one JSON-LD node. group is the enclosing
// ProductGroup's defaults, nil outside one.
func (j *jsonLD) expand(node any, group *variant) {
	switch x := node.(type) {
	case []any:
		for _, e := range x {
			j.expand(e, group)
		}
	case map[string]any:
		if g, ok := x["@graph"]; ok {
			j.expand(g, group)
			return
		}
		switch {
		case hasType(x, "ProductGroup"):
			j.productGroup(x)
		case hasType(x, "Product"):
			j.n++
			j.queue = append(j.queue, ldProduct(x, group, j.n))
		case hasType(x, "ItemList"):
			list, _ := x["itemListElement"].([]any)
			for _, e := range list {
				if m, ok := e.(map[string]any); ok && m["item"] != nil {
					j.expand(m["item"], group)
				} else {
					j.expand(e, group)
				}
			}
		}
	}
}

func (j *jsonLD) productGroup(x map[string]any) {
	j.n++
	g := ldProduct(x, nil, j.n)
	gid := ldString(x["productGroupID"])
	if gid == "" {
		gid = g.id
	}
	variants, _ := x["hasVariant"].([]any)
	if len(variants) == 0 || gid == "" {
		j.queue = append(j.queue, g) // a group without variants is a product
		return
	}
	g.group = gid
	j.n-- // the group's variants take the row numbers
	for _, v := range variants {
		if m, ok := v.(map[string]any); ok {
			j.n++
			j.queue = append(j.queue, ldProduct(m, &g, j.n))
		}
	}
}

// hasType reports whether a node's @type (a string or a list, with or
// without a schema.org prefix) is t.
func hasType(m map[string]any, t string) bool {
	var types []any
	switch x := m["@type"].(type) {
	case string:
		types = []any{x}
	case []any:
		types = x
	}
	for _, e := range types {
		s, _ := e.(string)
		s = s[strings.LastIndexAny(s, "/:")+1:]
		if s == t {
			return true
		}
	}
	return false
}

// ldString reads a text value: a string, a number, an object's name or
// @value, or a list's first.
func ldString(x any) string {
	switch v := x.(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case map[string]any:
		for _, k := range []string{"name", "@value", "url", "contentUrl", "@id"} {
			if s := ldString(v[k]); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range v {
			if s := ldString(e); s != "" {
				return s
			}
		}
	}
	return ""
}

// ldAvailability maps schema.org ItemAvailability onto vitrine's values.
var ldAvailability = map[string]string{
	"limitedavailability": InStock, "onlineonly": InStock, "instoreonly": InStock,
	"presale": PreOrder, "madetoorder": PreOrder, "reserved": OutOfStock,
}

// ldProduct maps a schema.org Product onto a variant; fields it lacks come
// from its ProductGroup (def) when there is one.
func ldProduct(x map[string]any, def *variant, n int) variant {
	v := variant{line: n}
	if def != nil {
		v.group = def.group
		v.p = def.p
		v.p.Images = append([]string(nil), def.p.Images...)
		v.p.Attributes = nil
		for k, a := range def.p.Attributes {
			setAttr(&v.p, k, a)
		}
	}
	p := &v.p
	for _, k := range []string{"sku", "productID", "@id", "gtin13", "gtin", "gtin14", "gtin12", "gtin8", "mpn"} {
		if v.id = ldString(x[k]); v.id != "" {
			break
		}
	}
	p.ID = v.id
	set := func(dst *string, key string) {
		if s := ldString(x[key]); s != "" {
			*dst = s
		}
	}
	set(&p.Title, "name")
	set(&p.Brand, "brand")
	set(&p.Category, "category")
	set(&p.Colour, "color")
	set(&p.URL, "url")
	if s := ldString(x["size"]); s != "" {
		v.size = s
		setAttr(p, "size", s)
	}
	if s := ldString(x["description"]); s != "" {
		setAttr(p, AttrDescription, plainText(s))
	}
	for _, k := range []string{"material", "pattern", "gtin13", "mpn", "audience"} {
		if s := ldString(x[k]); s != "" {
			setAttr(p, k, s)
		}
	}
	if imgs := ldImages(x["image"]); len(imgs) > 0 {
		p.Images = imgs
	}
	if g := ldString(x["inProductGroupWithID"]); g != "" && v.group == "" {
		v.group = g
	}
	if iv, ok := x["isVariantOf"].(map[string]any); ok && v.group == "" {
		if g := ldString(iv["productGroupID"]); g != "" {
			v.group = g
		} else {
			v.group = ldString(iv["@id"])
		}
	}
	if r, ok := x["aggregateRating"].(map[string]any); ok {
		var err error
		if p.Rating, err = parseRating(ldString(r["ratingValue"])); err != nil {
			v.err = err
		}
		c := ldString(r["reviewCount"])
		if c == "" {
			c = ldString(r["ratingCount"])
		}
		if p.RatingCount, err = parseCount(c); err != nil && v.err == nil {
			v.err = err
		}
	}
	if o, ok := x["offers"]; ok {
		if err := ldOffers(p, o); err != nil && v.err == nil {
			v.err = err
		}
	}
	if v.id == "" && v.err == nil {
		v.err = errors.New("product without sku, productID or @id")
	}
	return v
}

// ldImages reads image: a URL, an ImageObject or a list of either.
func ldImages(x any) []string {
	var out []string
	switch v := x.(type) {
	case []any:
		for _, e := range v {
			out = append(out, ldImages(e)...)
		}
	case string, map[string]any:
		if s := ldString(v); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ldOffers sets the lowest price (with its currency) and the best
// availability of an Offer, AggregateOffer or list of them.
func ldOffers(p *Product, x any) error {
	var offers []map[string]any
	var walk func(any)
	walk = func(x any) {
		switch v := x.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			offers = append(offers, v)
			if inner, ok := v["offers"]; ok {
				walk(inner)
			}
		}
	}
	walk(x)
	best := ""
	for _, o := range offers {
		ccy := ldString(o["priceCurrency"])
		for _, k := range []string{"price", "lowPrice"} {
			s := ldString(o[k])
			if s == "" {
				continue
			}
			price, err := parsePrice(s)
			if err != nil {
				return fmt.Errorf("offer %s: %w", k, err)
			}
			if price != nil && (p.Price == nil || *price < *p.Price) {
				p.Price, p.Currency = price, ccy
			}
			break
		}
		if s := ldString(o["availability"]); s != "" {
			s = s[strings.LastIndexAny(s, "/:")+1:]
			a, ok := ldAvailability[strings.ToLower(s)]
			if !ok {
				var err error
				if a, err = ParseAvailability(s); err != nil {
					return err
				}
			}
			if best == "" || availRank[a] > availRank[best] {
				best = a
			}
		}
	}
	if best != "" {
		p.Availability = best
	}
	return nil
}
