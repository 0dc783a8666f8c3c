// Package bench measures vitrine on a machine and its data — accuracy
// against labelled sets (eval/) and speed of every stage — and writes the
// result as a Markdown report and a JSON file.
//
// A suite is a function that fills one Section of the Report. Suites reach
// the rest of vitrine only through the small interfaces declared here, so
// the command line wires in the real pipeline, index and API server.
package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

// Schema is the value of Report.Schema.
const Schema = "vitrine.bench/v1"

// Report is the outcome of one `vitrine bench` run.
type Report struct {
	Schema    string            `json:"schema"`
	Started   time.Time         `json:"started"`
	DurationS float64           `json:"duration_s"`
	Machine   Machine           `json:"machine"`
	Versions  map[string]string `json:"versions"`
	Models    []Model           `json:"models"`
	// Data names the inputs (catalog, videos) without machine paths.
	Data     map[string]string `json:"data,omitempty"`
	Sections []*Section        `json:"sections"`
}

// Section statuses.
const (
	StatusOK      = "ok"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
)

// Section is what one suite measured.
type Section struct {
	Name     string   `json:"name"`
	Title    string   `json:"title"`
	Status   string   `json:"status"`
	Note     string   `json:"note,omitempty"`
	ElapsedS float64  `json:"elapsed_s"`
	Metrics  []Metric `json:"metrics"`
	Tables   []Table  `json:"tables,omitempty"`
	// Method says in a sentence or two how the numbers were obtained.
	Method string `json:"method,omitempty"`
}

// Metric is one number.
type Metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	// Headline metrics are repeated in the report's summary.
	Headline bool `json:"headline,omitempty"`
}

// Table is a small result table (per video, per stage, …).
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
}

// Add appends a metric. NaN and infinite values are stored as 0 so the
// JSON stays valid.
func (s *Section) Add(name string, value float64, unit string) *Section {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		value = 0
	}
	s.Metrics = append(s.Metrics, Metric{Name: name, Value: value, Unit: unit})
	return s
}

// Headline appends a metric that also appears in the report summary.
func (s *Section) Headline(name string, value float64, unit string) *Section {
	s.Add(name, value, unit)
	s.Metrics[len(s.Metrics)-1].Headline = true
	return s
}

// Metric returns the named metric.
func (s *Section) Metric(name string) (Metric, bool) {
	for _, m := range s.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Section returns the named section, or nil.
func (r *Report) Section(name string) *Section {
	for _, s := range r.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode report: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("bench: write report: %w", err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("bench: decode report: %w", err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("bench: decode report: schema %q, want %q", r.Schema, Schema)
	}
	return &r, nil
}

// WriteFiles writes dir/REPORT.md and dir/report.json.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: create report directory: %w", err)
	}
	write := func(name string, fn func(io.Writer) error) error {
		tmp := filepath.Join(dir, "."+name+".tmp")
		f, err := os.Create(tmp)
		if err != nil {
			return fmt.Errorf("bench: write %s: %w", name, err)
		}
		if err := fn(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("bench: write %s: %w", name, err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("bench: write %s: %w", name, err)
		}
		return nil
	}
	if err := write("REPORT.md", r.WriteMarkdown); err != nil {
		return err
	}
	return write("report.json", r.WriteJSON)
}
