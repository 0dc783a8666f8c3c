// Package videosearch finds where products appear across videos: given a
// set of products (a product id, or the catalog's answers to a text query)
// and optional label words, it returns each video with the time ranges of
// the items that sell one of those products or carry one of those labels,
// read from the videos' shoppable documents (review decisions included:
// rejected items are never found, replaced ones are found by their new
// product).
package videosearch

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vitrine-dev/vitrine/internal/shoppable"
)

// Query says what to look for.
type Query struct {
	// Products maps product ids to a relevance in 0..1.
	Products map[string]float64
	// Words are matched against item labels: a label is found when one of
	// its words (letters and digits, two or more) is one of the query's.
	Words []string
}

// Range is one appearance: an item on screen from StartS to EndS.
type Range struct {
	StartS    float64 `json:"start_s"`
	EndS      float64 `json:"end_s"`
	Shot      int     `json:"shot"`
	ItemID    string  `json:"item_id"`
	Label     string  `json:"label"`
	ProductID string  `json:"product_id,omitempty"`
	// Score is the product's relevance times the match score (1 for a
	// reviewer's choice), or 0.5 for a label-only hit.
	Score float64 `json:"score"`
}

// Hit is a video with its matching ranges, earliest first.
type Hit struct {
	VideoID string  `json:"video_id"`
	Score   float64 `json:"score"`
	Ranges  []Range `json:"ranges"`
}

// ProductOf is the product an item sells: none when rejected, the
// reviewer's choice, else the best match.
func ProductOf(it shoppable.Item) (string, float64) {
	switch {
	case it.Review == shoppable.ReviewRejected:
		return "", 0
	case it.ProductID != "":
		return it.ProductID, 1
	case len(it.Matches) > 0:
		return it.Matches[0].ProductID, it.Matches[0].Score
	}
	return "", 0
}

// Find searches docs and returns the videos with at least one range, best
// first (highest range score, then most ranges, then video id).
func Find(docs []*shoppable.Document, q Query) []Hit {
	words := map[string]bool{}
	for _, w := range q.Words {
		for _, tok := range tokens(w) {
			words[tok] = true
		}
	}
	var hits []Hit
	labels := map[string]bool{} // label -> matches a word, computed once per label
	for _, d := range docs {
		if d == nil {
			continue
		}
		h := Hit{VideoID: d.Video.ID}
		for _, it := range d.Items {
			if it.Review == shoppable.ReviewRejected {
				continue
			}
			r := Range{StartS: it.StartS, EndS: it.EndS, Shot: it.Shot, ItemID: it.ID, Label: it.Label}
			pid, ms := ProductOf(it)
			if rel, ok := q.Products[pid]; ok && pid != "" {
				r.ProductID, r.Score = pid, rel*ms
			} else if hit, seen := labels[it.Label]; hit || !seen && labelHit(it.Label, words, labels) {
				r.ProductID, r.Score = pid, 0.5
			} else {
				continue
			}
			h.Ranges = append(h.Ranges, r)
			h.Score = max(h.Score, r.Score)
		}
		if len(h.Ranges) == 0 {
			continue
		}
		sort.SliceStable(h.Ranges, func(i, j int) bool { return h.Ranges[i].StartS < h.Ranges[j].StartS })
		hits = append(hits, h)
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if len(a.Ranges) != len(b.Ranges) {
			return len(a.Ranges) > len(b.Ranges)
		}
		return a.VideoID < b.VideoID
	})
	return hits
}

// labelHit reports whether one of the label's words is a query word
// ("cell phone" is found by "phone") and remembers the answer in memo.
func labelHit(label string, words, memo map[string]bool) bool {
	hit := false
	if len(words) > 0 {
		for _, w := range tokens(label) {
			hit = hit || words[w]
		}
	}
	memo[label] = hit
	return hit
}

// tokens splits text into lower-case words of letters and digits, leaving
// out one-letter ones ("t-shirt" is "shirt").
func tokens(text string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if utf8.RuneCountInString(w) > 1 {
			out = append(out, w)
		}
	}
	return out
}
