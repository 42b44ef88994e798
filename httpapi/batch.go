package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/outboxmail/outbox"
)

// batchItem is one decoded message of a batch, or why it cannot be sent.
type batchItem struct {
	m   *outbox.Message
	err error
}

// decodeBatch decodes a batch body, {"messages": [...]}, in one pass over
// the JSON: each item straight into its message. An item of the wrong
// shape (a field of the wrong type, an unknown field, an invalid value) is
// that item's error; JSON that does not parse, an unknown top-level field,
// no items or more than limit fail the whole request.
func decodeBatch(r io.Reader, limit int) ([]batchItem, error) {
	dec := newDecoder(r)
	if err := expectDelim(dec, '{', "an object"); err != nil {
		return nil, err
	}
	var (
		items []batchItem
		seen  bool
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(cutShort(err))
		}
		// Case-insensitive, as encoding/json matches a struct's fields.
		key := tok.(string)
		switch {
		case !strings.EqualFold(key, "messages"):
			return nil, badField(key, "unknown field %q", key)
		case seen:
			// A second list would replace the first: its items would
			// get no result at all.
			return nil, badField(key, "given twice: put every message in one list")
		}
		seen = true
		if items, err = decodeItems(dec, limit); err != nil {
			return nil, err
		}
	}
	if err := expectDelim(dec, '}', "the end of the object"); err != nil {
		return nil, err
	}
	if err := endOfJSON(dec); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, badField("messages", "empty batch: give at least one message")
	}
	return items, nil
}

// decodeItems decodes the value of "messages": an array of messages (or
// null, no messages). An item past limit refuses the batch once read,
// before the rest of the body is.
func decodeItems(dec *json.Decoder, limit int) ([]batchItem, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(cutShort(err))
	}
	if tok == nil {
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, badField("messages", "expected an array, got %s", tokenKind(tok))
	}
	var items []batchItem
	for dec.More() {
		if len(items) == limit {
			// One more value, so that JSON that does not parse there (a
			// trailing comma) is refused as such.
			var next json.RawMessage
			if err := dec.Decode(&next); err != nil {
				return nil, jsonError(cutShort(err))
			}
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "messages",
				Message: fmt.Sprintf("more than %d messages in one batch: send at most %d per request", limit, limit)}
		}
		var in messageIn
		if err := dec.Decode(&in); err != nil {
			if fatalJSON(err) {
				return nil, jsonError(cutShort(err))
			}
			items = append(items, batchItem{err: jsonError(err)})
			continue
		}
		m, err := in.message()
		items = append(items, batchItem{m: m, err: err})
	}
	if err := expectDelim(dec, ']', "the end of the array"); err != nil {
		return nil, err
	}
	return items, nil
}

// cutShort is err, except that the end of the body, met after the batch
// object has begun, is an unexpected end (the decoder reports a plain
// io.EOF between tokens, which jsonError takes for an empty body).
func cutShort(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// fatalJSON reports whether a Decode error leaves the stream unreadable
// (JSON that does not parse, a body cut short or too large) rather than
// one value that does not fit its Go type: Decode reads a whole value
// before it decodes it, so after the latter the next value can be read.
func fatalJSON(err error) bool {
	var (
		syntaxErr *json.SyntaxError
		sizeErr   *http.MaxBytesError
		readErr   *Error // malformed_json from utf8Reader; not an item's field error
	)
	return errors.As(err, &syntaxErr) || errors.As(err, &sizeErr) ||
		errors.As(err, &readErr) && readErr.Code == CodeMalformedJSON ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// expectDelim reads the next token, which must be the delimiter d. The
// body's end before the opening brace is an empty body, before any other
// delimiter a body cut short.
func expectDelim(dec *json.Decoder, d json.Delim, what string) error {
	tok, err := dec.Token()
	if err != nil {
		if d != '{' {
			err = cutShort(err)
		}
		return jsonError(err)
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return malformed("expected %s, got %s (at byte %d)", what, tokenKind(tok), dec.InputOffset())
	}
	return nil
}

// tokenKind names a JSON token for error messages.
func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return "a JSON object"
		case '[':
			return "a JSON array"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		return "a JSON string"
	case bool:
		return "a JSON bool"
	case float64, json.Number:
		return "a JSON number"
	case nil:
		return "null"
	}
	return "a JSON value"
}
