package vision

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// RegionKind names a garment region of a person.
type RegionKind string

// Garment region kinds.
const (
	RegionUpper    RegionKind = "upper"
	RegionLower    RegionKind = "lower"
	RegionFootwear RegionKind = "footwear"
	RegionOutfit   RegionKind = "outfit"
)

// RegionKinds lists the kinds in the order PersonRegions returns them.
var RegionKinds = []RegionKind{RegionUpper, RegionLower, RegionFootwear, RegionOutfit}

// Region is a part of a person box where a garment is expected.
type Region struct {
	Kind RegionKind
	Box  Box
}

// minRegionSide drops regions too small to classify.
const minRegionSide = 8

// PersonRegions derives garment regions from a person box with fixed body
// proportions (head ~15%, torso to ~55%, legs to ~90%, feet the rest),
// clamped to bounds. Regions smaller than a few pixels are omitted.
func PersonRegions(person Box, bounds image.Rectangle) []Region {
	h := person.H()
	w := person.W()
	span := func(top, bottom, padX float32) Box {
		return Box{person.X0 - padX*w, person.Y0 + top*h, person.X1 + padX*w, person.Y0 + bottom*h}.Clamp(bounds)
	}
	cands := []Region{
		{RegionUpper, span(0.15, 0.58, 0)},
		{RegionLower, span(0.45, 0.92, 0)},
		{RegionFootwear, span(0.84, 1.03, 0.05)},
		{RegionOutfit, person.Clamp(bounds)},
	}
	out := cands[:0]
	for _, r := range cands {
		if r.Box.W() >= minRegionSide && r.Box.H() >= minRegionSide {
			out = append(out, r)
		}
	}
	return out
}

// Item is a shoppable thing found in an image: a detector box of a
// shoppable class, or a labelled garment region of a person.
type Item struct {
	// Source is "detector" or "garment".
	Source string
	// Kind is the garment region kind ("" for detector items).
	Kind  RegionKind
	Label string
	Score float32
	Box   Box
	// Person is the index of the person detection a garment belongs to (-1
	// for detector items).
	Person int
	// Detection is the index of the detection the item comes from.
	Detection int
	// Embedding of the crop by the image embedder, L2-normalised.
	Embedding []float32
}

// apparelEntry maps one classifier class to a garment label.
type apparelEntry struct {
	class   int
	label   string
	regions []RegionKind
}

// GarmentLabeler turns detections into shoppable items. It is safe for
// concurrent use.
type GarmentLabeler struct {
	emb       *ImageEmbedder
	text      *TextEncoder
	person    string
	minScore  float32
	shoppable map[string]bool
	apparel   []apparelEntry
	labelKind map[string][]RegionKind

	promptMu     sync.Mutex
	promptLabels []string
	promptVecs   [][]float32
	prompts      map[string]string
}

// NewGarmentLabeler builds a labeler from the manifest's garment settings.
// text may be nil; then regions are labelled by the embedder's classifier
// classes through the apparel table.
func NewGarmentLabeler(m *Manifest, emb *ImageEmbedder, text *TextEncoder) (*GarmentLabeler, error) {
	gs := m.Garments
	g := &GarmentLabeler{
		emb:       emb,
		text:      text,
		person:    gs.PersonClass,
		minScore:  gs.MinScore,
		shoppable: map[string]bool{},
		labelKind: map[string][]RegionKind{},
		prompts:   gs.Prompts,
	}
	if g.person == "" {
		g.person = "person"
	}
	if g.minScore <= 0 {
		g.minScore = 0.15
	}
	for _, c := range m.ShoppableClasses {
		g.shoppable[strings.ToLower(c)] = true
	}
	var err error
	if g.apparel, err = loadApparel(m, gs.ApparelTable); err != nil {
		return nil, fmt.Errorf("vision: garment table: %w", err)
	}
	for _, a := range g.apparel {
		for _, k := range a.regions {
			if !slices.Contains(g.labelKind[a.label], k) {
				g.labelKind[a.label] = append(g.labelKind[a.label], k)
			}
		}
	}
	if text == nil && emb != nil && !emb.logits && len(g.apparel) > 0 {
		return nil, fmt.Errorf("vision: garment labels need a text encoder or an embedder with logits; %s has neither", emb.spec.Name)
	}
	return g, nil
}

