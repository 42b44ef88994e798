package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// decodeJSON decodes one JSON value from r into v, refusing unknown fields
// and trailing data. Its errors are *Error (malformed JSON, a field of the
// wrong type, an unknown field) or *http.MaxBytesError.
func decodeJSON(r io.Reader, v any) error {
	dec := newDecoder(r)
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	return endOfJSON(dec)
}

// newDecoder returns a decoder of the JSON body r that refuses unknown
// fields and bytes that are not UTF-8.
func newDecoder(r io.Reader) *json.Decoder {
	dec := json.NewDecoder(&utf8Reader{r: r})
	dec.DisallowUnknownFields()
	return dec
}

// endOfJSON checks that nothing but white space follows the value dec has
// read.
func endOfJSON(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		var sizeErr *http.MaxBytesError
		if errors.As(err, &sizeErr) {
			return err
		}
		return malformed("unexpected data after the JSON value (at byte %d)", dec.InputOffset())
	}
	return nil
}

// jsonError turns an encoding/json error into an API error.
func jsonError(err error) error {
	var (
		sizeErr   *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		apiErr    *Error
	)
	switch {
	case errors.As(err, &sizeErr), errors.As(err, &apiErr):
		return err
	case errors.Is(err, io.EOF):
		return malformed("empty body: expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("unexpected end of JSON input")
	case errors.As(err, &syntaxErr):
		return malformed("%s (at byte %d)", syntaxErr.Error(), syntaxErr.Offset)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return malformed("expected %s, got a JSON %s", jsonKind(typeErr.Type), typeErr.Value)
	case errors.As(err, &typeErr):
		return badField(typeErr.Field, "expected %s, got a JSON %s", jsonKind(typeErr.Type), typeErr.Value)
	}
	if name, ok := unknownField(err); ok {
		return badField(name, "unknown field %q", name)
	}
	return malformed("%s", strings.TrimPrefix(err.Error(), "json: "))
}

// malformed is a 400 about JSON that cannot be parsed.
func malformed(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: fmt.Sprintf(format, args...)}
}

// jsonKind names the JSON value a Go type takes, for error messages.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		if t.Name() == "addressIn" {
			return `an address ("Name <local@domain>" or {"name", "email"})`
		}
		return "an object"
	}
	return "a " + t.Kind().String()
}

// strictUnmarshal decodes b into v refusing unknown fields, for the
// UnmarshalJSON methods of nested types.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
