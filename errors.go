package outbox

import (
	"errors"
	"fmt"
)

// ErrMayHaveAccepted marks a backend's error after the message went out
// whole (the connection broke before the reply): the upstream may have
// taken it. Its recipients stay pending, with a temporary answer marked
// Uncertain, and a combined backend does not pass them to another child
// in the same attempt; a later retry may duplicate the message, with the
// same Message-ID.
var ErrMayHaveAccepted = errors.New("the server may have accepted the message")

// FieldError is a validation error about one field of a message. Field
// uses the JSON name, with an index for lists ("to[1]", "attachments[0].filename").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

func fieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}
