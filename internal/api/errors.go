package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Stable error codes. Clients branch on these, never on messages; add new
// codes, never rename one.
const (
	CodeBadRequest        = "bad_request"
	CodeMissingKey        = "missing_api_key"
	CodeInvalidKey        = "invalid_api_key"
	CodeInsufficientScope = "insufficient_scope"
	CodeNotFound          = "not_found"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeConflict          = "conflict"
	CodeTooLarge          = "payload_too_large"
	CodeUnavailable       = "unavailable"
	CodeInternal          = "internal"
	// CodeCSRF: a cookie-authenticated request that changes state lacked
	// the session's CSRF token or came from another origin.
	CodeCSRF = "csrf_failed"
)

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// WriteError writes {"error":{"code":…,"message":…}} with status.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, msg
	WriteJSON(w, status, b)
}

// DecodeJSON reads a JSON request body of at most max bytes into v,
// refusing unknown fields. An empty body leaves v unchanged.
func DecodeJSON(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, max)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return bodyTooLargeError{max}
		}
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	return nil
}

// ErrBodyTooLarge matches (errors.Is) the error DecodeJSON returns for a
// body over its limit.
var ErrBodyTooLarge = errors.New("request body too large")

type bodyTooLargeError struct{ max int64 }

func (e bodyTooLargeError) Error() string {
	return fmt.Sprintf("request body larger than %d bytes", e.max)
}

func (e bodyTooLargeError) Is(target error) bool { return target == ErrBodyTooLarge }

// WriteBodyError answers a DecodeJSON error: 413 payload_too_large for a
// body over the limit, else 400 bad_request.
func WriteBodyError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrBodyTooLarge) {
		WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, err.Error())
		return
	}
	WriteError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
}

// PathID parses the {name} path value as a positive integer id.
func PathID(r *http.Request, name string) (int64, error) {
	s := r.PathValue(name)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive integer", name, s)
	}
	return id, nil
}

// QueryInt parses an optional integer query parameter.
func QueryInt(r *http.Request, name string, def int64) (int64, error) {
	s := strings.TrimSpace(r.URL.Query().Get(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("query parameter %s=%q is not an integer", name, s)
	}
	return n, nil
}

// QueryBool parses an optional boolean query parameter (false when absent).
func QueryBool(r *http.Request, name string) (bool, error) {
	s := strings.TrimSpace(r.URL.Query().Get(name))
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("query parameter %s=%q is not true or false", name, s)
	}
	return b, nil
}
