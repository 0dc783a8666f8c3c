// Package confidence turns the evidence about a candidate item (how well
// its crops match the best product, how clearly that product stands out,
// how long and how consistently it was seen, what kind of box found it)
// into a calibrated probability that the product is really what is on
// screen, and decides what a viewer sees: published items, items that
// wait for a reviewer, and candidates that are dropped.
//
// The probability comes from a Model fitted on labelled data (Fit): a
// logistic regression on standardised features, with the sign of the
// features that are evidence for a match held fixed so more evidence never
// lowers the confidence, followed by isotonic regression of the outcome on
// the linear score. Models are plain JSON files (Marshal, Parse); the one
// vitrine ships is Default, refitted by `vitrine bench calibrate`.
package confidence

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
)

// Features is the named evidence about one candidate item. Missing names
// count as the training mean (a neutral value).
type Features map[string]float64

// Decisions about a candidate item.
const (
	Publish = "published"    // shown by players
	Review  = "needs_review" // listed first in the review console, not shown
	Drop    = "dropped"      // not an item: kept in the database for re-matching only
)

// Model is a fitted calibration.
type Model struct {
	// Version names the fit; documents do not carry it, the bench report
	// does.
	Version string `json:"version"`
	// Note says what the model was fitted on.
	Note string `json:"note,omitempty"`
	// Features are the inputs in order, with their training mean and
	// standard deviation, weight on the standardised value and the sign
	// the fit was held to (+1 evidence for a match, -1 against, 0 free).
	Features []Feature `json:"features"`
	Bias     float64   `json:"bias"`
	// IsoX (ascending linear scores) and IsoY (non-decreasing
	// probabilities) are the isotonic map, interpolated linearly between
	// points and held constant beyond the ends.
	IsoX []float64 `json:"iso_x"`
	IsoY []float64 `json:"iso_y"`
	// PublishAt is the lowest confidence that is published without a
	// reviewer; ReviewAt the lowest that is kept for review.
	PublishAt float64 `json:"publish_at"`
	ReviewAt  float64 `json:"review_at"`
	// Fit reports how the model did on its own data.
	Fit FitReport `json:"fit"`
}

// Feature is one model input.
type Feature struct {
	Name   string  `json:"name"`
	Mean   float64 `json:"mean"`
	SD     float64 `json:"sd"`
	Weight float64 `json:"weight"`
	Sign   int     `json:"sign,omitempty"`
}

// FitReport summarises a fit.
type FitReport struct {
	Samples   int `json:"samples"`
	Positives int `json:"positives"`
	// TargetPrecision is what PublishAt was chosen for; Precision and
	// Recall are those of the published samples (held out when the fit
	// cross-validated) at PublishAt.
	TargetPrecision float64 `json:"target_precision"`
	Precision       float64 `json:"precision"`
	Recall          float64 `json:"recall"`
	// LogLoss is the mean negative log-likelihood of the calibrated
	// probabilities.
	LogLoss float64 `json:"log_loss"`
}

// Linear returns the model's linear score of f (before the isotonic map).
func (m *Model) Linear(f Features) float64 {
	s := m.Bias
	for _, ft := range m.Features {
		v, ok := f.Value(ft.Name)
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue // the mean: contributes 0
		}
		s += ft.Weight * (v - ft.Mean) / ft.SD
	}
	return s
}

// Confidence returns the calibrated probability that the candidate's
// product is right.
func (m *Model) Confidence(f Features) float64 {
	return m.iso(m.Linear(f))
}

func (m *Model) iso(x float64) float64 {
	n := len(m.IsoX)
	switch {
	case n == 0:
		return 1 / (1 + math.Exp(-x))
	case x <= m.IsoX[0]:
		return m.IsoY[0]
	case x >= m.IsoX[n-1]:
		return m.IsoY[n-1]
	}
	i := sort.SearchFloat64s(m.IsoX, x) // IsoX[i-1] < x <= IsoX[i]
	x0, x1, y0, y1 := m.IsoX[i-1], m.IsoX[i], m.IsoY[i-1], m.IsoY[i]
	if x1 == x0 {
		return y1
	}
	return y0 + (y1-y0)*(x-x0)/(x1-x0)
}

// Decide returns what happens to a candidate of confidence c under the
// model's thresholds, or under publishAt/reviewAt when they are positive.
func (m *Model) Decide(c, publishAt, reviewAt float64) string {
	if publishAt <= 0 {
		publishAt = m.PublishAt
	}
	if reviewAt <= 0 {
		reviewAt = m.ReviewAt
	}
	switch {
	case c >= publishAt:
		return Publish
	case c >= reviewAt:
		return Review
	}
	return Drop
}

// Validate checks that a model is usable.
func (m *Model) Validate() error {
	if len(m.Features) == 0 {
		return errors.New("confidence: model has no features")
	}
	seen := map[string]bool{}
	for _, f := range m.Features {
		if f.Name == "" || seen[f.Name] {
			return fmt.Errorf("confidence: feature name %q empty or repeated", f.Name)
		}
		seen[f.Name] = true
		if !(f.SD > 0) || math.IsNaN(f.Mean) || math.IsNaN(f.Weight) {
			return fmt.Errorf("confidence: feature %q has sd %v, mean %v, weight %v", f.Name, f.SD, f.Mean, f.Weight)
		}
	}
	if len(m.IsoX) != len(m.IsoY) {
		return errors.New("confidence: isotonic map has unequal lengths")
	}
	for i := range m.IsoX {
		if m.IsoY[i] < 0 || m.IsoY[i] > 1 || i > 0 && (m.IsoX[i] < m.IsoX[i-1] || m.IsoY[i] < m.IsoY[i-1]) {
			return errors.New("confidence: isotonic map is not monotone within 0..1")
		}
	}
	if m.PublishAt <= 0 || m.PublishAt > 1 || m.ReviewAt < 0 || m.ReviewAt > m.PublishAt {
		return fmt.Errorf("confidence: thresholds publish %v, review %v outside 0 <= review <= publish <= 1", m.PublishAt, m.ReviewAt)
	}
	return nil
}

// Marshal encodes the model as indented JSON.
func (m *Model) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("confidence: encode model: %w", err)
	}
	return append(b, '\n'), nil
}

// Parse decodes and validates a model.
func Parse(b []byte) (*Model, error) {
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("confidence: decode model: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Load reads a model file.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("confidence: %w", err)
	}
	m, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

//go:embed calibration.json
var defaultModel []byte

//go:embed live_calibration.json
var defaultLiveModel []byte

// Default returns the calibration shipped with vitrine (calibration.json
// in this package, written by `vitrine bench calibrate`).
func Default() *Model {
	m, err := Parse(defaultModel)
	if err != nil {
		panic("confidence: shipped calibration.json: " + err.Error())
	}
	return m
}

// DefaultLive returns the calibration of live streams' items shipped with
// vitrine (live_calibration.json, written by `vitrine bench calibrate
// --live`): fitted on the evidence a stream's analyser has each time it
// matches a track, a track's first detections included.
func DefaultLive() *Model {
	m, err := Parse(defaultLiveModel)
	if err != nil {
		panic("confidence: shipped live_calibration.json: " + err.Error())
	}
	return m
}
