package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/api/apikey"
	"github.com/vitrine-dev/vitrine/internal/jobs"
)

// consoleReq sends a request as a browser would: with the session cookie,
// and the given CSRF token and Origin when not empty.
func (e *env) consoleReq(t *testing.T, method, path, cookie, csrf, origin, body string) (*http.Response, ErrorBody, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	}
	if csrf != "" {
		req.Header.Set(CSRFHeader, csrf)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Content-Type", "application/json")
	return send(t, req)
}

// login opens a session with key and returns its cookie and CSRF token.
func (e *env) login(t *testing.T, key string) (cookie, csrf string) {
	t.Helper()
	resp, _, raw := e.consoleReq(t, "POST", "/console/api/login", "", "", e.srv.URL, `{"key":"`+key+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, raw)
	}
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			cookie = c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure on plain HTTP", c)
			}
		}
	}
	var ss struct {
		CSRF  string `json:"csrf"`
		Scope string `json:"scope"`
	}
	if err := json.Unmarshal(raw, &ss); err != nil || cookie == "" || ss.CSRF == "" {
		t.Fatalf("login answer %s (cookie %q): want a session with a CSRF token", raw, cookie)
	}
	return cookie, ss.CSRF
}

func TestConsoleLoginAndCSRF(t *testing.T) {
	e := newEnv(t)
	evil := "http://evil.example"
	createKey := `{"scope":"read","name":"from console"}`

	t.Run("login refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name, origin, body, code string
			status                   int
		}{
			{"other origin", evil, `{"key":"` + e.admin + `"}`, CodeCSRF, 403},
			{"unknown key", e.srv.URL, `{"key":"vtr_0000000000000000000000000000000000000000000"}`, CodeInvalidKey, 401},
			{"not JSON", e.srv.URL, `key=1`, CodeBadRequest, 400},
		} {
			resp, eb, raw := e.consoleReq(t, "POST", "/console/api/login", "", "", tc.origin, tc.body)
			if resp.StatusCode != tc.status || eb.Error.Code != tc.code {
				t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, raw, tc.status, tc.code)
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("%s: a cookie was set", tc.name)
			}
		}
	})

	cookie, csrf := e.login(t, e.admin)

	t.Run("cookie authenticates reads", func(t *testing.T) {
		resp, _, raw := e.consoleReq(t, "GET", "/v1/keys", cookie, "", "", "")
		if resp.StatusCode != 200 || !strings.Contains(string(raw), `"keys"`) {
			t.Errorf("GET /v1/keys with the session: %d %s", resp.StatusCode, raw)
		}
		resp, _, raw = e.consoleReq(t, "GET", "/console/api/session", cookie, "", "", "")
		if resp.StatusCode != 200 || !strings.Contains(string(raw), csrf) || !strings.Contains(string(raw), `"scope": "admin"`) {
			t.Errorf("GET /console/api/session: %d %s", resp.StatusCode, raw)
		}
		if resp, eb, _ := e.consoleReq(t, "GET", "/v1/keys", "forged", "", "", ""); resp.StatusCode != 401 || eb.Error.Code != CodeInvalidKey {
			t.Errorf("forged cookie: %d %s", resp.StatusCode, eb.Error.Code)
		}
	})

	t.Run("changes need the CSRF token and this origin", func(t *testing.T) {
		for _, tc := range []struct {
			name, csrf, origin, code string
			status                   int
		}{
			{"no token", "", e.srv.URL, CodeCSRF, 403},
			{"wrong token", csrf + "x", e.srv.URL, CodeCSRF, 403},
			{"other origin", csrf, evil, CodeCSRF, 403},
			{"token and origin", csrf, e.srv.URL, "", 201},
			{"token, no origin header", csrf, "", "", 201},
		} {
			resp, eb, raw := e.consoleReq(t, "POST", "/v1/keys", cookie, tc.csrf, tc.origin, createKey)
			if resp.StatusCode != tc.status || eb.Error.Code != tc.code {
				t.Errorf("%s: %d %s, want %d %q", tc.name, resp.StatusCode, raw, tc.status, tc.code)
			}
		}
	})

	t.Run("a session has its key's scope", func(t *testing.T) {
		rc, rcsrf := e.login(t, e.read)
		resp, eb, _ := e.consoleReq(t, "POST", "/v1/keys", rc, rcsrf, e.srv.URL, createKey)
		if resp.StatusCode != 403 || eb.Error.Code != CodeInsufficientScope {
			t.Errorf("read session creating a key: %d %s", resp.StatusCode, eb.Error.Code)
		}
	})

	t.Run("logout", func(t *testing.T) {
		if resp, eb, _ := e.consoleReq(t, "POST", "/console/api/logout", cookie, "", e.srv.URL, ""); resp.StatusCode != 403 || eb.Error.Code != CodeCSRF {
			t.Errorf("logout without the token: %d %s", resp.StatusCode, eb.Error.Code)
		}
		resp, _, raw := e.consoleReq(t, "POST", "/console/api/logout", cookie, csrf, e.srv.URL, "")
		if resp.StatusCode != 204 {
			t.Fatalf("logout: %d %s", resp.StatusCode, raw)
		}
		cleared := false
		for _, c := range resp.Cookies() {
			cleared = cleared || c.Name == SessionCookie && c.MaxAge < 0
		}
		if !cleared {
			t.Error("logout did not clear the cookie")
		}
		if resp, _, _ := e.consoleReq(t, "GET", "/v1/keys", cookie, "", "", ""); resp.StatusCode != 401 {
			t.Errorf("after logout: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("revoking the key ends its sessions", func(t *testing.T) {
		secret, k, err := e.keys.Create(context.Background(), apikey.ScopeAdmin, "temp")
		if err != nil {
			t.Fatal(err)
		}
		c, _ := e.login(t, secret)
		if err := e.keys.Revoke(context.Background(), k.ID); err != nil {
			t.Fatal(err)
		}
		if resp, _, _ := e.consoleReq(t, "GET", "/v1/keys", c, "", "", ""); resp.StatusCode != 401 {
			t.Errorf("session of a revoked key: %d, want 401", resp.StatusCode)
		}
	})
}

func TestConsoleStatic(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		path, ctype string
		status      int
	}{
		{"/console/", "text/html", 200},
		{"/console/console.js", "text/javascript", 200},
		{"/console/console.css", "text/css", 200},
		{"/console/nothing.js", "", 404},
	} {
		resp, _, raw := e.consoleReq(t, "GET", tc.path, "", "", "", "")
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("GET %s: %d %s, want %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.ctype)
		}
		if tc.status == 200 && (len(raw) < 100 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")) {
			t.Errorf("GET %s: %d bytes, CSP %q", tc.path, len(raw), resp.Header.Get("Content-Security-Policy"))
		}
	}
}

