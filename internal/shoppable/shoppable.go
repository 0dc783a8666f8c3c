// Package shoppable assembles the vitrine.shoppable/v1 document of a video
// (its shots and the items seen in them, with normalised boxes over time and
// ranked product matches), validates it against the JSON Schema in
// schema/shoppable.v1.json, and renders it as a WebVTT metadata track.
package shoppable

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/vitrine-dev/vitrine/schema"
)

// SchemaName is the value of the document's "schema" field.
const SchemaName = "vitrine.shoppable/v1"

// Transitions into a shot.
const (
	TransitionNone     = "none"
	TransitionCut      = "cut"
	TransitionFade     = "fade"
	TransitionDissolve = "dissolve"
	TransitionWipe     = "wipe"
)

// Review states of an item.
const (
	ReviewAuto     = "auto"
	ReviewApproved = "approved"
	ReviewRejected = "rejected"
	ReviewReplaced = "replaced"
)

// Document is one version of a video's shoppable metadata.
type Document struct {
	Schema      string    `json:"schema"`
	Version     int       `json:"version"`
	GeneratedAt time.Time `json:"generated_at"`
	Video       Video     `json:"video"`
	Models      Models    `json:"models"`
	Shots       []Shot    `json:"shots"`
	Items       []Item    `json:"items"`
}

// Video describes the analysed video.
type Video struct {
	ID        string  `json:"id"`
	DurationS float64 `json:"duration_s"`
	Width     int     `json:"width"`
	Height    int     `json:"height"`
	FPS       float64 `json:"fps"`
}

// Models names the models and catalog version the document was made with.
type Models struct {
	Detector       string `json:"detector"`
	Embedder       string `json:"embedder"`
	Appearance     string `json:"appearance,omitempty"`
	CatalogVersion string `json:"catalog_version"`
}

// Shot is one shot of the video; Transition says how it begins.
type Shot struct {
	Index      int      `json:"index"`
	StartS     float64  `json:"start_s"`
	EndS       float64  `json:"end_s"`
	Transition string   `json:"transition"`
	KeyframeS  *float64 `json:"keyframe_s,omitempty"`
	Keyframe   string   `json:"keyframe,omitempty"`
}

// Item is one tracked object: where it is on screen over time and which
// products it matches. Empty Matches means no product was close enough.
type Item struct {
	ID      string  `json:"id"`
	Label   string  `json:"label"`
	Shot    int     `json:"shot"`
	StartS  float64 `json:"start_s"`
	EndS    float64 `json:"end_s"`
	Boxes   []Box   `json:"boxes"`
	Matches []Match `json:"matches"`
	Review  string  `json:"review"`
	// Confidence is the calibrated probability that the item's product
	// (the reviewer's choice, else the best match) is what is on screen.
	Confidence *float64 `json:"confidence,omitempty"`
	// Status says whether players show the item (StatusPublished) or it
	// waits for a reviewer (StatusNeedsReview). Empty in documents made
	// before statuses existed, which players treat as published.
	Status    string `json:"status,omitempty"`
	ProductID string `json:"product_id,omitempty"`
}

// Item statuses: what a player does with an item.
const (
	StatusPublished   = "published"
	StatusNeedsReview = "needs_review"
)

// Product is the product an item sells: a reviewer's choice, else its best
// match ("" when it has neither).
func (it Item) Product() string {
	if it.ProductID != "" {
		return it.ProductID
	}
	if len(it.Matches) > 0 {
		return it.Matches[0].ProductID
	}
	return ""
}

// Shown reports whether a player shows the item: published (or made
// before statuses existed) and not rejected by a reviewer.
func (it Item) Shown() bool {
	return it.Review != ReviewRejected && (it.Status == "" || it.Status == StatusPublished)
}

