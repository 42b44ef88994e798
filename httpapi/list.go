package httpapi

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// list is a JSON array of the field F names, decoded element by element so
// that an element's error names it: "to[1]", "attachments[0].filename".
// encoding/json would name the list alone, and an unknown field inside an
// element by its own name only.
type list[T any, F fieldName] []T

// fieldName names a list's field.
type fieldName interface{ name() string }

type (
	toField          struct{}
	ccField          struct{}
	bccField         struct{}
	replyToField     struct{}
	attachmentsField struct{}
	tagsField        struct{}
)

func (toField) name() string          { return "to" }
func (ccField) name() string          { return "cc" }
func (bccField) name() string         { return "bcc" }
func (replyToField) name() string     { return "reply_to" }
func (attachmentsField) name() string { return "attachments" }
func (tagsField) name() string        { return "tags" }

// UnmarshalJSON decodes the array (an element type that refuses unknown
// fields does so in its own UnmarshalJSON). An error in an element is an
// *Error naming it; a value that is not an array is the decoder's type
// error, which names the field.
func (l *list[T, F]) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*l = nil
		return nil
	}
	// At once in the common case; element by element to name an error.
	if json.Unmarshal(b, (*[]T)(l)) == nil {
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(list[T, F], len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			var f F
			return elementError(f.name()+"["+strconv.Itoa(i)+"]", err)
		}
	}
	*l = out
	return nil
}

// elementError is the *Error of a list element named field that did not
// decode.
func elementError(field string, err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field != "" {
			field += "." + typeErr.Field
		}
		return badField(field, "expected %s, got a JSON %s", jsonKind(typeErr.Type), typeErr.Value)
	}
	if name, ok := unknownField(err); ok {
		return badField(field+"."+name, "unknown field %q", name)
	}
	return badField(field, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// unknownField returns the name in encoding/json's error for an unknown
// field, which has no type of its own (its text is stable).
func unknownField(err error) (string, bool) {
	name, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return "", false
	}
	if uq, err := strconv.Unquote(name); err == nil {
		name = uq
	}
	return name, true
}
