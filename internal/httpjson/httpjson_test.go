package httpjson

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		v          any
		cache      string
		wantStatus int
		wantBody   string
	}{
		{"value", 200, map[string]int{"accepted": 3}, "public, max-age=60", 200, "{\"accepted\":3}\n"},
		{"unencodable", 200, math.Inf(1), "no-store", 500, "{\"error\":\"encode response\"}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, tc.status, tc.v, tc.cache)
			if rec.Code != tc.wantStatus || rec.Body.String() != tc.wantBody {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tc.wantStatus, tc.wantBody)
			}
			h := rec.Header()
			if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != tc.cache || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("headers %v", h)
			}
		})
	}
}

func TestError(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
	}{
		{http.StatusBadRequest, "bad_request"},
		{http.StatusUnauthorized, "invalid_api_key"},
		{http.StatusForbidden, "origin_not_allowed"},
		{http.StatusNotFound, "not_found"},
		{http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.StatusRequestEntityTooLarge, "payload_too_large"},
		{http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{http.StatusTooManyRequests, "rate_limited"},
		{http.StatusServiceUnavailable, "unavailable"},
		{http.StatusInternalServerError, "internal"},
		{http.StatusTeapot, "internal"},
	} {
		rec := httptest.NewRecorder()
		Error(rec, tc.status, "why")
		var b ErrorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatalf("%d: %v", tc.status, err)
		}
		if rec.Code != tc.status || b.Error.Code != tc.code || b.Error.Message != "why" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%d: got %d %+v %v", tc.status, rec.Code, b, rec.Header())
		}
	}
}
