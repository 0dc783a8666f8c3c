// Package score compares vitrine's output with labelled ground truth
// (eval/groundtruth): shot boundaries, items found in time, retrieval rank,
// false matches per minute and box IoU. It depends on nothing but the ground
// truth format and reads the predicted side as the shoppable JSON document.
package score

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Prediction is the subset of a "vitrine.shoppable/v1" document the scorers
// read. Unknown fields are ignored so the document may grow.
type Prediction struct {
	Schema string     `json:"schema"`
	Video  PredVideo  `json:"video"`
	Shots  []PredShot `json:"shots"`
	Items  []PredItem `json:"items"`
}

// PredVideo describes the predicted video.
type PredVideo struct {
	ID        string  `json:"id"`
	DurationS float64 `json:"duration_s"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	FPS       float64 `json:"fps"`
}

// PredShot is one predicted shot.
type PredShot struct {
	Index      int     `json:"index"`
	StartS     float64 `json:"start_s"`
	EndS       float64 `json:"end_s"`
	Transition string  `json:"transition"`
}

// PredItem is one predicted item (a tracked object with its catalog matches).
type PredItem struct {
	ID      string    `json:"id"`
	Label   string    `json:"label"`
	Shot    int       `json:"shot"`
	StartS  float64   `json:"start_s"`
	EndS    float64   `json:"end_s"`
	Boxes   []PredBox `json:"boxes"`
	Matches []Match   `json:"matches"`
	// Review, Status and Confidence are the publish decision (absent in
	// older documents: every item shown).
	Review     string   `json:"review,omitempty"`
	Status     string   `json:"status,omitempty"`
	Confidence *float64 `json:"confidence,omitempty"`
}

// Shown reports whether a player shows the item: not rejected by a
// reviewer, and published or from a document without statuses.
func (it PredItem) Shown() bool {
	return it.Review != "rejected" && (it.Status == "" || it.Status == "published")
}

// Shown returns a copy of p with only the items a player shows.
func (p *Prediction) Shown() *Prediction {
	return p.filter(PredItem.Shown)
}

// AtConfidence returns a copy of p with only the items whose confidence
// is at least c (items without one are kept): what a publish threshold of
// c would show.
func (p *Prediction) AtConfidence(c float64) *Prediction {
	return p.filter(func(it PredItem) bool { return it.Confidence == nil || *it.Confidence >= c })
}

func (p *Prediction) filter(keep func(PredItem) bool) *Prediction {
	out := *p
	out.Items = nil
	for _, it := range p.Items {
		if keep(it) {
			out.Items = append(out.Items, it)
		}
	}
	return &out
}

// PredBox is a normalised box at time T.
type PredBox struct {
	T float64 `json:"t"`
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// Match is a catalog product proposed for an item, best first.
type Match struct {
	ProductID string  `json:"product_id"`
	Score     float64 `json:"score"`
}

// DecodePrediction reads a shoppable JSON document.
func DecodePrediction(r io.Reader) (*Prediction, error) {
	var p Prediction
	if err := json.NewDecoder(r).Decode(&p); err != nil {
		return nil, fmt.Errorf("score: decode prediction: %w", err)
	}
	if p.Schema != "" && p.Schema != "vitrine.shoppable/v1" {
		return nil, fmt.Errorf("score: decode prediction: schema %q, want vitrine.shoppable/v1", p.Schema)
	}
	for i, it := range p.Items {
		if it.EndS < it.StartS {
			return nil, fmt.Errorf("score: decode prediction: item %d (%s) ends before it starts", i, it.ID)
		}
	}
	return &p, nil
}

// LoadPrediction reads the shoppable JSON file at path.
func LoadPrediction(path string) (*Prediction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("score: load prediction: %w", err)
	}
	defer f.Close()
	return DecodePrediction(f)
}
