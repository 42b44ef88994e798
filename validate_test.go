package outbox

import (
	"errors"
	"strings"
	"testing"
)

// validMessage returns a structured message that passes Validate.
func validMessage() *Message {
	return &Message{
		From:    Address{Name: "Help Desk", Addr: "help@example.com"},
		To:      []Address{{Addr: "ann@example.org"}, {Name: "Bob", Addr: "bob@example.org"}},
		Subject: "Hello",
		Text:    "Hi.",
	}
}

// validRaw returns a raw message that passes Validate.
func validRaw() *Message {
	return &Message{
		From: Address{Addr: "bounce@example.com"},
		To:   []Address{{Addr: "ann@example.org"}},
		Raw:  []byte("From: help@example.com\r\nSubject: hi\r\n\r\nbody\r\n"),
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(m *Message)
		raw    bool
		field  string // "" means valid
		inText string // part of the message, when set
	}{
		// Structured messages that pass.
		{name: "minimal", edit: func(m *Message) {}},
		{name: "cc only", edit: func(m *Message) { m.Cc, m.To = m.To, nil }},
		{name: "bcc only", edit: func(m *Message) { m.Bcc, m.To = m.To, nil }},
		{name: "html only", edit: func(m *Message) { m.Text, m.HTML = "", "<p>hi</p>" }},
		{name: "attachment only", edit: func(m *Message) {
			m.Text = ""
			m.Attachments = []Attachment{{Filename: "a.txt", Content: []byte("x")}}
		}},
		{name: "unicode address (RFC 6531)", edit: func(m *Message) {
			m.To = []Address{{Name: "用户", Addr: "用户@例子.广告"}, {Addr: "jörg@müller.de"}}
		}},
		{name: "address literal", edit: func(m *Message) { m.To = []Address{{Addr: "postmaster@[192.0.2.1]"}} }},
		{name: "unicode subject and names", edit: func(m *Message) {
			m.Subject = "Grüße 🎉"
			m.From.Name = "Jörg Müller"
		}},
		{name: "tab in subject", edit: func(m *Message) { m.Subject = "a\tb" }},
		{name: "extra headers", edit: func(m *Message) {
			m.Headers = map[string]string{"List-Unsubscribe": "<mailto:u@example.com>", "X-Note": "Ça va", "X-Empty": ""}
		}},
		{name: "inline attachment", edit: func(m *Message) {
			m.HTML = `<img src="cid:logo">`
			m.Attachments = []Attachment{{Filename: "logo.png", ContentType: "image/png", ContentID: "logo"}}
		}},
		{name: "content id in brackets", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "logo.png", ContentID: "<logo@example.com>"}}
		}},
		{name: "message id", edit: func(m *Message) { m.MessageID = "<abc.123@mail.example.com>" }},
		{name: "priorities", edit: func(m *Message) { m.Priority = PriorityLow }},
		{name: "tags and metadata", edit: func(m *Message) {
			m.Tags = []string{"welcome", "ünïcode"}
			m.Metadata = map[string]string{"user_id": "42", "note": "multi\nline values are fine"}
		}},

		// Structured messages that fail, each naming its field.
		{name: "no from", edit: func(m *Message) { m.From = Address{} }, field: "from", inText: "required"},
		{name: "bad from", edit: func(m *Message) { m.From.Addr = "not-an-address" }, field: "from"},
		{name: "CRLF in from name", edit: func(m *Message) { m.From.Name = "Evil\r\nBcc: x@evil.example" }, field: "from", inText: "line break"},
		{name: "no recipient", edit: func(m *Message) { m.To = nil }, field: "to", inText: "at least one recipient"},
		{name: "bad to", edit: func(m *Message) { m.To[1].Addr = "bob@" }, field: "to[1]"},
		{name: "two addresses in one", edit: func(m *Message) { m.To[1].Addr = "b@example.com,c@example.com" }, field: "to[1]", inText: "comma"},
		{name: "name where the bare address goes", edit: func(m *Message) { m.To[1].Addr = "Bob <b@example.com>" }, field: "to[1]", inText: "bare address"},
		{name: "CRLF in display name", edit: func(m *Message) { m.To[1].Name = "Bob\r\nX-Injected: 1" }, field: "to[1]", inText: "line break"},
		{name: "LF in display name", edit: func(m *Message) { m.To[0].Name = "Ann\nX: y" }, field: "to[0]"},
		{name: "NUL in display name", edit: func(m *Message) { m.To[0].Name = "Ann\x00" }, field: "to[0]", inText: "NUL"},
		{name: "bad utf-8 in display name", edit: func(m *Message) { m.To[0].Name = "Ann\xff" }, field: "to[0]", inText: "UTF-8"},
		{name: "CRLF in address", edit: func(m *Message) { m.To[0].Addr = "ann@example.org\r\nRCPT TO:<x@y>" }, field: "to[0]"},
		{name: "space in address", edit: func(m *Message) { m.To[0].Addr = "ann smith@example.org" }, field: "to[0]"},
		{name: "bad domain", edit: func(m *Message) { m.To[0].Addr = "ann@-example.org" }, field: "to[0]"},
		{name: "bad cc", edit: func(m *Message) { m.Cc = []Address{{Addr: "ok@example.com"}, {Addr: "@example.com"}} }, field: "cc[1]"},
		{name: "bad bcc", edit: func(m *Message) { m.Bcc = []Address{{Addr: "x"}} }, field: "bcc[0]"},
		{name: "bad reply-to", edit: func(m *Message) { m.ReplyTo = []Address{{Addr: "x@y..z"}} }, field: "reply_to[0]"},
		{name: "CRLF in subject", edit: func(m *Message) { m.Subject = "Hi\r\nBcc: victim@example.com" }, field: "subject", inText: "line break"},
		{name: "CR in subject", edit: func(m *Message) { m.Subject = "Hi\rthere" }, field: "subject"},
		{name: "NUL in subject", edit: func(m *Message) { m.Subject = "Hi\x00" }, field: "subject", inText: "NUL"},
		{name: "CRLF in header value", edit: func(m *Message) {
			m.Headers = map[string]string{"X-Foo": "a\r\nBcc: victim@example.com"}
		}, field: "headers.X-Foo", inText: "line break"},
		{name: "colon in header name", edit: func(m *Message) { m.Headers = map[string]string{"X:Foo": "a"} }, field: "headers"},
		{name: "space in header name", edit: func(m *Message) { m.Headers = map[string]string{"X Foo": "a"} }, field: "headers"},
		{name: "CRLF in header name", edit: func(m *Message) { m.Headers = map[string]string{"X-Foo\r\nBcc": "a"} }, field: "headers"},
		{name: "long header name", edit: func(m *Message) { m.Headers = map[string]string{"X-" + strings.Repeat("a", 80): "a"} }, field: "headers"},
		{name: "empty header name", edit: func(m *Message) { m.Headers = map[string]string{"": "a"} }, field: "headers"},
		{name: "reserved header", edit: func(m *Message) { m.Headers = map[string]string{"subject": "other"} }, field: "headers.subject"},
		{name: "reserved header any case", edit: func(m *Message) { m.Headers = map[string]string{"CONTENT-TYPE": "text/plain"} }, field: "headers.CONTENT-TYPE"},
		{name: "bcc header", edit: func(m *Message) { m.Headers = map[string]string{"Bcc": "x@example.com"} }, field: "headers.Bcc"},
		{name: "message-id header", edit: func(m *Message) { m.Headers = map[string]string{"Message-Id": "<a@b>"} }, field: "headers.Message-Id"},
		{name: "repeated header", edit: func(m *Message) { m.Headers = map[string]string{"X-A": "1", "x-a": "2"} }, field: "headers.x-a"},
		{name: "unfoldable header value", edit: func(m *Message) {
			m.Headers = map[string]string{"X-Long": strings.Repeat("a", 901)}
		}, field: "headers.X-Long"},
		{name: "long header value of short words", edit: func(m *Message) {
			m.Headers = map[string]string{"X-Long": strings.Repeat("word ", 600) + "end"}
		}},
		{name: "header value unfoldable at double spaces", edit: func(m *Message) {
			m.Headers = map[string]string{"X-Long": strings.Repeat("a", 400) + "  " + strings.Repeat("b", 400) + "  " + strings.Repeat("c", 400)}
		}, field: "headers.X-Long", inText: "fold"},
		{name: "header value unfoldable at tabs", edit: func(m *Message) {
			m.Headers = map[string]string{"X-Long": strings.Repeat("a\t", 1000)}
		}, field: "headers.X-Long", inText: "fold"},
		{name: "unfoldable content type parameter", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a.bin", ContentType: "application/octet-stream; x=" + strings.Repeat("y", 1200)}}
		}, field: "attachments[0].content_type", inText: "fold"},
		{name: "smallest bad header is reported", edit: func(m *Message) {
			m.Headers = map[string]string{"X-B": "\n", "X-A": "\n", "X-C": "\n"}
		}, field: "headers.X-A"},
		{name: "no body", edit: func(m *Message) { m.Text = "" }, field: "text"},
		{name: "bad utf-8 text", edit: func(m *Message) { m.Text = "\xc3\x28" }, field: "text"},
		{name: "bad utf-8 html", edit: func(m *Message) { m.HTML = "\xc3\x28" }, field: "html"},
		{name: "attachment without filename", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a"}, {Content: []byte("x")}}
		}, field: "attachments[1].filename", inText: "required"},
		{name: "CRLF in attachment filename", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a.txt\r\nContent-Type: text/html"}}
		}, field: "attachments[0].filename", inText: "line break"},
		{name: "long attachment filename", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: strings.Repeat("ä", 128)}}
		}, field: "attachments[0].filename"},
		{name: "CRLF in content type", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a", ContentType: "text/plain\r\nX: y"}}
		}, field: "attachments[0].content_type"},
		{name: "bad content type", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a", ContentType: "not a type"}}
		}, field: "attachments[0].content_type"},
		{name: "media type without subtype", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a", ContentType: "bogus"}}
		}, field: "attachments[0].content_type", inText: "type/subtype"},
		{name: "multipart content type", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a", ContentType: "multipart/mixed; boundary=x"}}
		}, field: "attachments[0].content_type"},
		{name: "CRLF in content id", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a", ContentID: "x\r\ny"}}
		}, field: "attachments[0].content_id"},
		{name: "space in content id", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a", ContentID: "x y"}}
		}, field: "attachments[0].content_id"},
		{name: "repeated content id", edit: func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a", ContentID: "x"}, {Filename: "b", ContentID: "<x>"}}
		}, field: "attachments[1].content_id"},
		{name: "message id without brackets", edit: func(m *Message) { m.MessageID = "abc@example.com" }, field: "message_id"},
		{name: "message id without at", edit: func(m *Message) { m.MessageID = "<abc>" }, field: "message_id"},
		{name: "message id with space", edit: func(m *Message) { m.MessageID = "<a b@example.com>" }, field: "message_id"},
		{name: "message id with CRLF", edit: func(m *Message) { m.MessageID = "<a@b>\r\nX: y" }, field: "message_id"},
		{name: "message id empty sides", edit: func(m *Message) { m.MessageID = "<@b>" }, field: "message_id"},
		{name: "bad priority", edit: func(m *Message) { m.Priority = 7 }, field: "priority"},
		{name: "CRLF in tag", edit: func(m *Message) { m.Tags = []string{"ok", "a\r\nb"} }, field: "tags[1]"},
		{name: "NUL in metadata key", edit: func(m *Message) { m.Metadata = map[string]string{"k\x00": "v"} }, field: "metadata"},

		// Raw messages.
		{name: "raw", raw: true, edit: func(m *Message) {}},
		{name: "raw null sender", raw: true, edit: func(m *Message) { m.From = Address{} }},
		{name: "raw LF endings", raw: true, edit: func(m *Message) { m.Raw = []byte("Subject: hi\n\nbody\n") }},
		{name: "raw header only", raw: true, edit: func(m *Message) { m.Raw = []byte("Subject: hi") }},
		{name: "raw matching message id", raw: true, edit: func(m *Message) {
			m.Raw = []byte("Message-ID: <a@b>\r\n\r\n")
			m.MessageID = "<a@b>"
		}},
		{name: "raw bad sender", raw: true, edit: func(m *Message) { m.From.Addr = "x" }, field: "from"},
		{name: "raw sender name", raw: true, edit: func(m *Message) { m.From.Name = "X" }, field: "from"},
		{name: "raw no recipient", raw: true, edit: func(m *Message) { m.To = nil }, field: "to"},
		{name: "raw bad recipient", raw: true, edit: func(m *Message) { m.To = append(m.To, Address{Addr: "bad"}) }, field: "to[1]"},
		{name: "raw recipient name", raw: true, edit: func(m *Message) { m.To[0].Name = "Ann" }, field: "to[0]"},
		{name: "raw cc", raw: true, edit: func(m *Message) { m.Cc = []Address{{Addr: "a@b.c"}} }, field: "cc"},
		{name: "raw bcc", raw: true, edit: func(m *Message) { m.Bcc = []Address{{Addr: "a@b.c"}} }, field: "bcc"},
		{name: "raw reply-to", raw: true, edit: func(m *Message) { m.ReplyTo = []Address{{Addr: "a@b.c"}} }, field: "reply_to"},
		{name: "raw subject", raw: true, edit: func(m *Message) { m.Subject = "x" }, field: "subject"},
		{name: "raw text", raw: true, edit: func(m *Message) { m.Text = "x" }, field: "text"},
		{name: "raw html", raw: true, edit: func(m *Message) { m.HTML = "x" }, field: "html"},
		{name: "raw headers", raw: true, edit: func(m *Message) { m.Headers = map[string]string{"X": "y"} }, field: "headers"},
		{name: "raw attachments", raw: true, edit: func(m *Message) { m.Attachments = []Attachment{{Filename: "a"}} }, field: "attachments"},
		{name: "raw empty", raw: true, edit: func(m *Message) { m.Raw = []byte{} }, field: "raw"},
		{name: "raw no header", raw: true, edit: func(m *Message) { m.Raw = []byte("\r\nbody only\r\n") }, field: "raw"},
		{name: "raw not a header", raw: true, edit: func(m *Message) { m.Raw = []byte("hello world\r\n\r\nbody") }, field: "raw"},
		{name: "raw bad field name", raw: true, edit: func(m *Message) { m.Raw = []byte("Sub ject: x\r\n\r\n") }, field: "raw"},
		{name: "raw empty message id", raw: true, edit: func(m *Message) { m.Raw = []byte("Message-ID: \r\n\r\n") }, field: "raw"},
		{name: "raw conflicting message id", raw: true, edit: func(m *Message) {
			m.Raw = []byte("Message-ID: <a@b>\r\n\r\n")
			m.MessageID = "<c@d>"
		}, field: "message_id"},
		{name: "raw bad message id", raw: true, edit: func(m *Message) { m.MessageID = "x" }, field: "message_id"},
		{name: "raw bad priority", raw: true, edit: func(m *Message) { m.Priority = -2 }, field: "priority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMessage()
			if tt.raw {
				m = validRaw()
			}
			tt.edit(m)
			err := m.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				r, err := Render(m, renderNow)
				if err != nil {
					t.Fatalf("Render after Validate: %v", err)
				}
				for i, line := range strings.Split(string(r.Data), "\r\n") {
					if len(line) > 998 {
						t.Fatalf("rendered line %d has %d octets, over RFC 5322's 998", i, len(line))
					}
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v (%T), want a *FieldError for %s", err, err, tt.field)
			}
			if fe.Field != tt.field {
				t.Errorf("Field = %q, want %q (%v)", fe.Field, tt.field, err)
			}
			if !strings.Contains(fe.Message, tt.inText) {
				t.Errorf("Message = %q, want it to mention %q", fe.Message, tt.inText)
			}
			if strings.ContainsAny(fe.Field, "\r\n") {
				t.Errorf("Field %q holds a line break", fe.Field)
			}
		})
	}
}

// TestValidateNilError checks that a valid message returns an untyped nil
// error, not a nil *FieldError in an interface.
func TestValidateNilError(t *testing.T) {
	var err error = validMessage().Validate()
	if err != nil {
		t.Fatalf("Validate() = %#v", err)
	}
}
