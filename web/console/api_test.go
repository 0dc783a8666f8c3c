package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestConsoleAPIRefusesBadInput checks the console routes' answers to bad
// requests on a real server: clear errors with stable codes, no panics.
func TestConsoleAPIRefusesBadInput(t *testing.T) {
	st := newStack(t)
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/console/api/catalog/import?name=products.exe", "id,title\n1,a\n", 400, "bad_request"},
		{"POST", "/console/api/catalog/import", "id,title\n1,a\n", 400, "bad_request"},
		{"POST", "/console/api/catalog/import?name=products.csv", "", 400, "bad_request"},
		{"POST", "/console/api/catalog/import?name=..%2F..%2Fproducts.csv", "not,a\ncatalog", 400, "bad_request"},
		{"POST", "/console/api/videos/v_nope/review", `{"item_id":"t1","action":"approve"}`, 404, "not_found"},
		{"POST", "/console/api/videos/v_nope/review", `{"item_id":"t1","action":`, 400, "bad_request"},
		{"POST", "/console/api/videos/v_nope/review", `{"item":"t1"}`, 400, "bad_request"},
		{"GET", "/console/api/videos/v_nope", "", 404, "not_found"},
		{"GET", "/console/api/videos/v_nope/media", "", 404, "not_found"},
		{"GET", "/console/api/workflows/abc", "", 400, "bad_request"},
		{"GET", "/console/api/workflows/999", "", 404, "not_found"},
		{"GET", "/console/api/catalog/products?status=weird", "", 400, "bad_request"},
		{"GET", "/console/api/catalog/products?limit=0", "", 400, "bad_request"},
		{"GET", "/console/api/catalog/products?offset=-1", "", 400, "bad_request"},
		{"GET", "/v1/search/videos?product_id=nothing", "", 200, ""},
		{"GET", "/v1/search/videos?q=%20", "", 400, "bad_request"},
		{"GET", "/console/api/nothing/here", "", 404, "not_found"},
	} {
		req, _ := http.NewRequest(tc.method, st.srv.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+st.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var eb struct {
			Error struct{ Code string } `json:"error"`
		}
		json.Unmarshal(raw, &eb)
		if resp.StatusCode != tc.status || eb.Error.Code != tc.code {
			t.Errorf("%s %s: %d %s, want %d %q", tc.method, tc.path, resp.StatusCode, raw, tc.status, tc.code)
		}
	}
}
