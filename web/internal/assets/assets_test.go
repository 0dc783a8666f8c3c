package assets

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	tree := fstest.MapFS{
		"index.html":   {Data: []byte("<!doctype html>")},
		"app.js":       {Data: []byte("export {}")},
		"vendor/m.mjs": {Data: []byte("export default 1")},
		"sub/logo.svg": {Data: []byte("<svg/>")},
		"data.bin":     {Data: []byte{1, 2}},
	}
	withIndex := httptest.NewServer(Handler(tree, Options{Index: "index.html", Headers: map[string]string{"X-Frame-Options": "DENY"}}))
	defer withIndex.Close()
	noIndex := httptest.NewServer(Handler(tree, Options{}))
	defer noIndex.Close()

	for _, tc := range []struct {
		name, base, method, path string
		status                   int
		ctype, body, frame       string
	}{
		{"index at root", withIndex.URL, "GET", "/", 200, "text/html; charset=utf-8", "<!doctype html>", "DENY"},
		{"script", withIndex.URL, "GET", "/app.js", 200, "text/javascript; charset=utf-8", "export {}", "DENY"},
		{"module script", withIndex.URL, "GET", "/vendor/m.mjs", 200, "text/javascript; charset=utf-8", "export default 1", "DENY"},
		{"svg in a folder", withIndex.URL, "GET", "/sub/logo.svg", 200, "image/svg+xml", "<svg/>", "DENY"},
		{"unknown type", withIndex.URL, "GET", "/data.bin", 200, "application/octet-stream", "\x01\x02", "DENY"},
		{"cleaned path", withIndex.URL, "GET", "/sub/../app.js", 200, "text/javascript; charset=utf-8", "export {}", "DENY"},
		{"head has no body", withIndex.URL, "HEAD", "/app.js", 200, "text/javascript; charset=utf-8", "", "DENY"},
		{"missing", withIndex.URL, "GET", "/nope.js", 404, "", "", ""},
		{"post refused", withIndex.URL, "POST", "/app.js", 405, "", "", ""},
		{"no index", noIndex.URL, "GET", "/", 404, "", "", ""},
		{"no extra headers", noIndex.URL, "GET", "/app.js", 200, "text/javascript; charset=utf-8", "export {}", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.base+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", resp.Header.Get("Allow"))
			}
			if tc.status != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if got := resp.Header.Get("X-Frame-Options"); got != tc.frame {
				t.Errorf("X-Frame-Options %q, want %q", got, tc.frame)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(resp.Header.Get("ETag"), `"`) {
				t.Errorf("headers %v", resp.Header)
			}
		})
	}
}

func TestConditionalGet(t *testing.T) {
	srv := httptest.NewServer(Handler(fstest.MapFS{"a.css": {Data: []byte("a{}")}}, Options{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/a.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	req, _ := http.NewRequest("GET", srv.URL+"/a.css", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status %d, want 304", etag, resp.StatusCode)
	}
}
