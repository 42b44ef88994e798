package smtpd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/emersion/go-smtp"
	"github.com/outboxmail/outbox"
)

// This file is the one place where errors become SMTP replies. go-smtp
// writes a returned *smtp.SMTPError as it is, code 250 included.

// maxReplyText bounds the text of a reply built from an error message.
const maxReplyText = 400

// reply returns the reply code ec text. Line breaks in the text, which
// would split the reply, become spaces.
func reply(code int, ec smtp.EnhancedCode, text string) *smtp.SMTPError {
	text = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, text)
	if len(text) > maxReplyText {
		text = text[:maxReplyText] + "…"
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: text}
}

// queuedReply acknowledges a committed message.
func queuedReply(id int64) *smtp.SMTPError {
	return reply(250, smtp.EnhancedCode{2, 0, 0}, fmt.Sprintf("queued as %d", id))
}

// Replies to commands the session refuses.
func replyAuthRequired() *smtp.SMTPError {
	return reply(530, smtp.EnhancedCode{5, 7, 0}, "Authentication required")
}

func replyEncryptionRequired() *smtp.SMTPError {
	return reply(538, smtp.EnhancedCode{5, 7, 11}, "Encryption required for requested authentication mechanism")
}

func replyShuttingDown() *smtp.SMTPError {
	return reply(421, smtp.EnhancedCode{4, 3, 2}, "Service shutting down, try again later")
}

func replyNestedMail() *smtp.SMTPError {
	return reply(503, smtp.EnhancedCode{5, 5, 1}, "Nested MAIL command: end the transaction with DATA or RSET first")
}

func replyBadSequence(text string) *smtp.SMTPError {
	return reply(503, smtp.EnhancedCode{5, 5, 1}, text)
}

func replyNotStored() *smtp.SMTPError {
	return reply(451, smtp.EnhancedCode{4, 3, 0}, "Temporary failure: the message was not stored, try again later")
}

// enqueueReply is the reply to a message that applyControls or
// Client.Enqueue refused. Store failures and anything unexpected are
// temporary (451 4.3.0): the client keeps the message and tries again,
// which is safe because nothing was stored. Only a message the client
// must change is refused for good.
func enqueueReply(err error) *smtp.SMTPError {
	var ce *controlError
	if errors.As(err, &ce) {
		return reply(550, smtp.EnhancedCode{5, 6, 0}, ce.Error())
	}
	var fe *outbox.FieldError
	if errors.As(err, &fe) && !errors.Is(err, outbox.ErrUnavailable) {
		return fieldReply(fe)
	}
	return replyNotStored()
}

// fieldReply is the reply to a validation error about one message field.
func fieldReply(fe *outbox.FieldError) *smtp.SMTPError {
	base, _, _ := strings.Cut(fe.Field, "[")
	base, _, _ = strings.Cut(base, ".")
	switch base {
	case "from":
		return reply(553, smtp.EnhancedCode{5, 1, 7}, "Sender address refused: "+fe.Message)
	case "to":
		return reply(553, smtp.EnhancedCode{5, 1, 3}, "Recipient address refused: "+fe.Message)
	}
	if h := controlHeaderOf(base); h != "" {
		return reply(550, smtp.EnhancedCode{5, 6, 0}, h+": "+fe.Message)
	}
	return reply(554, smtp.EnhancedCode{5, 6, 0}, "Message refused: "+fe.Error())
}

// controlHeaderOf returns the control field that sets the message field
// with this JSON name, or "".
func controlHeaderOf(field string) string {
	switch field {
	case "backend":
		return fieldBackend
	case "priority":
		return fieldPriority
	case "send_at":
		return fieldSendAt
	case "tags":
		return fieldTags
	case "idempotency_key":
		return fieldIdempotencyKey
	}
	return ""
}

// readReply is the reply when the message data could not be read.
func readReply(err error) *smtp.SMTPError {
	var se *smtp.SMTPError
	var ne net.Error
	switch {
	case errors.As(err, &se):
		return se // e.g. smtp.ErrDataTooLarge: 552 5.3.4
	case errors.Is(err, smtp.ErrTooLongLine):
		return reply(500, smtp.EnhancedCode{5, 5, 2}, "Line too long")
	case errors.As(err, &ne) && ne.Timeout():
		return reply(421, smtp.EnhancedCode{4, 4, 2}, "Timeout while waiting for message data")
	case errors.Is(err, context.Canceled):
		return replyShuttingDown()
	}
	return reply(451, smtp.EnhancedCode{4, 3, 0}, "Error while reading message data, try again")
}