func TestSearchVideosNeedsAQuery(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"", "?q=", "?q=bag&product_id=1", "?q=" + strings.Repeat("a", 501)} {
		if st, eb, raw := e.do(t, "GET", "/v1/search/videos"+q, e.read, ""); st != 400 || eb.Error.Code != CodeBadRequest {
			t.Errorf("GET /v1/search/videos%s: %d %s", q, st, raw)
		}
	}
}

func TestSummarize(t *testing.T) {
	at := func(sec int) *time.Time { v := time.Date(2026, 5, 1, 10, 0, sec, 0, time.UTC); return &v }
	now := *at(30)
	for _, tc := range []struct {
		name     string
		state    string
		steps    []jobs.StepStatus
		step     string
		done     int
		elapsedS float64
	}{
		{"running: the running step, elapsed until now", jobs.StateRunning, []jobs.StepStatus{
			{Name: "a", State: jobs.StateSucceeded, StartedAt: at(0), FinishedAt: at(5)},
			{Name: "b", State: jobs.StateRunning, StartedAt: at(5), Done: 3, Total: 9},
			{Name: "c", State: jobs.StatePending},
		}, "b", 1, 30},
		{"failed: the failed step, elapsed until the last finish", jobs.StateFailed, []jobs.StepStatus{
			{Name: "a", State: jobs.StateSucceeded, StartedAt: at(0), FinishedAt: at(2)},
			{Name: "b", State: jobs.StateFailed, StartedAt: at(2), FinishedAt: at(4), Error: "boom"},
		}, "b", 1, 4},
		{"queued: the first pending step", jobs.StatePending, []jobs.StepStatus{
			{Name: "a", State: jobs.StatePending}, {Name: "b", State: jobs.StatePending},
		}, "a", 0, 0},
		{"done: the last step", jobs.StateSucceeded, []jobs.StepStatus{
			{Name: "a", State: jobs.StateSucceeded, StartedAt: at(1), FinishedAt: at(2)},
			{Name: "b", State: jobs.StateSucceeded, StartedAt: at(2), FinishedAt: at(7)},
		}, "b", 2, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := summarize(&jobs.Workflow{ID: 1, State: tc.state, Steps: tc.steps}, now)
			if ws.Step != tc.step || ws.StepsDone != tc.done || ws.ElapsedS != tc.elapsedS || ws.StepsTotal != len(tc.steps) {
				t.Errorf("summary %+v, want step %s, %d done, %gs", ws, tc.step, tc.done, tc.elapsedS)
			}
		})
	}
}
