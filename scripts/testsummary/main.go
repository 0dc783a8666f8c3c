// Command testsummary reads `go test -json` on stdin and prints one line per
// test, the output of failed tests, skip reasons, and a final line
// "N passed, N failed, N skipped". It exits 1 when anything failed
// (including packages that did not build).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	failed, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

func summarize(in io.Reader, out io.Writer) (bool, error) {
	var passed, failed, skipped int
	output := map[string][]string{} // package/test → lines
	pkgFailed := map[string]bool{}
	pkgTestFailed := map[string]bool{}
	var failures []string
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintln(out, string(line)) // build errors and other plain text
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output", "build-output":
			output[key] = append(output[key], e.Output)
		case "pass":
			if e.Test != "" {
				passed++
				fmt.Fprintf(out, "PASS  %s %s (%.2fs)\n", short(e.Package), e.Test, e.Elapsed)
			} else {
				fmt.Fprintf(out, "ok    %s (%.1fs)\n", e.Package, e.Elapsed)
			}
		case "skip":
			if e.Test != "" {
				skipped++
				fmt.Fprintf(out, "SKIP  %s %s: %s\n", short(e.Package), e.Test, skipReason(output[key]))
			}
		case "fail":
			if e.Test != "" {
				failed++
				pkgTestFailed[e.Package] = true
				fmt.Fprintf(out, "FAIL  %s %s (%.2fs)\n", short(e.Package), e.Test, e.Elapsed)
				failures = append(failures, key)
			} else {
				pkgFailed[e.Package] = true
				fmt.Fprintf(out, "FAIL  %s\n", e.Package)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	// A package that failed without a failing test did not build, or
	// crashed outside a test: count it once.
	var broken []string
	for p := range pkgFailed {
		if !pkgTestFailed[p] {
			broken = append(broken, p)
		}
	}
	sort.Strings(broken)
	failed += len(broken)
	if len(failures)+len(broken) > 0 {
		fmt.Fprintln(out, "\n=== failures")
		for _, k := range failures {
			fmt.Fprintf(out, "--- %s\n%s", k, strings.Join(output[k], ""))
		}
		for _, p := range broken {
			fmt.Fprintf(out, "--- %s (package failed)\n%s", p, strings.Join(output[p+" "], ""))
		}
	}
	fmt.Fprintf(out, "\n%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return failed > 0, nil
}

func short(pkg string) string {
	if i := strings.Index(pkg, "/internal/"); i >= 0 {
		return pkg[i+1:]
	}
	if i := strings.Index(pkg, "/cmd/"); i >= 0 {
		return pkg[i+1:]
	}
	return pkg
}

// skipReason is the t.Skip message: the last output line that is not the
// "--- SKIP" / "=== RUN" bookkeeping.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "===") {
			continue
		}
		return l
	}
	return "(no reason given)"
}
