package smtpd

import (
	"fmt"
	"strings"
	"time"

	"github.com/outboxmail/outbox"
)

// Control field names, as the documentation writes them.
const (
	fieldBackend        = "X-Outbox-Backend"
	fieldPriority       = "X-Outbox-Priority"
	fieldSendAt         = "X-Outbox-Send-At"
	fieldTags           = "X-Outbox-Tags"
	fieldIdempotencyKey = "X-Outbox-Idempotency-Key"
)

// controlFields lists the control fields.
var controlFields = [...]string{fieldBackend, fieldPriority, fieldSendAt, fieldTags, fieldIdempotencyKey}

// controlError is a control field the server cannot apply.
type controlError struct {
	Field   string
	Message string
}

// Error returns "<field>: <message>", as the reply says it.
func (e *controlError) Error() string { return e.Field + ": " + e.Message }

// applyControls sets m's fields from the control fields stripHeader
// removed. Each field may appear once, except X-Outbox-Tags, whose lists
// add up; an unknown X-Outbox-* field is an error, so that a misspelt one
// is not silently ignored.
func applyControls(m *outbox.Message, fields []headerField) error {
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		canon := canonicalControl(f.Name)
		if canon == "" {
			return &controlError{Field: f.Name, Message: "unknown control field (want " +
				strings.Join(controlFields[:], ", ") + ")"}
		}
		if seen[canon] && canon != fieldTags {
			return &controlError{Field: canon, Message: "appears more than once"}
		}
		seen[canon] = true
		if f.Value == "" {
			return &controlError{Field: canon, Message: "empty value"}
		}
		if strings.ContainsFunc(f.Value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return &controlError{Field: canon, Message: "value holds a control character"}
		}
		if err := applyControl(m, canon, f.Value); err != nil {
			return &controlError{Field: canon, Message: err.Error()}
		}
	}
	return nil
}

// canonicalControl returns the documented spelling of a control field's
// name, or "" for an unknown one.
func canonicalControl(name string) string {
	for _, c := range controlFields {
		if strings.EqualFold(name, c) {
			return c
		}
	}
	return ""
}

// applyControl sets the message field one control field names.
func applyControl(m *outbox.Message, field, v string) error {
	switch field {
	case fieldBackend:
		m.Backend = v
	case fieldPriority:
		p, err := outbox.ParsePriority(strings.ToLower(v))
		if err != nil {
			return err
		}
		m.Priority = p
	case fieldSendAt:
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fmt.Errorf("%q is not an RFC 3339 time such as 2006-01-02T15:04:05Z", v)
		}
		m.SendAt = t
	case fieldTags:
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				m.Tags = append(m.Tags, t)
			}
		}
	case fieldIdempotencyKey:
		m.IdempotencyKey = v
	}
	return nil
}
