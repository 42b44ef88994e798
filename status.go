package outbox

import "fmt"

// Status is where a message, or one of its recipients, is in its lifecycle.
type Status string

// The lifecycle of a message. Queued, Sending and Deferred are pending: the
// engine will still deliver them. The others are final.
const (
	StatusQueued    Status = "queued"
	StatusSending   Status = "sending"
	StatusSent      Status = "sent"
	StatusDeferred  Status = "deferred"
	StatusFailed    Status = "failed"
	StatusExpired   Status = "expired"
	StatusCancelled Status = "cancelled"
)

// Statuses lists every status, pending ones first.
var Statuses = []Status{
	StatusQueued, StatusSending, StatusDeferred,
	StatusSent, StatusFailed, StatusExpired, StatusCancelled,
}

// Pending reports whether a message in this status will still be delivered.
func (s Status) Pending() bool {
	return s == StatusQueued || s == StatusSending || s == StatusDeferred
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// ParseStatus returns the status named by s, or an error naming it.
func ParseStatus(s string) (Status, error) {
	if st := Status(s); st.Valid() {
		return st, nil
	}
	return "", fmt.Errorf("unknown status %q (want one of queued, sending, deferred, sent, failed, expired, cancelled)", s)
}

// RecipientStatus is the delivery state of one recipient on one leg.
type RecipientStatus string

// Recipient states. Pending recipients are sent on the next attempt; the
// others are final.
const (
	RecipientPending   RecipientStatus = "pending"
	RecipientSent      RecipientStatus = "sent"
	RecipientFailed    RecipientStatus = "failed"
	RecipientExpired   RecipientStatus = "expired"
	RecipientCancelled RecipientStatus = "cancelled"
)

// DeriveStatus computes a message's final status from its recipients' once
// none is pending, as the lifecycle says: any recipient accepted → sent;
// every recipient refused → failed; expired or cancelled when every recipient
// that is not failed was. It returns ok=false while a recipient is pending.
func DeriveStatus(rcpts []Recipient) (s Status, ok bool) {
	var sent, failed, expired, cancelled int
	for _, r := range rcpts {
		switch r.Status {
		case RecipientPending:
			return "", false
		case RecipientSent:
			sent++
		case RecipientFailed:
			failed++
		case RecipientExpired:
			expired++
		case RecipientCancelled:
			cancelled++
		}
	}
	switch {
	case sent > 0:
		return StatusSent, true
	case expired > 0:
		return StatusExpired, true
	case cancelled > 0:
		return StatusCancelled, true
	default:
		return StatusFailed, true
	}
}
