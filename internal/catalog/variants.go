package catalog

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// variant is one item of a shop feed: a product, or one size or colour of
// a product when group names the product it belongs to (Merchant Center
// item_group_id, Shopify handle, schema.org ProductGroup).
type variant struct {
	line  int
	group string
	id    string
	size  string
	p     Product
	err   error
}

// Attributes that feeds with variants fill.
const (
	// AttrVariantIDs lists a product's variant ids, comma separated, when
	// a feed gave it as several items of one group.
	AttrVariantIDs = "variant_ids"
	// AttrSizes lists the sizes of a product's variants.
	AttrSizes = "sizes"
	// AttrDescription is a feed's product description, as plain text.
	AttrDescription = "description"
)

// Caps of one grouped product: a group that keeps growing is more likely a
// broken feed than a product with that many sizes, and each image is
// fetched and embedded.
const (
	maxVariants      = 1000
	maxProductImages = 24
	maxDescription   = 2000
)

// grouper turns a stream of variants into product rows: adjacent variants
// of the same group become one product whose id is the group's, with the
// variant ids, sizes and colours of all and every image once, so a video
// match points at the product a shopper opens. Only the current group is
// held, so memory stays bounded whatever the feed size; a group split
// across the file gives a duplicate-id outcome for its second part. A
// failed variant is its own failed row, after its group's product.
type grouper struct {
	read  func() (variant, error)
	key   string // group of cur and fails
	cur   []variant
	fails []Row
	out   []Row
	eof   bool
}

func (g *grouper) next() (Row, bool, error) {
	for len(g.out) == 0 {
		if g.eof {
			return Row{}, false, io.EOF
		}
		v, err := g.read()
		if err == io.EOF {
			g.flush()
			g.eof = true
			continue
		}
		if err != nil {
			return Row{}, false, err
		}
		if v.group == "" {
			g.flush()
			if v.err != nil {
				g.out = append(g.out, Row{Line: v.line, Product: Product{ID: v.id}, Err: v.err})
			} else {
				g.out = append(g.out, Row{Line: v.line, Product: v.p})
			}
			continue
		}
		if v.group != g.key {
			g.flush()
			g.key = v.group
		}
		if v.err == nil && len(g.cur) >= maxVariants {
			v.err = fmt.Errorf("more than %d variants in the group", maxVariants)
		}
		if v.err != nil {
			id := v.id
			if id == "" {
				id = v.group
			}
			g.fails = append(g.fails, Row{Line: v.line, Product: Product{ID: id}, Err: fmt.Errorf("variant of %q: %w", v.group, v.err)})
			if len(g.fails) >= maxVariants { // bounded memory before order
				g.out, g.fails = append(g.out, g.fails...), nil
			}
			continue
		}
		g.cur = append(g.cur, v)
	}
	r := g.out[0]
	g.out = g.out[1:]
	return r, false, nil
}

func (g *grouper) flush() {
	if len(g.cur) > 0 {
		g.out = append(g.out, Row{Line: g.cur[0].line, Product: mergeVariants(g.key, g.cur)})
	}
	g.out = append(g.out, g.fails...)
	g.key, g.cur, g.fails = "", nil, nil
}

// availRank orders availabilities: a product is as available as its most
// available variant.
var availRank = map[string]int{OutOfStock: 0, PreOrder: 1, InStock: 2}

// mergeVariants makes the product of a group: the first variant's record
// with the group's id, the lowest price, the best availability, every
// image once (up to maxProductImages), the colours, sizes and variant ids
// of all, and the attributes of the first variant that has each.
func mergeVariants(group string, vs []variant) Product {
	p := vs[0].p
	p.ID = group
	p.Images = nil
	p.Attributes = maps.Clone(p.Attributes)
	var ids, sizes, colours []string
	add := func(list []string, s string) []string {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(list, s) {
			list = append(list, s)
		}
		return list
	}
	for i, v := range vs {
		q := v.p
		ids = add(ids, v.id)
		sizes = add(sizes, v.size)
		colours = add(colours, q.Colour)
		for _, img := range q.Images {
			if len(p.Images) < maxProductImages && !slices.Contains(p.Images, img) {
				p.Images = append(p.Images, img)
			}
		}
		if i == 0 {
			continue
		}
		if q.Price != nil && (p.Price == nil || *q.Price < *p.Price) {
			p.Price, p.Currency = q.Price, q.Currency
		}
		a, _ := ParseAvailability(q.Availability)
		b, _ := ParseAvailability(p.Availability)
		if availRank[a] > availRank[b] {
			p.Availability = a
		}
		if p.Title == "" {
			p.Title = q.Title
		}
		if p.Brand == "" {
			p.Brand = q.Brand
		}
		if p.Category == "" {
			p.Category = q.Category
		}
		if p.URL == "" {
			p.URL = q.URL
		}
		for k, x := range q.Attributes {
			if _, ok := p.Attributes[k]; !ok {
				setAttr(&p, k, x)
			}
		}
	}
	p.Colour = strings.Join(colours, ", ")
	setAttr(&p, AttrVariantIDs, strings.Join(ids, ","))
	setAttr(&p, AttrSizes, strings.Join(sizes, ", "))
	return p
}

// plainText turns feed text (HTML in Shopify bodies and many descriptions)
// into one line of plain text of at most maxDescription bytes.
func plainText(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '<':
			depth++
		case r == '>' && depth > 0:
			depth--
			b.WriteByte(' ')
		case depth == 0:
			b.WriteRune(r)
		}
	}
	out := strings.Join(strings.Fields(b.String()), " ")
	if len(out) > maxDescription {
		cut := maxDescription
		for cut > 0 && !utf8RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut]
	}
	return out
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
