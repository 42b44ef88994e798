package torture

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// rawMessage is an RFC 5322 message as an application submits it over
// SMTP, identified at the sink by key (X-Torture-Key) and carrying the
// Message-ID msgID.
func rawMessage(key, msgID string) []byte {
	return []byte("From: app@example.com\r\nTo: user@example.net\r\nSubject: torture " + key +
		"\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: " + msgID +
		"\r\nX-Torture-Key: " + key + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Your order has shipped.\r\n")
}

// dialSMTP opens a session with the submission listener at addr.
func dialSMTP(addr string) (*smtp.Client, error) {
	c, err := smtp.Dial(addr)
	if err != nil {
		return nil, err
	}
	if err := c.Hello("app.example.com"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// errBadQueueID wraps the error of a 250 reply to the data whose queue id
// does not read: the message was acknowledged all the same.
var errBadQueueID = errors.New("250 without a readable queue id")

// acknowledged reports whether submit's error still means a 250 came:
// the message must be delivered.
func acknowledged(err error) bool { return err == nil || errors.Is(err, errBadQueueID) }

// submit runs one transaction and returns the queue id from the 250
// reply to the data ("queued as <id>"), or the error (an *smtp.SMTPError
// for a refusal; errBadQueueID after a 250 whose id does not read).
func submit(c *smtp.Client, from string, to []string, msg []byte) (int64, error) {
	if err := c.Mail(from, nil); err != nil {
		return 0, err
	}
	for _, addr := range to {
		if err := c.Rcpt(addr, nil); err != nil {
			return 0, err
		}
	}
	w, err := c.Data()
	if err != nil {
		return 0, err
	}
	if _, err := bytes.NewReader(msg).WriteTo(w); err != nil {
		return 0, err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return 0, err
	}
	_, id, _ := strings.Cut(resp.StatusText, "queued as ")
	f := strings.Fields(id)
	if len(f) == 0 {
		return 0, fmt.Errorf("%w: %q", errBadQueueID, resp.StatusText)
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", errBadQueueID, resp.StatusText)
	}
	return n, nil
}

// smtpCode returns the reply code of an SMTP refusal, or 0 for another
// error.
func smtpCode(err error) int {
	var e *smtp.SMTPError
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
