// Package groundtruth defines the labelled-video ground truth format
// (schema "vitrine.groundtruth/v1") written by eval/gen and read by the
// scorers in eval/score. The format is documented in eval/README.md.
package groundtruth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// Schema is the value of the "schema" field of a ground truth document.
const Schema = "vitrine.groundtruth/v1"

// Transition types of a shot's start.
const (
	TransitionNone     = "none" // the first shot of a video
	TransitionCut      = "cut"
	TransitionFade     = "fade" // fade out to black or white, then fade in
	TransitionDissolve = "dissolve"
	TransitionWipe     = "wipe" // the next shot sweeps or slides in over the last
)

// Video is the ground truth of one labelled video.
type Video struct {
	Schema string `json:"schema"`
	// Video is the file name of the video, relative to the ground truth file.
	Video  string  `json:"video"`
	FPS    float64 `json:"fps"`
	Frames int     `json:"frames"`
	Width  int     `json:"width,omitempty"`
	Height int     `json:"height,omitempty"`
	// Seed and Generator record how a generated video was made.
	Seed      uint64 `json:"seed,omitempty"`
	Generator string `json:"generator,omitempty"`
	// Catalog names the catalog the product ids refer to.
	Catalog string `json:"catalog,omitempty"`
	// Negative marks a video known to show no catalog product at all.
	Negative bool   `json:"negative,omitempty"`
	Shots    []Shot `json:"shots"`
	Items    []Item `json:"items"`
}

// Shot is one shot. Frames are 0-based and inclusive.
type Shot struct {
	StartFrame   int    `json:"start_frame"`
	EndFrame     int    `json:"end_frame"`
	TransitionIn string `json:"transition_in"`
	// TransitionFrames is the inclusive frame span of a gradual transition
	// into this shot ([first, last]); empty for cuts and the first shot.
	TransitionFrames []int `json:"transition_frames,omitempty"`
}

// Item is one on-screen appearance of a catalog product.
type Item struct {
	ProductID string `json:"product_id"`
	// StartS and EndS bound the appearance in seconds: StartS is the time of
	// its first frame, EndS the time just after its last frame.
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// Shot is the index of the shot the item appears in.
	Shot int `json:"shot"`
	// Occluded is the largest fraction of the product box hidden by an
	// occluder in any frame (0 when never occluded).
	Occluded float64 `json:"occluded,omitempty"`
	Boxes    []Box   `json:"boxes"`
	// Strengths, for generators that alter the product's look, records how
	// strongly each alteration was applied, by name, in 0..1 (0: not at
	// all). The re-shot set names warp, tilt, relight, occlusion, blur,
	// jpeg, scale and mirror.
	Strengths map[string]float64 `json:"strengths,omitempty"`
}

// Box is the product's full (amodal) extent at time T, normalised to 0..1 of
// the frame width and height and clipped to the frame.
type Box struct {
	T float64 `json:"t"`
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// DurationS is the video duration in seconds.
func (v *Video) DurationS() float64 {
	if v.FPS <= 0 {
		return 0
	}
	return float64(v.Frames) / v.FPS
}

// Boundaries returns the shot boundaries (every shot but the first).
func (v *Video) Boundaries() []Shot {
	if len(v.Shots) < 2 {
		return nil
	}
	return v.Shots[1:]
}

// Validate reports the first structural problem of v.
func (v *Video) Validate() error {
	if v.Schema != Schema {
		return fmt.Errorf("groundtruth: schema %q, want %q", v.Schema, Schema)
	}
	if v.FPS <= 0 {
		return fmt.Errorf("groundtruth: fps %v must be positive", v.FPS)
	}
	if v.Frames <= 0 {
		return fmt.Errorf("groundtruth: frames %d must be positive", v.Frames)
	}
	next := 0
	for i, s := range v.Shots {
		if s.StartFrame != next {
			return fmt.Errorf("groundtruth: shot %d starts at frame %d, want %d (shots must tile the video)", i, s.StartFrame, next)
		}
		if s.EndFrame < s.StartFrame {
			return fmt.Errorf("groundtruth: shot %d ends (%d) before it starts (%d)", i, s.EndFrame, s.StartFrame)
		}
		switch s.TransitionIn {
		case TransitionNone, TransitionCut, TransitionFade, TransitionDissolve, TransitionWipe:
		default:
			return fmt.Errorf("groundtruth: shot %d: unknown transition %q", i, s.TransitionIn)
		}
		if len(s.TransitionFrames) != 0 && (len(s.TransitionFrames) != 2 || s.TransitionFrames[1] < s.TransitionFrames[0]) {
			return fmt.Errorf("groundtruth: shot %d: transition_frames must be [first, last]", i)
		}
		next = s.EndFrame + 1
	}
	if len(v.Shots) > 0 && next != v.Frames {
		return fmt.Errorf("groundtruth: shots end at frame %d, video has %d frames", next-1, v.Frames)
	}
	for i, it := range v.Items {
		if it.ProductID == "" {
			return fmt.Errorf("groundtruth: item %d has no product_id", i)
		}
		if it.EndS <= it.StartS {
			return fmt.Errorf("groundtruth: item %d (%s): end_s %v not after start_s %v", i, it.ProductID, it.EndS, it.StartS)
		}
		for j, b := range it.Boxes {
			if b.W < 0 || b.H < 0 || b.X < 0 || b.Y < 0 || b.X+b.W > 1+1e-5 || b.Y+b.H > 1+1e-5 {
				return fmt.Errorf("groundtruth: item %d box %d outside the unit square: %+v", i, j, b)
			}
		}
		if !sort.SliceIsSorted(it.Boxes, func(a, b int) bool { return it.Boxes[a].T < it.Boxes[b].T }) {
			return fmt.Errorf("groundtruth: item %d boxes not sorted by t", i)
		}
	}
	return nil
}

// Decode reads and validates a ground truth document.
func Decode(r io.Reader) (*Video, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var v Video
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("groundtruth: decode: %w", err)
	}
	if err := v.Validate(); err != nil {
		return nil, err
	}
	return &v, nil
}

// Load reads and validates the ground truth file at path.
func Load(path string) (*Video, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("groundtruth: load: %w", err)
	}
	v, err := Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return v, nil
}

// Encode writes v as indented JSON. Encoding is deterministic: the same
// value always gives the same bytes.
func Encode(w io.Writer, v *Video) error {
	if v == nil {
		return errors.New("groundtruth: encode: nil video")
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("groundtruth: encode: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("groundtruth: encode: %w", err)
	}
	return nil
}

// BoxAt returns the item's box nearest to time t, and false when t is
// outside the item's span or it has no boxes.
func (it *Item) BoxAt(t float64) (Box, bool) {
	if len(it.Boxes) == 0 || t < it.StartS || t >= it.EndS {
		return Box{}, false
	}
	i := sort.Search(len(it.Boxes), func(i int) bool { return it.Boxes[i].T >= t })
	switch {
	case i == 0:
		return it.Boxes[0], true
	case i == len(it.Boxes):
		return it.Boxes[i-1], true
	}
	if t-it.Boxes[i-1].T <= it.Boxes[i].T-t {
		return it.Boxes[i-1], true
	}
	return it.Boxes[i], true
}
