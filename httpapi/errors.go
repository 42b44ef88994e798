package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/outboxmail/outbox"
)

// Error codes of the API's error responses.
const (
	CodeInvalidField     = "invalid_field"          // 400: a field of the request is invalid; Field names it
	CodeMalformedJSON    = "malformed_json"         // 400: the body is not valid JSON
	CodeUnauthorized     = "unauthorized"           // 401: missing or wrong bearer token
	CodeNotFound         = "not_found"              // 404: no such message, or no such endpoint
	CodeMethodNotAllowed = "method_not_allowed"     // 405: the endpoint exists for other methods
	CodeConflict         = "conflict"               // 409: the operation does not apply to the message's status
	CodeTooLarge         = "too_large"              // 413: the body or the batch is over the limit
	CodeUnsupportedType  = "unsupported_media_type" // 415: a Content-Type the endpoint does not take
	CodeInternal         = "internal"               // 500: a bug; the server logged it
	CodeUnavailable      = "unavailable"            // 503: the store cannot commit now; try again later
)

// Error is an error response of the API: {"error": {"code", "message",
// "field"}}. The server writes it; the client returns it for every non-2xx
// answer.
type Error struct {
	// Status is the HTTP status code.
	Status int `json:"-"`
	// Code is one of the Code constants (or "http_<status>" when a server
	// in between answered without an API error body).
	Code string `json:"code"`
	// Message says what went wrong.
	Message string `json:"message"`
	// Field names the offending field ("to[1]", "limit"), when one is at fault.
	Field string `json:"field,omitempty"`
}

// Error returns "field: message", or the message when no field is at fault.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Unwrap lets errors.Is and errors.As see the domain error the code stands
// for: outbox.ErrNotFound, outbox.ErrUnavailable or an *outbox.FieldError.
func (e *Error) Unwrap() error {
	switch e.Code {
	case CodeNotFound:
		return outbox.ErrNotFound
	case CodeUnavailable:
		return outbox.ErrUnavailable
	case CodeInvalidField:
		return &outbox.FieldError{Field: e.Field, Message: e.Message}
	}
	return nil
}

// errorBody is the JSON envelope of an error response.
type errorBody struct {
	Error *Error `json:"error"`
}

// errorFor maps any error to the API error written for it. It is the one
// place where errors become HTTP statuses. The bool reports an unexpected
// error (a 500) that the caller must log.
func errorFor(err error) (*Error, bool) {
	var (
		apiErr   *Error
		fieldErr *outbox.FieldError
		stateErr *outbox.StateError
		sizeErr  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &apiErr):
		return apiErr, false
	case errors.As(err, &sizeErr):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("request body is larger than %d bytes", sizeErr.Limit)}, false
	case errors.As(err, &fieldErr):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidField,
			Message: fieldErr.Message, Field: fieldErr.Field}, false
	case errors.Is(err, outbox.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error()}, false
	case errors.As(err, &stateErr), errors.Is(err, outbox.ErrPastExpiry):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error()}, false
	case errors.Is(err, outbox.ErrUnavailable),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: err.Error()}, false
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}, true
}

// writeError writes err as an error response, logging unexpected ones.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, unexpected := errorFor(err)
	if unexpected {
		s.log.ErrorContext(r.Context(), "httpapi: request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	} else if e.Status == http.StatusServiceUnavailable {
		s.log.WarnContext(r.Context(), "httpapi: store unavailable",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		w.Header().Set("Retry-After", "5")
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="outbox"`)
	}
	s.writeJSON(w, e.Status, errorBody{Error: e})
}

// badField is a 400 about one field of the request.
func badField(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidField, Field: field, Message: fmt.Sprintf(format, args...)}
}
