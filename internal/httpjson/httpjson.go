// Package httpjson writes the JSON responses and the error shape
// ({"error": {"code": …, "message": …}}) of the HTTP handlers that live
// outside internal/api (commerce's public read path, analytics), so that
// clients see one error shape everywhere.
package httpjson

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// ErrorBody is the JSON shape of an error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Write answers status with v as JSON and the given Cache-Control. A value
// that does not encode becomes a 500 with a fixed body.
func Write(w http.ResponseWriter, status int, v any, cacheControl string) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"encode response"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// Error answers status with the error shape, its code from CodeFor.
func Error(w http.ResponseWriter, status int, msg string) {
	ErrorCode(w, status, CodeFor(status), msg)
}

// ErrorCode answers status with the error shape and an explicit code.
func ErrorCode(w http.ResponseWriter, status int, code, msg string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, msg
	Write(w, status, b, "no-store")
}

// CodeFor gives each status the stable error code the API server uses for
// it.
func CodeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "invalid_api_key"
	case http.StatusForbidden:
		return "origin_not_allowed"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "payload_too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "internal"
}