// Box is an item's box at time T, normalised to the frame (0..1): X, Y is
// the top-left corner.
type Box struct {
	T float64 `json:"t"`
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// Match is one ranked product candidate with a score in 0..1.
type Match struct {
	ProductID string  `json:"product_id"`
	Score     float64 `json:"score"`
}

// NormBox converts a pixel box (x0,y0)-(x1,y1) in a width x height frame to
// a normalised Box at time t, clipped to the frame.
func NormBox(t, x0, y0, x1, y1 float64, width, height int) Box {
	w, h := float64(width), float64(height)
	cx0, cx1 := clamp01(x0/w), clamp01(x1/w)
	cy0, cy1 := clamp01(y0/h), clamp01(y1/h)
	if cx1 < cx0 {
		cx0, cx1 = cx1, cx0
	}
	if cy1 < cy0 {
		cy0, cy1 = cy1, cy0
	}
	return Box{T: round(t, 3), X: round(cx0, 4), Y: round(cy0, 4), W: round(cx1-cx0, 4), H: round(cy1-cy0, 4)}
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// Normalize puts the document in canonical form: schema name set, shots
// sorted by index, items sorted by start time, boxes by time, matches best
// first, and empty slices instead of nil so they encode as [].
func (d *Document) Normalize() {
	d.Schema = SchemaName
	if d.Shots == nil {
		d.Shots = []Shot{}
	}
	if d.Items == nil {
		d.Items = []Item{}
	}
	sort.SliceStable(d.Shots, func(i, j int) bool { return d.Shots[i].Index < d.Shots[j].Index })
	for i := range d.Items {
		it := &d.Items[i]
		if it.Review == "" {
			it.Review = ReviewAuto
		}
		if it.Matches == nil {
			it.Matches = []Match{}
		}
		sort.SliceStable(it.Boxes, func(a, b int) bool { return it.Boxes[a].T < it.Boxes[b].T })
		sort.SliceStable(it.Matches, func(a, b int) bool { return it.Matches[a].Score > it.Matches[b].Score })
	}
	sort.SliceStable(d.Items, func(i, j int) bool {
		a, b := d.Items[i], d.Items[j]
		if a.StartS != b.StartS {
			return a.StartS < b.StartS
		}
		return a.ID < b.ID
	})
}

// Check verifies the rules the JSON Schema cannot express: spans are
// ordered, items refer to existing shots, ids are unique, boxes lie inside
// the frame and inside their item's time span.
func (d *Document) Check() error {
	var errs []error
	shots := map[int]Shot{}
	for _, s := range d.Shots {
		if _, dup := shots[s.Index]; dup {
			errs = append(errs, fmt.Errorf("shot %d appears twice", s.Index))
		}
		shots[s.Index] = s
		if s.EndS < s.StartS {
			errs = append(errs, fmt.Errorf("shot %d ends (%.3fs) before it starts (%.3fs)", s.Index, s.EndS, s.StartS))
		}
	}
	ids := map[string]bool{}
	const eps = 1e-3
	for _, it := range d.Items {
		if ids[it.ID] {
			errs = append(errs, fmt.Errorf("item id %q appears twice", it.ID))
		}
		ids[it.ID] = true
		if it.EndS < it.StartS {
			errs = append(errs, fmt.Errorf("item %s ends before it starts", it.ID))
		}
		s, ok := shots[it.Shot]
		if !ok {
			errs = append(errs, fmt.Errorf("item %s refers to missing shot %d", it.ID, it.Shot))
		} else if it.StartS < s.StartS-eps || it.EndS > s.EndS+eps {
			errs = append(errs, fmt.Errorf("item %s (%.3f-%.3fs) lies outside shot %d (%.3f-%.3fs)", it.ID, it.StartS, it.EndS, s.Index, s.StartS, s.EndS))
		}
		for _, b := range it.Boxes {
			if b.X+b.W > 1+eps || b.Y+b.H > 1+eps {
				errs = append(errs, fmt.Errorf("item %s box at %.3fs leaves the frame", it.ID, b.T))
			}
			if b.T < it.StartS-eps || b.T > it.EndS+eps {
				errs = append(errs, fmt.Errorf("item %s box at %.3fs lies outside the item's span", it.ID, b.T))
			}
		}
		for k := 1; k < len(it.Matches); k++ {
			if it.Matches[k].Score > it.Matches[k-1].Score {
				errs = append(errs, fmt.Errorf("item %s matches are not ranked best first", it.ID))
				break
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("shoppable: invalid document: %w", errors.Join(errs...))
	}
	return nil
}

// Marshal normalises d, checks it, and encodes it as indented JSON that
// validates against the schema.
func (d *Document) Marshal() ([]byte, error) {
	d.Normalize()
	if err := d.Check(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("shoppable: encode: %w", err)
	}
	if err := Validate(b); err != nil {
		return nil, err
	}
	return b, nil
}

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.ShoppableV1))
	if err != nil {
		return nil, fmt.Errorf("shoppable: parse schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schema.ShoppableV1ID, doc); err != nil {
		return nil, fmt.Errorf("shoppable: load schema: %w", err)
	}
	s, err := c.Compile(schema.ShoppableV1ID)
	if err != nil {
		return nil, fmt.Errorf("shoppable: compile schema: %w", err)
	}
	return s, nil
})

// Validate checks that b is a JSON document valid against the
// vitrine.shoppable/v1 schema.
func Validate(b []byte) error {
	s, err := compiled()
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("shoppable: validate: not JSON: %w", err)
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("shoppable: validate: %w", err)
	}
	return nil
}

// Parse decodes and validates a vitrine.shoppable/v1 document.
func Parse(b []byte) (*Document, error) {
	if err := Validate(b); err != nil {
		return nil, err
	}
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("shoppable: decode: %w", err)
	}
	if err := d.Check(); err != nil {
		return nil, err
	}
	return &d, nil
}
