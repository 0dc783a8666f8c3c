package bench

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/eval/gen"
	"github.com/vitrine-dev/vitrine/eval/groundtruth"
	"github.com/vitrine-dev/vitrine/eval/score"
	"github.com/vitrine-dev/vitrine/internal/testenv"
)

func TestMachineParsing(t *testing.T) {
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	if got := cpuModel(open("cpuinfo")); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := memTotal(open("meminfo")); got != 8131312*1024 {
		t.Errorf("memTotal = %d", got)
	}
	b, _ := os.ReadFile(filepath.Join("testdata", "os-release"))
	if got := osRelease(string(b)); got != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("osRelease = %q", got)
	}
	if got := cpuModel(strings.NewReader("garbage")); got != "" {
		t.Errorf("cpuModel(garbage) = %q", got)
	}
	m := DetectMachine()
	if m.Cores < 1 || m.Arch == "" || m.OS == "" {
		t.Errorf("DetectMachine() = %+v", m)
	}
}

func TestHashModels(t *testing.T) {
	dir := testenv.Models(t, "yolox_nano_coco_416.onnx")
	ms, err := HashModels(dir)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range ms {
		if m.Name == "yolox_nano_coco_416.onnx" {
			found = true
			if m.SHA256 != "d39bee73564e338080378b0ad567fbb40e818b55bbfaf971de82a0267ed16b8a" || m.Bytes != 3713911 {
				t.Errorf("yolox: %+v", m)
			}
		}
	}
	if !found {
		t.Errorf("yolox not listed: %+v", ms)
	}
	if _, err := HashModels(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("missing models directory accepted")
	}
}

func sampleReport() *Report {
	r := &Report{
		Schema: Schema, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), DurationS: 12.5,
		Machine:  Machine{CPU: "Test CPU", Cores: 2, MemoryBytes: 8 << 30, OS: "Debian", Arch: "amd64"},
		Versions: map[string]string{"go": "go1.26", "onnxruntime": "1.24.1"},
		Models:   []Model{{Name: "m.onnx", Bytes: 10, SHA256: "abc"}},
	}
	s := &Section{Name: "ann", Title: "ANN | index", Status: StatusOK}
	s.Headline("recall@10", 0.987, "").Add("p50", 0.4321, "ms").Add("bad", 0.0/zero(), "")
	s.Tables = []Table{{Title: "t", Columns: []string{"a", "b"}, Rows: [][]string{{"1", "2"}}}}
	r.Sections = []*Section{s, {Name: "api", Title: "API", Status: StatusSkipped, Note: "skipped: no API"}}
	return r
}

func zero() float64 { return 0 }

