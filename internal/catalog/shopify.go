package catalog

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// isShopifyHeader tells a Shopify product export from vitrine's own CSV by
// its Handle column next to Title or a Variant column.
func isShopifyHeader(header []string) bool {
	var handle, other bool
	for _, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "handle":
			handle = true
		case "title", "variant sku", "variant price", "image src":
			other = true
		}
	}
	return handle && other
}

// shopifyCSV reads Shopify's product CSV export: one product spans the
// consecutive rows of its Handle; the first carries the product's fields
// (Title, Vendor, Type, Tags, Status, Body (HTML)), each row may add a
// variant (Variant SKU, Variant Price, option values, Variant Image) and
// an image (Image Src, Image Position). Only the current product's rows
// are held.
type shopifyCSV struct {
	csv  *csv.Reader
	col  map[string]int
	ncol int
	cur  *shopifyProduct
	eof  bool
	// pending rows: failures of the product just emitted.
	pending []Row
}

// shopifyProduct accumulates the rows of one handle.
type shopifyProduct struct {
	line     int
	handle   string
	p        Product
	status   string
	variants []string
	sizes    []string
	colours  []string
	images   []shopifyImage
	stocked  bool // some variant can be bought
	tracked  bool // some variant had an inventory column
	fails    []Row
}

type shopifyImage struct {
	src string
	pos int
}

func newShopifyCSV(cr *csv.Reader, header []string) *shopifyCSV {
	s := &shopifyCSV{csv: cr, col: map[string]int{}, ncol: len(header)}
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := s.col[k]; !dup {
			s.col[k] = i
		}
	}
	return s
}

