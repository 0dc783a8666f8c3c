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
