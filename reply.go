package outbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reply is an upstream's answer: an SMTP reply code, its enhanced status
// code (RFC 3463, e.g. "5.1.1") and text. A zero Code means no reply was
// received (a network error, a timeout); Text then says what happened.
type Reply struct {
	Code     int    `json:"code,omitempty"`
	Enhanced string `json:"enhanced_code,omitempty"`
	Text     string `json:"text,omitempty"`
}

// String formats the reply as an SMTP server would write it.
func (r Reply) String() string {
	var b strings.Builder
	if r.Code != 0 {
		b.WriteString(strconv.Itoa(r.Code))
	}
	if r.Enhanced != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.Enhanced)
	}
	if r.Text != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.Text)
	}
	return b.String()
}

// Class is how the engine treats an upstream's answer.
type Class string

// The classes of PRODUCT.md's table.
const (
	// ClassAccepted: the upstream took responsibility for the recipient.
	ClassAccepted Class = "accepted"
	// ClassPermanent: the recipient fails now (5xx).
	ClassPermanent Class = "permanent"
	// ClassTemporary: deferred with backoff; counts an attempt.
	ClassTemporary Class = "temporary"
	// ClassThrottled: deferred without counting an attempt (421, 4.7.x, 4.2.1, HTTP 429).
	ClassThrottled Class = "throttled"
	// ClassRetryNow: the recipient goes again at once in a new transaction
	// (452 too many recipients), without counting an attempt.
	ClassRetryNow Class = "retry_now"
)

// Classify maps an SMTP reply to its class. A zero code (no reply: a network
// error or a timeout) is temporary.
func Classify(r Reply) Class {
	switch {
	case r.Code >= 200 && r.Code < 300:
		return ClassAccepted
	case r.Code >= 500 && r.Code < 600:
		return ClassPermanent
	case r.Code == 421 || r.Code == 429:
		return ClassThrottled
	case r.Code >= 400 && r.Code < 500:
		if strings.HasPrefix(r.Enhanced, "4.7.") || r.Enhanced == "4.2.1" {
			return ClassThrottled
		}
		if r.Code == 452 {
			return ClassRetryNow
		}
		return ClassTemporary
	default:
		return ClassTemporary
	}
}

// SendError is a failure of a whole delivery transaction: every recipient
// of the attempt gets its reply. Backends return it for an upstream's
// answer; any other error a backend returns is taken as temporary with no
// reply code.
type SendError struct {
	Reply Reply
	// Class overrides Classify(Reply) when set, e.g. for a local permanent
	// error that has no SMTP code (an upstream that lacks SMTPUTF8).
	Class Class
	Err   error
}

// Error describes the failure.
func (e *SendError) Error() string {
	s := e.Reply.String()
	if e.Err != nil {
		if s != "" {
			return s + ": " + e.Err.Error()
		}
		return e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *SendError) Unwrap() error { return e.Err }

// Permanent returns a SendError that fails every recipient of the attempt
// without an SMTP code, for a problem no retry can fix.
func Permanent(format string, args ...any) *SendError {
	msg := fmt.Sprintf(format, args...)
	return &SendError{Class: ClassPermanent, Reply: Reply{Text: msg}}
}

// ErrorClass returns the class and reply that an error returned by a
// backend stands for.
func ErrorClass(err error) (Class, Reply) {
	var se *SendError
	if errors.As(err, &se) {
		c := se.Class
		if c == "" {
			c = Classify(se.Reply)
		}
		r := se.Reply
		if r.Text == "" && se.Err != nil {
			r.Text = se.Err.Error()
		}
		return c, r
	}
	return ClassTemporary, Reply{Text: err.Error()}
}