func TestReportWriters(t *testing.T) {
	r := sampleReport()
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## Headline numbers", "| ANN \\| index | recall@10 | 0.987 |", "| CPU | Test CPU |", "| memory | 8 GiB |",
		"| onnxruntime | 1.24.1 |", "`abc`", "| p50 | 0.432 ms |", "| bad | 0 |", "**t**", "| 1 | 2 |",
		"Suite `api`: **skipped**", "skipped: no API",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(&js)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := back.Section("ann").Metric("recall@10"); !ok || m.Value != 0.987 || !m.Headline {
		t.Errorf("round trip lost a metric: %+v", m)
	}
	if _, err := ReadJSON(strings.NewReader(`{"schema":"x"}`)); err == nil {
		t.Error("wrong schema accepted")
	}
	dir := filepath.Join(t.TempDir(), "bench")
	if err := r.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"REPORT.md", "report.json"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", name, err)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{{3, "", "3"}, {0.12345, "", "0.123"}, {12.345, "ms", "12.35 ms"}, {1234.56, "req/s", "1234.6 req/s"}} {
		if got := FormatValue(tc.v, tc.unit); got != tc.want {
			t.Errorf("FormatValue(%v, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}

func TestSelect(t *testing.T) {
	all, err := Select(nil)
	if err != nil || len(all) != len(Suites()) {
		t.Fatalf("Select(nil) = %d suites, %v", len(all), err)
	}
	got, err := Select([]string{"api", "shots"})
	if err != nil || len(got) != 2 || got[0].Name != "shots" || got[1].Name != "api" {
		t.Fatalf("Select(api, shots) = %v, %v", got, err)
	}
	if _, err := Select([]string{"nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown suite: %v", err)
	}
}

func TestRunSkipsMissingComponents(t *testing.T) {
	env := &Env{WorkDir: t.TempDir(), ANN: ANNOptions{N: 2000, Dim: 64, Queries: 100}}
	r, err := Run(context.Background(), env, Suites())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Sections {
		switch s.Name {
		case "ann":
			if s.Status != StatusOK {
				t.Fatalf("ann: %s %s", s.Status, s.Note)
			}
			if m, _ := s.Metric("recall@10"); m.Value < 0.8 || m.Value > 1 {
				t.Errorf("ann recall@10 = %v", m.Value)
			}
		default:
			if s.Status != StatusSkipped || !strings.Contains(s.Note, "no ") {
				t.Errorf("%s: status %s (%s), want skipped", s.Name, s.Status, s.Note)
			}
		}
	}
	if r.Machine.Cores < 1 || r.Versions["go"] == "" {
		t.Errorf("report header: %+v %v", r.Machine, r.Versions)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.json"), []byte(`{"ok":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	h := http.FileServer(http.Dir(dir))
	reqs := []APIRequest{{Name: "file", Path: "/a.json"}, {Name: "missing", Path: "/absent"}}
	r, err := Load(context.Background(), h, reqs, LoadOptions{Requests: 200, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent != 200 || r.Status[200] != 100 || r.Status[404] != 100 || r.Errors != 100 {
		t.Errorf("sent %d, status %v, errors %d", r.Sent, r.Status, r.Errors)
	}
	if r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 || r.Throughput <= 0 {
		t.Errorf("latencies p50 %v p99 %v max %v, throughput %v", r.P50, r.P99, r.Max, r.Throughput)
	}
	if _, err := Load(context.Background(), h, nil, LoadOptions{}); err == nil {
		t.Error("empty request list accepted")
	}
}

func TestLoadDurationBound(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-r.Context().Done():
		}
	})
	r, err := Load(context.Background(), slow, []APIRequest{{Path: "/"}}, LoadOptions{Requests: 1 << 30, Duration: 200 * time.Millisecond, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The request count is unreachable in 200 ms: the duration bound stops the run.
	if r.Sent == 0 || r.Sent >= 1<<30 || r.Errors != 0 {
		t.Errorf("sent %d, errors %d", r.Sent, r.Errors)
	}
}

func TestSuiteErrorsAreRecorded(t *testing.T) {
	boom := Suite{Name: "boom", Title: "Boom", Run: func(context.Context, *Env, *Section) error { return errors.New("kaput") }}
	skip := Suite{Name: "skip", Title: "Skip", Run: func(context.Context, *Env, *Section) error { return skipf("no input %d", 1) }}
	r, err := Run(context.Background(), &Env{}, []Suite{boom, skip})
	if err != nil {
		t.Fatal(err)
	}
	if s := r.Section("boom"); s.Status != StatusFailed || s.Note != "kaput" {
		t.Errorf("boom: %+v", s)
	}
	if s := r.Section("skip"); s.Status != StatusSkipped || s.Note != "skipped: no input 1" {
		t.Errorf("skip: %+v", s)
	}
}

func TestRedact(t *testing.T) {
	work := t.TempDir()
	env := &Env{WorkDir: work, SamplesDir: filepath.Join("..", "shared", "data")}
	s := &Section{Note: "open " + filepath.Join(work, "x.mp4") + " and ../shared/data/videos/a.mp4",
		Tables: []Table{{Rows: [][]string{{work + "/y"}}}}}
	env.redact(s)
	if s.Note != "open <work>/x.mp4 and <samples>/videos/a.mp4" || s.Tables[0].Rows[0][0] != "<work>/y" {
		t.Fatalf("redacted: %q %q", s.Note, s.Tables[0].Rows[0][0])
	}
}

func TestConditionCounts(t *testing.T) {
	truth := &groundtruth.Video{Items: []groundtruth.Item{
		{ProductID: "a", Occluded: 0.2, Boxes: []groundtruth.Box{{H: 0.5}}},
		{ProductID: "b", Boxes: []groundtruth.Box{{H: 0.1}, {H: 0.2}, {H: 0.6}}},
	}}
	sc := score.ItemScore{PerItem: []score.ItemResult{{ProductID: "a", Found: true}, {ProductID: "b"}}}
	var c conditionCounts
	c.add(truth, sc)
	got := c.table("packshot").Rows
	want := [][]string{
		{"occluded", "1", "1", "1.000"},
		{"not occluded", "1", "0", "0.000"},
		{"small (box height < 30 % of frame)", "1", "0", "0.000"},
		{"large", "1", "1", "1.000"},
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestStrengthCounts(t *testing.T) {
	truth := &groundtruth.Video{Items: []groundtruth.Item{
		{ProductID: "a", Strengths: map[string]float64{"warp": 0.1, "mirror": 0}},
		{ProductID: "b", Strengths: map[string]float64{"warp": 0.9, "mirror": 1}},
		{ProductID: "c", Strengths: map[string]float64{"warp": 0.5, "mirror": 1}},
		{ProductID: "d", Strengths: map[string]float64{"warp": 1, "mirror": 0}},
	}}
	shown := score.ItemScore{PerItem: []score.ItemResult{{Rank: 1}, {Rank: 3}, {Rank: 0}, {Rank: 1}}}
	cand := score.ItemScore{PerItem: []score.ItemResult{{Rank: 1}, {Rank: 2}, {Rank: 4}, {Rank: 1}}}
	var c strengthCounts
	c.add(truth, shown, &cand)
	s := &Section{}
	c.report(s, "reshot")
	rows := map[string]string{}
	for _, r := range s.Tables[0].Rows {
		rows[r[0]+" "+r[1]] = strings.Join(r[2:], "|")
	}
	tests := []struct{ row, want string }{
		{"warp low", "1|1.000|1.000|1.000"},
		{"warp mid", "1|0.000|0.000|1.000"},
		{"warp high", "2|0.500|1.000|1.000"},
		{"mirror no", "2|1.000|1.000|1.000"},
		{"mirror yes", "2|0.000|0.500|1.000"},
	}
	for _, tc := range tests {
		if rows[tc.row] != tc.want {
			t.Errorf("%s: %q, want %q", tc.row, rows[tc.row], tc.want)
		}
	}
	if len(rows) != len(tests) {
		t.Errorf("rows %v", rows)
	}
	// Mirroring costs found@1 1.0, warp 0.5: mirror breaks first.
	if !strings.Contains(s.Method, "mirror -1.00 ±0.00, warp -0.50 ±0.35") {
		t.Errorf("method %q does not order the falls", s.Method)
	}
}

func TestPeakRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc: peak memory is reported as unknown")
	}
	before := PeakRSS()
	if before <= 0 {
		t.Fatalf("peakRSS = %d, want > 0", before)
	}
	// Touch 64 MiB so the peak rises by about that much.
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	after := PeakRSS()
	runtime.KeepAlive(buf)
	if after < before+32<<20 {
		t.Errorf("peak %d MiB after touching 64 MiB, was %d MiB", after>>20, before>>20)
	}
	debug.FreeOSMemory() // buf is garbage now: its pages go back
	if resetPeakRSS() {
		if got := PeakRSS(); got >= after {
			t.Errorf("peak %d MiB after the reset, want below %d MiB", got>>20, after>>20)
		}
	}
}

// coldFake is a ColdPipeline whose cold runs take a fixed time, or fail
// for one file.
type coldFake struct {
	d    time.Duration
	fail string
}

func (c coldFake) ColdProcess(ctx context.Context, path string) (time.Duration, error) {
	if filepath.Base(path) == c.fail {
		return 0, errors.New("exit status 1")
	}
	return c.d, nil
}

// TestColdRuns checks the cold-run rows: the first coldVideos lookbook
// reels that ran warm, their speeds, and a failed run reported, not
// hidden.
func TestColdRuns(t *testing.T) {
	lbs := []*gen.Result{{VideoPath: "/w/lookbook-1.mp4"}, {VideoPath: "/w/lookbook-2.mp4"}, {VideoPath: "/w/lookbook-3.mp4"}}
	warm := map[string][2]float64{"/w/lookbook-1.mp4": {30, 10}, "/w/lookbook-2.mp4": {30, 15}, "/w/lookbook-3.mp4": {30, 15}}
	var s Section
	if err := coldRuns(context.Background(), coldFake{d: 20 * time.Second}, lbs, warm, &s); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Metric("cold vitrine video add speed"); m.Value != 1.5 || !m.Headline {
		t.Errorf("cold speed %+v, want 1.5 x (60 s of video in 40 s)", m)
	}
	if m, _ := s.Metric("warm speed on the same reels"); m.Value != 60.0/25 {
		t.Errorf("warm speed %+v, want %v", m, 60.0/25)
	}
	if len(s.Tables) != 1 || len(s.Tables[0].Rows) != coldVideos {
		t.Fatalf("tables %+v", s.Tables)
	}
	var f Section
	err := coldRuns(context.Background(), coldFake{d: 20 * time.Second, fail: "lookbook-1.mp4"}, lbs, warm, &f)
	if err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Errorf("failed cold run: %v", err)
	}
	if m, _ := f.Metric("cold vitrine video add speed"); m.Value != 1.5 {
		t.Errorf("after a failure the next reels run: cold speed %+v", m)
	}
}
