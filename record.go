package outbox

import "time"

// Record is a message as the store keeps it: its rendered bytes, envelope,
// delivery state per recipient and attempt log.
type Record struct {
	// ID is the queue id the store assigns at enqueue ("queued as <id>").
	ID int64 `json:"id"`
	// MessageID is the RFC 5322 Message-ID, with angle brackets.
	MessageID string `json:"message_id"`
	Status    Status `json:"status"`
	// From is the envelope sender (may be empty for a bounce).
	From string `json:"from"`
	// Subject is decoded from the header, for listings.
	Subject    string      `json:"subject"`
	Recipients []Recipient `json:"recipients"`
	Priority   Priority    `json:"priority"`
	Backend    string      `json:"backend,omitempty"`
	Tags       []string    `json:"tags,omitempty"`
	// Metadata is the caller's string map, returned as given.
	Metadata       map[string]string `json:"metadata,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	// Size is the length of Raw.
	Size int `json:"size"`
	// Attempts counts delivery attempts that consumed a retry (throttled
	// and retry-now answers do not).
	Attempts  int       `json:"attempts"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// LifetimeStart is when the maximum queue lifetime began: the enqueue
	// (its SendAt when later), or an operator's last retry.
	LifetimeStart time.Time `json:"-"`
	SendAt        time.Time `json:"send_at,omitzero"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
	// NextAttemptAt is when a pending message is due.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// LastError is the reply of the last failed attempt.
	LastError string `json:"last_error,omitempty"`

	// AttemptLog is filled by Store.Get only, oldest first.
	AttemptLog []Attempt `json:"attempt_log,omitempty"`
	// Raw is the RFC 5322 message; filled by Store.Get and Store.Claim.
	Raw []byte `json:"-"`
	// Lease identifies the claim that holds a sending message; Complete
	// must present it. Set by Store.Claim, and by the client from
	// Store.Enqueue's result for a message stored claimed.
	Lease int64 `json:"-"`
	// LeaseUntil is when the claim a record is held under runs out: set
	// by the engine on a record it hands to Store.Enqueue with Status
	// sending (see Handoff), and on each record a claim returns; the
	// engine's commit of the outcome must end before it.
	LeaseUntil time.Time `json:"-"`
}

// Recipient is one envelope recipient's delivery state on one leg.
type Recipient struct {
	Addr string `json:"email"`
	// Leg names the backend leg for combined backends; "" for a single one.
	Leg    string          `json:"leg,omitempty"`
	Status RecipientStatus `json:"status"`
	// Reply is the last answer about this recipient.
	Reply     Reply     `json:"reply,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Attempt is one delivery attempt in a message's log.
type Attempt struct {
	At       time.Time     `json:"at"`
	Backend  string        `json:"backend"`
	Duration time.Duration `json:"duration_ns"`
	// Class is the outcome of the attempt as a whole: accepted when every
	// recipient tried was accepted, else the worst recipient's class.
	Class      Class             `json:"outcome"`
	Reply      Reply             `json:"reply,omitzero"`
	Recipients []RecipientResult `json:"recipients"`
}

// RecipientResult is an upstream's answer about one recipient.
type RecipientResult struct {
	Addr string `json:"email"`
	// Leg is the leg of a combined backend that answered ("0", "1.0"),
	// or "" for the backend's overall answer.
	Leg   string `json:"leg,omitempty"`
	Class Class  `json:"outcome"`
	Reply Reply  `json:"reply,omitzero"`
	// Via names the backend that gave the answer, by its URL without the
	// password, when a combined backend delivered through children.
	Via string `json:"via,omitempty"`
	// FailedOver marks the answer of a child that did not take the
	// recipient, so that the next child got it in the same attempt (a
	// failover or roundrobin). It is kept in the attempt log only: it is
	// not delivery state.
	FailedOver bool `json:"failed_over,omitempty"`
	// Uncertain marks a temporary answer after which the upstream may
	// have taken the message (see ErrMayHaveAccepted).
	Uncertain bool `json:"uncertain,omitempty"`
}
