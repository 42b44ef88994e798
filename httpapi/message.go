package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/outboxmail/outbox"
)

// messageIn is the JSON body of POST /v1/messages and of each item of a
// batch: the fields of outbox.Message, with the values that need parsing
// kept as strings so that their errors name the field.
type messageIn struct {
	From        fromIn                               `json:"from"`
	To          list[addressIn, toField]             `json:"to"`
	Cc          list[addressIn, ccField]             `json:"cc"`
	Bcc         list[addressIn, bccField]            `json:"bcc"`
	ReplyTo     list[addressIn, replyToField]        `json:"reply_to"`
	Subject     string                               `json:"subject"`
	Text        string                               `json:"text"`
	HTML        string                               `json:"html"`
	Headers     map[string]string                    `json:"headers"`
	Attachments list[attachmentIn, attachmentsField] `json:"attachments"`
	MessageID   string                               `json:"message_id"`
	Priority    string                               `json:"priority"`
	SendAt      string                               `json:"send_at"`
	ExpiresAt   string                               `json:"expires_at"`
	Backend     string                               `json:"backend"`
	Tags        list[string, tagsField]              `json:"tags"`
	Metadata    map[string]string                    `json:"metadata"`
	// IdempotencyKey is for batch items; a single message may use the
	// Idempotency-Key header instead.
	IdempotencyKey string `json:"idempotency_key"`
}

// attachmentIn is an attachment as JSON, its content in base64.
type attachmentIn struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Content     string `json:"content"`
	ContentID   string `json:"content_id"`
}

// UnmarshalJSON decodes an attachment, refusing unknown fields.
func (a *attachmentIn) UnmarshalJSON(b []byte) error {
	type plain attachmentIn
	return strictUnmarshal(b, (*plain)(a))
}

// addressIn is an address as JSON: "Name <local@domain>", "local@domain"
// or {"name": …, "email": …}, unknown object fields refused.
type addressIn outbox.Address

// UnmarshalJSON reads a string as outbox.Address does, and an object
// strictly.
func (a *addressIn) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return (*outbox.Address)(a).UnmarshalJSON(b)
	}
	if string(b) == "null" {
		return nil
	}
	var obj struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := strictUnmarshal(b, &obj); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "" {
			// Not an object: report it as the address's type error so
			// that the decoder adds the field's name.
			return &json.UnmarshalTypeError{Value: typeErr.Value, Type: reflect.TypeFor[addressIn](), Offset: typeErr.Offset}
		}
		return err
	}
	*a = addressIn{Name: obj.Name, Addr: obj.Email}
	return nil
}

// fromIn is the from field: an addressIn whose unknown object fields are
// named under it ("from.emial").
type fromIn addressIn

// UnmarshalJSON decodes the address as addressIn does.
func (f *fromIn) UnmarshalJSON(b []byte) error {
	err := (*addressIn)(f).UnmarshalJSON(b)
	if err == nil {
		return nil
	}
	if name, ok := unknownField(err); ok {
		return badField("from."+name, "unknown field %q", name)
	}
	return err
}

// message converts the JSON form to an outbox.Message. Its errors are
// *outbox.FieldError; the message itself is validated at enqueue.
func (in *messageIn) message() (*outbox.Message, error) {
	m := &outbox.Message{
		From:           outbox.Address(in.From),
		To:             addresses(in.To),
		Cc:             addresses(in.Cc),
		Bcc:            addresses(in.Bcc),
		ReplyTo:        addresses(in.ReplyTo),
		Subject:        in.Subject,
		Text:           in.Text,
		HTML:           in.HTML,
		Headers:        in.Headers,
		MessageID:      in.MessageID,
		Backend:        in.Backend,
		Tags:           in.Tags,
		Metadata:       in.Metadata,
		IdempotencyKey: in.IdempotencyKey,
	}
	var err error
	if m.Priority, err = outbox.ParsePriority(in.Priority); err != nil {
		return nil, &outbox.FieldError{Field: "priority", Message: err.Error()}
	}
	if m.SendAt, err = parseTime("send_at", in.SendAt); err != nil {
		return nil, err
	}
	if m.ExpiresAt, err = parseTime("expires_at", in.ExpiresAt); err != nil {
		return nil, err
	}
	if len(in.Attachments) > 0 {
		m.Attachments = make([]outbox.Attachment, len(in.Attachments))
		for i, a := range in.Attachments {
			content, err := base64.StdEncoding.DecodeString(a.Content)
			if err != nil {
				return nil, &outbox.FieldError{
					Field:   fmt.Sprintf("attachments[%d].content", i),
					Message: fmt.Sprintf("invalid base64: %v", err),
				}
			}
			m.Attachments[i] = outbox.Attachment{
				Filename:    a.Filename,
				ContentType: a.ContentType,
				Content:     content,
				ContentID:   a.ContentID,
			}
		}
	}
	return m, nil
}

// addresses converts a list of JSON addresses.
func addresses[F fieldName](in list[addressIn, F]) []outbox.Address {
	if len(in) == 0 {
		return nil
	}
	out := make([]outbox.Address, len(in))
	for i, a := range in {
		out[i] = outbox.Address(a)
	}
	return out
}

// parseTime parses an RFC 3339 time; empty means zero.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, &outbox.FieldError{
			Field:   field,
			Message: fmt.Sprintf("invalid time %q: want RFC 3339, e.g. 2006-01-02T15:04:05Z", s),
		}
	}
	return t.UTC(), nil
}