func (s *shopifyCSV) get(rec []string, name string) string {
	i, ok := s.col[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

func (s *shopifyCSV) next() (Row, bool, error) {
	for {
		if len(s.pending) > 0 {
			r := s.pending[0]
			s.pending = s.pending[1:]
			return r, false, nil
		}
		if s.eof {
			if s.cur == nil {
				return Row{}, false, io.EOF
			}
			return s.emit(), false, nil
		}
		rec, err := s.csv.Read()
		if errors.Is(err, io.EOF) {
			s.eof = true
			continue
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return Row{Line: pe.StartLine, Err: fmt.Errorf("malformed CSV: %v", pe.Err)}, false, nil
			}
			return Row{}, false, fmt.Errorf("catalog: read CSV: %w", err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		line, _ := s.csv.FieldPos(0)
		var rowErr error
		for i, v := range rec {
			if !utf8.ValidString(v) {
				rowErr = fmt.Errorf("field %d is not UTF-8 text (export the file as UTF-8)", i+1)
				break
			}
		}
		if rowErr == nil && len(rec) != s.ncol {
			rowErr = fmt.Errorf("row has %d fields, header has %d", len(rec), s.ncol)
		}
		handle := strings.Clone(s.get(rec, "handle"))
		if handle == "" {
			if rowErr == nil {
				rowErr = errors.New("empty Handle")
			}
			return Row{Line: line, Err: rowErr}, false, nil
		}
		var out *Row
		if s.cur != nil && s.cur.handle != handle {
			r := s.emit()
			out = &r
		}
		if s.cur == nil {
			s.cur = &shopifyProduct{handle: handle}
		}
		if rowErr == nil && len(s.cur.variants) >= maxVariants {
			rowErr = fmt.Errorf("more than %d variants under one Handle", maxVariants)
		}
		if rowErr != nil {
			s.cur.fails = append(s.cur.fails, Row{Line: line, Product: Product{ID: handle}, Err: rowErr})
		} else if s.add(rec, line) && s.cur.line == 0 {
			s.cur.line = line // the product's row is its first good one
		}
		if len(s.cur.fails) >= maxVariants { // bounded memory before order
			s.pending, s.cur.fails = append(s.pending, s.cur.fails...), nil
		}
		if out != nil {
			return *out, false, nil
		}
	}
}

// add folds one row into the current product; false means the row
// failed (its failure is queued).
func (s *shopifyCSV) add(rec []string, line int) bool {
	c := s.cur
	p := &c.p
	first := func(dst *string, v string) {
		if *dst == "" && v != "" {
			*dst = strings.Clone(v)
		}
	}
	first(&p.Title, s.get(rec, "title"))
	first(&p.Brand, s.get(rec, "vendor"))
	first(&p.Category, s.get(rec, "type"))
	first(&p.Category, s.get(rec, "product category"))
	first(&c.status, strings.ToLower(s.get(rec, "status")))
	if v := s.get(rec, "tags"); v != "" {
		setAttr(p, "tags", strings.Clone(v))
	}
	if v := s.get(rec, "body (html)"); v != "" && p.Attributes[AttrDescription] == "" {
		setAttr(p, AttrDescription, plainText(v))
	}
	if src := s.get(rec, "image src"); src != "" {
		pos, err := strconv.Atoi(s.get(rec, "image position"))
		if err != nil || pos <= 0 {
			pos = 1 << 20 // unpositioned images after positioned ones
		}
		c.addImage(strings.Clone(src), pos)
	}
	sku := s.get(rec, "variant sku")
	price := s.get(rec, "variant price")
	var opts []string
	var size, colour string
	for n := 1; n <= 3; n++ {
		val := s.get(rec, fmt.Sprintf("option%d value", n))
		if val == "" {
			continue
		}
		opts = append(opts, val)
		// The option's name is given on the product's first row only.
		name := strings.ToLower(s.get(rec, fmt.Sprintf("option%d name", n)))
		if name != "" && c.optionName(n) == "" {
			c.setOptionName(n, name)
		}
		switch c.optionName(n) {
		case "size", "taille", "größe", "talla":
			size = val
		case "color", "colour", "couleur", "farbe":
			colour = val
		}
	}
	if sku == "" && price == "" && len(opts) == 0 {
		return true // an image-only row
	}
	id := sku
	if id == "" {
		id = c.handle
		if len(opts) > 0 && !(len(opts) == 1 && opts[0] == "Default Title") {
			id += "/" + strings.Join(opts, "/")
		}
	}
	if price != "" {
		v, err := parsePrice(price)
		if err != nil {
			c.fails = append(c.fails, Row{Line: line, Product: Product{ID: c.handle}, Err: fmt.Errorf("variant %s: %w", id, err)})
			return false
		}
		if v != nil && (p.Price == nil || *v < *p.Price) {
			p.Price = v
		}
	}
	if img := s.get(rec, "variant image"); img != "" {
		c.addImage(strings.Clone(img), 1<<20)
	}
	c.variants = appendNew(c.variants, strings.Clone(id))
	if size != "" && size != "Default Title" {
		c.sizes = appendNew(c.sizes, strings.Clone(size))
	}
	if colour != "" {
		c.colours = appendNew(c.colours, strings.Clone(colour))
	}
	// A variant can be bought when stock is not tracked, when it is in
	// stock, or when the shop sells beyond stock ("continue").
	qty := s.get(rec, "variant inventory qty")
	policy := strings.ToLower(s.get(rec, "variant inventory policy"))
	if qty != "" || policy != "" {
		c.tracked = true
	}
	if n, err := strconv.Atoi(qty); qty == "" || (err == nil && n > 0) || policy == "continue" {
		c.stocked = true
	}
	return true
}

func appendNew(list []string, s string) []string {
	if !slices.Contains(list, s) {
		list = append(list, s)
	}
	return list
}

func (c *shopifyProduct) addImage(src string, pos int) {
	for i, im := range c.images {
		if im.src == src {
			c.images[i].pos = min(im.pos, pos)
			return
		}
	}
	if len(c.images) < maxProductImages*4 {
		c.images = append(c.images, shopifyImage{src, pos})
	}
}

// Option names of the current product, kept in its attributes' absence.
func (c *shopifyProduct) optionName(n int) string {
	return c.p.Attributes["option"+strconv.Itoa(n)+"_name"]
}

func (c *shopifyProduct) setOptionName(n int, name string) {
	setAttr(&c.p, "option"+strconv.Itoa(n)+"_name", strings.Clone(name))
}

// emit returns the current product's row (or its first failure when no
// row of it was good) and queues the rest.
func (s *shopifyCSV) emit() Row {
	c := s.cur
	s.cur = nil
	p := c.p
	p.ID = c.handle
	slices.SortStableFunc(c.images, func(a, b shopifyImage) int { return a.pos - b.pos })
	for _, im := range c.images {
		if len(p.Images) < maxProductImages {
			p.Images = append(p.Images, im.src)
		}
	}
	p.Colour = strings.Join(c.colours, ", ")
	setAttr(&p, AttrVariantIDs, strings.Join(c.variants, ","))
	setAttr(&p, AttrSizes, strings.Join(c.sizes, ", "))
	switch {
	case c.status != "" && c.status != "active":
		// Drafts and archived products are not for sale.
		p.Availability = OutOfStock
		setAttr(&p, "status", c.status)
	case c.tracked && !c.stocked:
		p.Availability = OutOfStock
	default:
		p.Availability = InStock
	}
	row := Row{Line: c.line, Product: p}
	if c.line == 0 || len(c.variants) == 0 && len(c.fails) > 0 {
		row = c.fails[0]
		c.fails = c.fails[1:]
	}
	s.pending = append(s.pending, c.fails...)
	return row
}
