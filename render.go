package outbox

import (
	"errors"
	"time"
)

// Rendered is a message ready to store: its RFC 5322 bytes and the facts
// the store keeps beside them.
type Rendered struct {
	// Data is the message with CRLF line endings.
	Data []byte
	// MessageID is the Message-ID header's value, with angle brackets.
	MessageID string
	// From is the envelope sender.
	From string
	// Recipients are the envelope recipients: to, cc and bcc, deduplicated
	// (case-insensitively on the domain), in that order.
	Recipients []string
	// Subject is the decoded Subject header.
	Subject string
}

// Render turns a validated message into its RFC 5322 bytes. PLACEHOLDER:
// replaced by the real renderer.
func Render(m *Message, now time.Time) (*Rendered, error) {
	return nil, errors.New("not implemented")
}

// Validate checks a message before enqueue. PLACEHOLDER.
func (m *Message) Validate() error { return nil }
