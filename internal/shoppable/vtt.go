package shoppable

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// CuePayload is the JSON text of one WebVTT metadata cue: the item on screen
// during the cue, its boxes and its best matches.
type CuePayload struct {
	Item      string  `json:"item"`
	Label     string  `json:"label"`
	Shot      int     `json:"shot"`
	ProductID string  `json:"product_id,omitempty"`
	Review    string  `json:"review"`
	Matches   []Match `json:"matches"`
	Boxes     []Box   `json:"boxes"`
}

// Cue is one parsed WebVTT cue.
type Cue struct {
	ID      string
	StartS  float64
	EndS    float64
	Payload string
}

// maxVTTMatches bounds the candidates repeated in each cue; the full list is
// in the JSON document.
const maxVTTMatches = 5

// WebVTT renders the document as a WebVTT metadata track (kind="metadata"):
// one cue per item spanning its time on screen, whose text is a one-line
// CuePayload JSON. Rejected items are left out.
func (d *Document) WebVTT() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("WEBVTT - " + SchemaName + " video " + oneLine(d.Video.ID) + "\n\n")
	for _, it := range d.Items {
		if it.Review == ReviewRejected {
			continue
		}
		p := CuePayload{Item: it.ID, Label: it.Label, Shot: it.Shot, Review: it.Review, Matches: it.Matches, Boxes: it.Boxes}
		if len(p.Matches) > maxVTTMatches {
			p.Matches = p.Matches[:maxVTTMatches]
		}
		if p.Matches == nil {
			p.Matches = []Match{}
		}
		switch {
		case it.ProductID != "":
			p.ProductID = it.ProductID
		case len(it.Matches) > 0:
			p.ProductID = it.Matches[0].ProductID
		}
		// json.Marshal escapes '>' so a payload can never contain "-->",
		// and it never emits a newline, so it cannot end the cue early.
		js, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("shoppable: encode cue %s: %w", it.ID, err)
		}
		end := it.EndS
		if end <= it.StartS {
			// A cue needs a positive duration to be shown at all.
			end = it.StartS + 0.001
		}
		fmt.Fprintf(&b, "%s\n%s --> %s\n%s\n\n", oneLine(it.ID), vttTime(it.StartS), vttTime(end), js)
	}
	return b.Bytes(), nil
}

func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ", "-->", "- ->").Replace(s)
}

func vttTime(s float64) string {
	ms := int64(math.Round(s * 1000))
	if ms < 0 {
		ms = 0
	}
	h := ms / 3600000
	m := ms / 60000 % 60
	sec := ms / 1000 % 60
	return fmt.Sprintf("%02d:%02d:%02d.%03d", h, m, sec, ms%1000)
}

// ParseVTTTime parses a WebVTT timestamp ([hh:]mm:ss.ttt) into seconds.
func ParseVTTTime(s string) (float64, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("shoppable: bad WebVTT timestamp %q", s)
	}
	secPart := parts[len(parts)-1]
	whole, frac, ok := strings.Cut(secPart, ".")
	if !ok || len(frac) != 3 || len(whole) != 2 {
		return 0, fmt.Errorf("shoppable: bad WebVTT timestamp %q", s)
	}
	var total float64
	for i, p := range parts[:len(parts)-1] {
		n, err := vttDigits(p)
		if err != nil || (i == len(parts)-2 && n > 59 && len(parts) == 3) {
			return 0, fmt.Errorf("shoppable: bad WebVTT timestamp %q", s)
		}
		total = total*60 + float64(n)
	}
	sec, err := vttDigits(whole)
	if err != nil || sec > 59 {
		return 0, fmt.Errorf("shoppable: bad WebVTT timestamp %q", s)
	}
	ms, err := vttDigits(frac)
	if err != nil {
		return 0, fmt.Errorf("shoppable: bad WebVTT timestamp %q", s)
	}
	return total*60 + float64(sec) + float64(ms)/1000, nil
}

// vttDigits parses a timestamp field, which WebVTT allows to hold ASCII
// digits only: strconv.Atoi alone would take signs such as "-10".
func vttDigits(s string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

// ParseVTT reads a WebVTT file and returns its cues in file order. NOTE,
// STYLE and REGION blocks are skipped.
func ParseVTT(r io.Reader) ([]Cue, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var lines []string
	for sc.Scan() {
		lines = append(lines, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("shoppable: read WebVTT: %w", err)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("shoppable: parse WebVTT: empty input")
	}
	head := strings.TrimPrefix(lines[0], "\ufeff")
	if head != "WEBVTT" && !strings.HasPrefix(head, "WEBVTT ") && !strings.HasPrefix(head, "WEBVTT\t") {
		return nil, fmt.Errorf("shoppable: parse WebVTT: missing WEBVTT header")
	}
	var cues []Cue
	i := 1
	// Skip the rest of the header block.
	for i < len(lines) && lines[i] != "" {
		i++
	}
	for i < len(lines) {
		if lines[i] == "" {
			i++
			continue
		}
		start := i
		for i < len(lines) && lines[i] != "" {
			i++
		}
		block := lines[start:i]
		first := block[0]
		if first == "NOTE" || strings.HasPrefix(first, "NOTE ") || strings.HasPrefix(first, "NOTE\t") || first == "STYLE" || first == "REGION" {
			continue
		}
		var c Cue
		timing := 0
		if !strings.Contains(first, "-->") {
			c.ID = first
			timing = 1
		}
		if timing >= len(block) || !strings.Contains(block[timing], "-->") {
			return nil, fmt.Errorf("shoppable: parse WebVTT line %d: expected a cue timing line", start+timing+1)
		}
		a, rest, _ := strings.Cut(block[timing], "-->")
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("shoppable: parse WebVTT line %d: missing cue end time", start+timing+1)
		}
		var err error
		if c.StartS, err = ParseVTTTime(strings.TrimSpace(a)); err != nil {
			return nil, fmt.Errorf("line %d: %w", start+timing+1, err)
		}
		if c.EndS, err = ParseVTTTime(fields[0]); err != nil {
			return nil, fmt.Errorf("line %d: %w", start+timing+1, err)
		}
		if c.EndS < c.StartS {
			return nil, fmt.Errorf("shoppable: parse WebVTT line %d: cue ends before it starts", start+timing+1)
		}
		c.Payload = strings.Join(block[timing+1:], "\n")
		cues = append(cues, c)
	}
	return cues, nil
}
