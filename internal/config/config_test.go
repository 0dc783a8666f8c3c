package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func load(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return l.Load(envOf(env))
}

func TestPrecedence(t *testing.T) {
	good := filepath.Join("testdata", "good.toml")
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantAddr    string
		wantWorkers int
		wantData    string
		wantLevel   string
	}{
		{name: "defaults", wantAddr: "127.0.0.1:8080", wantWorkers: 2, wantData: "./vitrine-data", wantLevel: "info"},
		{name: "file over defaults", args: []string{"--config", good}, env: map[string]string{"VITRINE_TEST_HOME": "/h"},
			wantAddr: "127.0.0.1:9000", wantWorkers: 3, wantData: "/h/data", wantLevel: "debug"},
		{name: "config file from env", env: map[string]string{"VITRINE_CONFIG": good, "VITRINE_TEST_HOME": "/e"},
			wantAddr: "127.0.0.1:9000", wantWorkers: 3, wantData: "/e/data", wantLevel: "debug"},
		{name: "env over file", args: []string{"--config", good}, env: map[string]string{"VITRINE_ADDR": "0.0.0.0:7000", "VITRINE_WORKERS": "0"},
			wantAddr: "0.0.0.0:7000", wantWorkers: 0, wantData: "/data", wantLevel: "debug"},
		{name: "flag over env over file", args: []string{"--config", good, "--addr", ":6000", "--workers", "5"},
			env:      map[string]string{"VITRINE_ADDR": "0.0.0.0:7000", "VITRINE_WORKERS": "1", "VITRINE_LOG_LEVEL": "warn"},
			wantAddr: ":6000", wantWorkers: 5, wantData: "/data", wantLevel: "warn"},
		{name: "empty env is unset", env: map[string]string{"VITRINE_ADDR": ""}, wantAddr: "127.0.0.1:8080", wantWorkers: 2, wantData: "./vitrine-data", wantLevel: "info"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.Addr != tc.wantAddr || c.Workers != tc.wantWorkers || c.DataDir != tc.wantData || c.LogLevel != tc.wantLevel {
				t.Errorf("got addr=%q workers=%d data=%q level=%q, want %q %d %q %q",
					c.Addr, c.Workers, c.DataDir, c.LogLevel, tc.wantAddr, tc.wantWorkers, tc.wantData, tc.wantLevel)
			}
			if c.DB != filepath.Join(c.DataDir, "vitrine.db") || c.Blob != filepath.Join(c.DataDir, "blobs") {
				t.Errorf("derived paths not under data dir: db=%q blob=%q", c.DB, c.Blob)
			}
		})
	}
}

func TestDurationsAndExplicitPaths(t *testing.T) {
	c, err := load(t, []string{"--db", "x/y.db", "--shutdown-timeout", "3s"}, map[string]string{"VITRINE_RETRY_BASE": "10ms", "VITRINE_BLOB": "s3://b?region=x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DB != "x/y.db" || c.Blob != "s3://b?region=x" || c.ShutdownTimeout != 3*time.Second || c.RetryBase != 10*time.Millisecond {
		t.Errorf("got %+v", c)
	}
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "bad int env", env: map[string]string{"VITRINE_WORKERS": "abc"}, wantErr: `VITRINE_WORKERS="abc": not an integer`},
		{name: "bad int flag", args: []string{"--workers", "x"}, wantErr: `--workers="x": not an integer`},
		{name: "negative workers", args: []string{"--workers", "-1"}, wantErr: "workers must be >= 0"},
		{name: "bad addr", env: map[string]string{"VITRINE_ADDR": "nope"}, wantErr: `addr "nope" is not host:port`},
		{name: "bad level", args: []string{"--log-level", "loud"}, wantErr: `log level "loud"`},
		{name: "bad duration", env: map[string]string{"VITRINE_RETRY_BASE": "soon"}, wantErr: "not a duration"},
		{name: "sample fps zero", env: map[string]string{"VITRINE_SAMPLE_FPS": "0"}, wantErr: "sample fps must be in (0, 60]"},
		{name: "detect size tiny", env: map[string]string{"VITRINE_DETECT_SIZE": "10"}, wantErr: "detect size must be in [64, 4096]"},
		{name: "window proposals negative", env: map[string]string{"VITRINE_WINDOW_PROPOSALS": "-2"}, wantErr: "window proposals must be in [0, 50]"},
		{name: "match min z negative", env: map[string]string{"VITRINE_MATCH_MIN_Z": "-1"}, wantErr: "match min z must be in (0, 50]"},
		{name: "match min cosine above 1", env: map[string]string{"VITRINE_MATCH_MIN_COSINE": "1.5"}, wantErr: "match min cosine must be in [-1, 1]"},
		{name: "missing file", args: []string{"--config", "testdata/nope.toml"}, wantErr: "testdata/nope.toml"},
		{name: "unknown key", args: []string{"--config", "testdata/unknown_key.toml"}, wantErr: `unknown setting "adr"`},
		{name: "wrong type in file", args: []string{"--config", "testdata/bad_type.toml"}, wantErr: `workers = "many": not an integer`},
		{name: "bad syntax", args: []string{"--config", "testdata/bad_syntax.toml"}, wantErr: "config: read testdata/bad_syntax.toml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.args, tc.env)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestUsageListsEverySetting(t *testing.T) {
	u := Usage()
	for _, f := range fields() {
		if f.env != "" && !strings.Contains(u, f.env) {
			t.Errorf("usage lacks %s", f.env)
		}
	}
}

// TestREADMEDocumentsEverySetting keeps the README's configuration table
// in step with the Config struct.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Skipf("README.md not found: %v", err)
	}
	for _, f := range fields() {
		if f.env != "" && !strings.Contains(string(b), "`"+f.env+"`") {
			t.Errorf("README.md does not document %s", f.env)
		}
		if f.flag != "" && !strings.Contains(string(b), "`--"+f.flag+"`") {
			t.Errorf("README.md does not document --%s", f.flag)
		}
	}
}
