package smtp

import (
	"errors"
	"fmt"
	"net/textproto"
	"strconv"
	"strings"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/outboxmail/outbox"
)

// serverReply returns the server's reply that err carries, if it carries
// one: an SMTP error from go-smtp, or a textproto error from the exchange
// before go-smtp takes over.
func serverReply(err error) (outbox.Reply, bool) {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		r := outbox.Reply{Code: se.Code, Text: oneLine(se.Message)}
		if ec := se.EnhancedCode; ec != gosmtp.EnhancedCodeNotSet && ec != gosmtp.NoEnhancedCode {
			r.Enhanced = fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
		}
		return r, true
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		enh, text := splitEnhanced(te.Msg)
		return outbox.Reply{Code: te.Code, Enhanced: enh, Text: oneLine(text)}, true
	}
	return outbox.Reply{}, false
}

// splitEnhanced splits an RFC 3463 enhanced status code ("2.0.0") off the
// front of a reply's text.
func splitEnhanced(text string) (enhanced, rest string) {
	code, rest, _ := strings.Cut(text, " ")
	parts := strings.Split(code, ".")
	if len(parts) != 3 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return "", text
	}
	for _, p := range parts[1:] {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 999 || len(p) > 3 {
			return "", text
		}
	}
	return code, rest
}

// oneLine joins a multi-line reply's lines.
func oneLine(s string) string {
	return strings.ReplaceAll(s, "\n", " ")
}

// setupError wraps an error met while connecting, saying hello, starting
// TLS or logging in. A reply from the server at that stage is about the
// connection, not the message: it is temporary even when it is a 5xx (as
// Postfix's smtp_skip_5xx_greeting and smtp_sasl_auth_soft_bounce treat
// it), or throttled when Classify says so; so a wrong password or a
// misconfigured server holds mail until it is fixed instead of failing it.
func (b *Backend) setupError(stage string, err error) error {
	if r, ok := serverReply(err); ok {
		class := outbox.Classify(r)
		if class != outbox.ClassThrottled {
			class = outbox.ClassTemporary
		}
		return &outbox.SendError{Reply: r, Class: class, Err: fmt.Errorf("smtp %s: %s", b.name, stage)}
	}
	return fmt.Errorf("smtp %s: %s: %w", b.name, stage, err)
}
