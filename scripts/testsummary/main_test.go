package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"x/internal/a","Test":"TestOK"}`,
		`{"Action":"pass","Package":"x/internal/a","Test":"TestOK","Elapsed":0.1}`,
		`{"Action":"output","Package":"x/internal/a","Test":"TestBad","Output":"    a_test.go:9: boom\n"}`,
		`{"Action":"fail","Package":"x/internal/a","Test":"TestBad","Elapsed":0.2}`,
		`{"Action":"output","Package":"x/internal/a","Test":"TestSkip","Output":"    a_test.go:12: models not found at ../m\n"}`,
		`{"Action":"output","Package":"x/internal/a","Test":"TestSkip","Output":"--- SKIP: TestSkip (0.00s)\n"}`,
		`{"Action":"skip","Package":"x/internal/a","Test":"TestSkip"}`,
		`{"Action":"fail","Package":"x/internal/a","Elapsed":1}`,
		`# x/internal/b`,
		`{"Action":"build-output","Package":"x/internal/b","Output":"b.go:1: syntax error\n"}`,
		`{"Action":"fail","Package":"x/internal/b","Elapsed":0}`,
	}, "\n")
	var out bytes.Buffer
	failed, err := summarize(strings.NewReader(in), &out)
	if err != nil || !failed {
		t.Fatalf("failed=%v err=%v", failed, err)
	}
	s := out.String()
	for _, want := range []string{"PASS  internal/a TestOK", "FAIL  internal/a TestBad", "boom", "SKIP  internal/a TestSkip: a_test.go:12: models not found at ../m", "# x/internal/b", "syntax error", "\n1 passed, 2 failed, 1 skipped\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	out.Reset()
	failed, _ = summarize(strings.NewReader(`{"Action":"pass","Package":"p","Test":"T"}`), &out)
	if failed || !strings.HasSuffix(out.String(), "1 passed, 0 failed, 0 skipped\n") {
		t.Errorf("all-pass run: failed=%v\n%s", failed, out.String())
	}
}
