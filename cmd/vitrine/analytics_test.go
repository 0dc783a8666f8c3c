package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAnalyticsCommand runs the whole loop with the real binary: a
// publishable key from the CLI, events posted to a running server as a
// page on the key's origin would, and the reports read back by the CLI.
func TestAnalyticsCommand(t *testing.T) {
	dataDir := t.TempDir()
	env := cleanEnv("VITRINE_DATA_DIR=" + dataDir)
	const site = "http://blog.test"

	key, errOut, code := vitrine(t, env, "pubkeys", "create", "--origin", site, "--name", "blog")
	key = strings.TrimSpace(key)
	if code != 0 || !strings.HasPrefix(key, "pk_") {
		t.Fatalf("pubkeys create: exit %d %q %q", code, key, errOut)
	}
	if list, _, _ := vitrine(t, env, "pubkeys", "list"); !strings.Contains(list, key) || !strings.Contains(list, site) {
		t.Errorf("pubkeys list %q", list)
	}
	if _, e, code := vitrine(t, env, "pubkeys", "create"); code == 0 || !strings.Contains(e, "at least one origin") {
		t.Errorf("create without origin: exit %d %q", code, e)
	}

	s := startServer(t, env, dataDir)
	body := `{"events":[
		{"type":"impression","video":"v_cli","item":"t1","product":"p1","t":1,"session":"a"},
		{"type":"impression","video":"v_cli","item":"t2","product":"p2","t":2,"session":"a"},
		{"type":"click","video":"v_cli","item":"t1","product":"p1","t":3,"session":"a"},
		{"type":"buy","video":"v_cli","item":"t1","product":"p1","t":4,"session":"a"}]}`
	req, _ := http.NewRequest("POST", s.url+"/public/v1/events?key="+key, strings.NewReader(body))
	req.Header.Set("Origin", site)
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("post events: %d\n%s", resp.StatusCode, s.log())
	}

	var rep struct {
		Total struct{ Impressions, Clicks, Buys int }
		Rows  []struct {
			ID          string
			Impressions int
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, e, code := vitrine(t, env, "analytics", "video", "v_cli", "--json", "--days", "1")
		if code != 0 {
			t.Fatalf("analytics video: exit %d %q", code, e)
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("analytics video --json: %v in %q", err, out)
		}
		if rep.Total.Impressions == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events never counted: %s", out)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if rep.Total.Clicks != 1 || rep.Total.Buys != 1 || len(rep.Rows) != 2 || rep.Rows[0].ID != "p1" {
		t.Errorf("report %+v", rep)
	}
	out, _, _ := vitrine(t, env, "analytics", "videos")
	if !strings.Contains(out, "v_cli") || !strings.Contains(out, "IMPRESSIONS") {
		t.Errorf("analytics videos %q", out)
	}
	out, _, _ = vitrine(t, env, "analytics", "product", "p1")
	if !strings.Contains(out, "2 impressions") && !strings.Contains(out, "1 impressions") {
		t.Errorf("analytics product %q", out)
	}
	if out, _, _ = vitrine(t, env, "analytics", "recent", "v_cli"); strings.Count(out, "v_cli") != 4 || !strings.Contains(out, site) {
		t.Errorf("analytics recent %q", out)
	}

	// Events still queued when the server stops are written, not lost.
	req, _ = http.NewRequest("POST", s.url+"/public/v1/events?key="+key, strings.NewReader(
		`{"events":[{"type":"impression","video":"v_stop","item":"t1","product":"p1","t":1}]}`))
	req.Header.Set("Origin", site)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 202 {
		t.Fatalf("post before stop: %v %v", resp, err)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, s.log())
	}
	if out, _, _ := vitrine(t, env, "analytics", "video", "v_stop", "--json"); !strings.Contains(out, `"impressions": 1`) {
		t.Errorf("event posted just before the stop: %s", out)
	}

	for _, args := range [][]string{{"analytics"}, {"analytics", "video"}, {"analytics", "nope"}, {"analytics", "videos", "--from", "yesterday"}} {
		if _, e, code := vitrine(t, env, args...); code == 0 || !strings.HasPrefix(strings.TrimSpace(e[strings.LastIndex(strings.TrimSpace(e), "\n")+1:]), "vitrine: ") {
			t.Errorf("%v: exit %d, stderr %q; want a one-line error", args, code, e)
		}
	}
}
