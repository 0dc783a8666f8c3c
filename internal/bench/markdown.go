package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// WriteMarkdown writes r as a human-readable report.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# vitrine bench report\n\n")
	fmt.Fprintf(&b, "Run %s, took %s. Machine-readable copy: `report.json` (schema `%s`).\n\n",
		r.Started.UTC().Format(time.RFC3339), (time.Duration(r.DurationS * float64(time.Second))).Round(time.Second), r.Schema)

	var heads [][]string
	for _, s := range r.Sections {
		for _, m := range s.Metrics {
			if m.Headline && s.Status == StatusOK {
				heads = append(heads, []string{s.Title, m.Name, FormatValue(m.Value, m.Unit)})
			}
		}
	}
	if len(heads) > 0 {
		b.WriteString("## Headline numbers\n\n")
		table(&b, []string{"suite", "metric", "value"}, heads)
	}

	b.WriteString("## Machine\n\n")
	m := r.Machine
	table(&b, []string{"", ""}, [][]string{
		{"CPU", m.CPU},
		{"cores (logical)", strconv.Itoa(m.Cores)},
		{"memory", FormatValue(float64(m.MemoryBytes)/(1<<30), "GiB")},
		{"OS", m.OS},
		{"kernel", m.Kernel},
		{"arch", m.Arch},
	})
	if len(r.Versions) > 0 {
		b.WriteString("## Versions\n\n")
		table(&b, []string{"component", "version"}, sortedPairs(r.Versions))
	}
	if len(r.Models) > 0 {
		b.WriteString("## Models\n\n")
		var rows [][]string
		for _, md := range r.Models {
			rows = append(rows, []string{md.Name, strconv.FormatInt(md.Bytes, 10), "`" + md.SHA256 + "`"})
		}
		table(&b, []string{"file", "bytes", "sha256"}, rows)
	}
	if len(r.Data) > 0 {
		b.WriteString("## Data\n\n")
		table(&b, []string{"input", "source"}, sortedPairs(r.Data))
	}
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "## %s\n\n", s.Title)
		fmt.Fprintf(&b, "Suite `%s`: **%s** in %s.", s.Name, s.Status, (time.Duration(s.ElapsedS * float64(time.Second))).Round(time.Millisecond))
		if s.Note != "" {
			fmt.Fprintf(&b, " %s", s.Note)
		}
		b.WriteString("\n\n")
		if s.Method != "" {
			fmt.Fprintf(&b, "%s\n\n", s.Method)
		}
		if len(s.Metrics) > 0 {
			var rows [][]string
			for _, m := range s.Metrics {
				rows = append(rows, []string{m.Name, FormatValue(m.Value, m.Unit)})
			}
			table(&b, []string{"metric", "value"}, rows)
		}
		for _, t := range s.Tables {
			fmt.Fprintf(&b, "**%s**\n\n", t.Title)
			table(&b, t.Columns, t.Rows)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("bench: write markdown: %w", err)
	}
	return nil
}

// FormatValue renders a number with its unit, with precision suited to
// its size.
func FormatValue(v float64, unit string) string {
	var s string
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e15:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 3, 64)
	}
	if unit == "" {
		return s
	}
	return s + " " + unit
}

func table(b *strings.Builder, cols []string, rows [][]string) {
	esc := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }
	b.WriteString("|")
	for _, c := range cols {
		b.WriteString(" " + esc(c) + " |")
	}
	b.WriteString("\n|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("|")
		for i := range cols {
			c := ""
			if i < len(r) {
				c = r[i]
			}
			b.WriteString(" " + esc(c) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func sortedPairs(m map[string]string) [][]string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]string, len(keys))
	for i, k := range keys {
		out[i] = []string{k, m[k]}
	}
	return out
}
