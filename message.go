package outbox

import (
	"fmt"
	"time"
)

// Message is what an application hands to Outbox: either a structured
// message that Outbox renders to MIME, or a raw RFC 5322 message (Raw) with
// its envelope, stored byte-exact.
type Message struct {
	// From is the author, and the envelope sender unless Sender is set.
	From    Address   `json:"from"`
	To      []Address `json:"to,omitempty"`
	Cc      []Address `json:"cc,omitempty"`
	Bcc     []Address `json:"bcc,omitempty"`
	ReplyTo []Address `json:"reply_to,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Text    string    `json:"text,omitempty"`
	HTML    string    `json:"html,omitempty"`
	// Headers are extra header fields, e.g. List-Unsubscribe. They may not
	// replace the fields Outbox writes (From, To, Subject, MIME fields…).
	Headers     map[string]string `json:"headers,omitempty"`
	Attachments []Attachment      `json:"attachments,omitempty"`

	// MessageID is the RFC 5322 Message-ID, with its angle brackets. Empty:
	// Outbox assigns one at enqueue and reuses it on every retry.
	MessageID string `json:"message_id,omitempty"`

	// Raw, when set, is a complete RFC 5322 message sent as it is. From is
	// then the envelope sender (MAIL FROM, may be empty for a bounce) and To
	// the envelope recipients; Cc, Bcc, Subject and the bodies must be empty.
	// A Message-ID and a Date are added at the top when missing.
	Raw []byte `json:"-"`

	Priority Priority `json:"priority,omitempty"`
	// SendAt schedules delivery; zero means now.
	SendAt time.Time `json:"send_at,omitzero"`
	// ExpiresAt is when an undelivered message gives up; zero means the
	// engine's maximum queue lifetime only.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Backend names the backend to deliver through; empty means the default.
	Backend  string            `json:"backend,omitempty"`
	Tags     []string          `json:"tags,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// IdempotencyKey makes a repeated enqueue return the first message
	// instead of enqueuing again.
	IdempotencyKey string `json:"-"`
}

// Attachment is a file attached to a message. Inline attachments (with a
// ContentID) can be referenced from the HTML body as cid:ContentID.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	// Content is the file's bytes (base64 in JSON).
	Content   []byte `json:"content"`
	ContentID string `json:"content_id,omitempty"`
}

// Priority orders delivery: each claim gives high, normal and low a
// weighted share (see EngineConfig.PriorityWeights).
type Priority int8

// Priorities, lowest first. The zero value is normal.
const (
	PriorityLow    Priority = -1
	PriorityNormal Priority = 0
	PriorityHigh   Priority = 1
)

// Priorities lists the priorities, highest first: the order of a claim.
var Priorities = []Priority{PriorityHigh, PriorityNormal, PriorityLow}

// String returns "high", "normal" or "low".
func (p Priority) String() string {
	switch p {
	case PriorityHigh:
		return "high"
	case PriorityLow:
		return "low"
	case PriorityNormal:
		return "normal"
	}
	return fmt.Sprintf("Priority(%d)", int8(p))
}

// ParsePriority parses "high", "normal" (or "") and "low".
func ParsePriority(s string) (Priority, error) {
	switch s {
	case "high":
		return PriorityHigh, nil
	case "normal", "":
		return PriorityNormal, nil
	case "low":
		return PriorityLow, nil
	}
	return 0, fmt.Errorf("unknown priority %q (want high, normal or low)", s)
}

// MarshalText writes the priority's name.
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a priority's name.
func (p *Priority) UnmarshalText(b []byte) error {
	v, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}