func loadApparel(m *Manifest, ref string) ([]apparelEntry, error) {
	var text string
	switch ref {
	case "":
		return nil, nil
	case "builtin:imagenet-apparel":
		text = apparelTSV
	default:
		b, err := os.ReadFile(m.Path(ref))
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	var out []apparelEntry
	sc := bufio.NewScanner(strings.NewReader(text))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Split(s, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want 3 tab-separated fields", line)
		}
		c, err := strconv.Atoi(f[0])
		if err != nil || c < 0 {
			return nil, fmt.Errorf("line %d: class %q", line, f[0])
		}
		e := apparelEntry{class: c, label: f[1]}
		for _, k := range strings.Split(f[2], ",") {
			k := RegionKind(strings.TrimSpace(k))
			if !slices.Contains(RegionKinds, k) {
				return nil, fmt.Errorf("line %d: region kind %q", line, k)
			}
			e.regions = append(e.regions, k)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// IsShoppable reports whether a detector label is a product by itself.
func (g *GarmentLabeler) IsShoppable(label string) bool { return g.shoppable[strings.ToLower(label)] }

// Items returns the shoppable items in img: detections of shoppable classes
// as they are, and the labelled garment regions of each person. Every item
// is embedded in one batch; garment regions that match no garment well
// enough are dropped.
func (g *GarmentLabeler) Items(ctx context.Context, img image.Image, dets []Detection) ([]Item, error) {
	b := img.Bounds()
	var items []Item
	var crops []image.Image
	for i, d := range dets {
		switch {
		case strings.EqualFold(d.Label, g.person):
			for _, r := range PersonRegions(d.Box, b) {
				items = append(items, Item{Source: "garment", Kind: r.Kind, Box: r.Box, Person: i, Detection: i})
				crops = append(crops, Crop(img, r.Box.Rect()))
			}
		case g.IsShoppable(d.Label):
			items = append(items, Item{Source: "detector", Label: d.Label, Score: d.Score, Box: d.Box, Person: -1, Detection: i})
			crops = append(crops, Crop(img, d.Box.Rect()))
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	as, err := g.emb.Analyze(ctx, crops, 0)
	if err != nil {
		return nil, fmt.Errorf("vision: garment items: %w", err)
	}
	var textScores [][]float32
	var labels []string
	if g.text != nil {
		if labels, textScores, err = g.promptScores(ctx, as); err != nil {
			return nil, err
		}
	}
	out := items[:0]
	for i, it := range items {
		it.Embedding = as[i].Embedding
		if it.Source == "garment" {
			var label string
			var score float32
			if textScores != nil {
				label, score = g.bestPrompt(it.Kind, labels, textScores[i])
			} else {
				label, score = g.bestApparel(it.Kind, as[i].Probs)
			}
			if score < g.minScore {
				continue
			}
			it.Label, it.Score = label, score
		}
		out = append(out, it)
	}
	return out, nil
}

// bestApparel sums classifier probability per garment label allowed in
// the region kind and returns the best label.
func (g *GarmentLabeler) bestApparel(kind RegionKind, probs []float32) (string, float32) {
	mass := map[string]float32{}
	for _, a := range g.apparel {
		if a.class < len(probs) && slices.Contains(a.regions, kind) {
			mass[a.label] += probs[a.class]
		}
	}
	best, bs := "", float32(0)
	for l, s := range mass {
		if s > bs || s == bs && l < best {
			best, bs = l, s
		}
	}
	return best, bs
}

// promptScores embeds the prompts once and returns, per crop, the softmax
// (CLIP temperature 100) of the cosine similarity to each prompt.
func (g *GarmentLabeler) promptScores(ctx context.Context, as []Analysis) ([]string, [][]float32, error) {
	g.promptMu.Lock()
	if g.promptVecs == nil && len(g.prompts) > 0 {
		labels := make([]string, 0, len(g.prompts))
		for l := range g.prompts {
			labels = append(labels, l)
		}
		slices.Sort(labels)
		texts := make([]string, len(labels))
		for i, l := range labels {
			texts[i] = g.prompts[l]
		}
		vecs, err := g.text.EmbedTexts(ctx, texts)
		if err != nil {
			g.promptMu.Unlock()
			return nil, nil, fmt.Errorf("vision: embed garment prompts: %w", err)
		}
		g.promptLabels, g.promptVecs = labels, vecs
	}
	labels, vecs := g.promptLabels, g.promptVecs
	g.promptMu.Unlock()
	out := make([][]float32, len(as))
	for i, a := range as {
		logits := make([]float32, len(vecs))
		for j, v := range vecs {
			logits[j] = 100 * Cosine(a.Embedding, v)
		}
		out[i] = softmax(logits)
	}
	return labels, out, nil
}

func (g *GarmentLabeler) bestPrompt(kind RegionKind, labels []string, p []float32) (string, float32) {
	best, bs := "", float32(0)
	for j, l := range labels {
		if ks, ok := g.labelKind[l]; ok && !slices.Contains(ks, kind) {
			continue
		}
		if p[j] > bs {
			best, bs = l, p[j]
		}
	}
	return best, bs
}

// QueryScore scores how well a free-text query matches an image through
// its classifier probabilities: the probability mass of the classes whose
// name or garment label contains the query as whole words. It is the text
// search available without a CLIP-style text encoder.
func (g *GarmentLabeler) QueryScore(query string, probs []float32) float32 {
	q := normWords(query)
	if q == "" {
		return 0
	}
	hit := map[int]bool{}
	for c := range probs {
		for _, s := range g.emb.ClassSynonyms(c) {
			if containsWords(normWords(s), q) {
				hit[c] = true
				break
			}
		}
	}
	for _, a := range g.apparel {
		if containsWords(normWords(a.label), q) {
			hit[a.class] = true
		}
	}
	var s float32
	for c := range hit {
		if c < len(probs) {
			s += probs[c]
		}
	}
	return s
}

func normWords(s string) string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
	return strings.Join(f, " ")
}

// containsWords reports whether q occurs in s on word boundaries, allowing
// a plural "s" on either side ("sunglass" ~ "sunglasses").
func containsWords(s, q string) bool {
	if s == q || s == q+"s" || s+"s" == q {
		return true
	}
	padded := " " + s + " "
	return strings.Contains(padded, " "+q+" ") || strings.Contains(padded, " "+q+"s ")
}
