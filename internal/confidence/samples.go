package confidence

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// sampleLine is one sample as a line of JSON.
type sampleLine struct {
	Features Features `json:"features"`
	Right    bool     `json:"right"`
	Group    string   `json:"group"`
}

// WriteSamples writes samples as JSON lines ({"features", "right",
// "group"}), the form ReadSamples reads.
func WriteSamples(w io.Writer, samples []Sample) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, s := range samples {
		if err := enc.Encode(sampleLine{s.Features, s.Right, s.Group}); err != nil {
			return fmt.Errorf("confidence: write samples: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("confidence: write samples: %w", err)
	}
	return nil
}

// maxSampleLine bounds one line of a samples file: a sample has a few
// dozen features.
const maxSampleLine = 1 << 20

// ReadSamples reads samples written by WriteSamples. A line that is not a
// sample, or has a feature that is not a finite number, is an error that
// names the line; blank lines are skipped.
func ReadSamples(r io.Reader) ([]Sample, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxSampleLine)
	var out []Sample
	for n := 1; sc.Scan(); n++ {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var l sampleLine
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("confidence: samples line %d: %w", n, err)
		}
		if len(l.Features) == 0 {
			return nil, fmt.Errorf("confidence: samples line %d: no features", n)
		}
		for k, v := range l.Features {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("confidence: samples line %d: feature %q is %v", n, k, v)
			}
		}
		out = append(out, Sample{Features: l.Features, Right: l.Right, Group: l.Group})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("confidence: samples: a line longer than %d bytes", maxSampleLine)
		}
		return nil, fmt.Errorf("confidence: samples: %w", err)
	}
	return out, nil
}

// LoadSamples reads a samples file, gzip-compressed when its name ends in
// .gz.
func LoadSamples(path string) ([]Sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		defer z.Close()
		r = z
	}
	return ReadSamples(r)
}
