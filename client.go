package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrUnavailable wraps a store failure (disk full, database down): nothing
// was committed and the caller should try again later. The one exception
// is a failed fsync, after which the store cannot tell whether the commit
// reached the disk, and says so in the error.
var ErrUnavailable = errors.New("store unavailable")

// Client enqueues and manages messages. It is what the HTTP API, the SMTP
// listener, the sendmail command and Go programs use. It is safe for
// concurrent use.
type Client struct {
	store   Store
	now     func() time.Time
	notify  func()
	handoff Handoff
	backend func(name string) bool
	route   func(m *Message) string
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// Store is where messages are kept. Required.
	Store Store
	// Notify is called after an enqueue that stored mail no worker took
	// at once (see Handoff); pass Engine.Notify so that an idle engine
	// wakes at once.
	Notify func()
	// Handoff, when set, takes messages due at once straight to a free
	// worker, stored claimed in the enqueue's own commit; pass the Engine.
	Handoff Handoff
	// KnownBackend reports whether a backend name may be chosen per
	// message. Nil allows only the default (an empty name).
	KnownBackend func(name string) bool
	// Route, when set, chooses the backend of a message that names none
	// (routing rules by sender domain, recipient domain or tag); "" keeps
	// the default. The choice is stored with the message at enqueue.
	Route func(m *Message) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Receipt is the answer to an enqueue.
type Receipt struct {
	ID        int64  `json:"id"`
	MessageID string `json:"message_id"`
	Status    Status `json:"status"`
	// Existing is set when an idempotency key matched an earlier message;
	// ID and MessageID are that message's.
	Existing bool `json:"-"`
}

// BatchResult is the result of one item of EnqueueBatch: a receipt or an error.
type BatchResult struct {
	Receipt *Receipt
	Err     error
}

// NewClient returns a client over cfg.Store.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Store == nil {
		return nil, errors.New("outbox: ClientConfig.Store is required")
	}
	c := &Client{store: cfg.Store, now: cfg.Now, notify: cfg.Notify, handoff: cfg.Handoff, backend: cfg.KnownBackend, route: cfg.Route}
	if c.now == nil {
		c.now = time.Now
	}
	if c.notify == nil {
		c.notify = func() {}
	}
	if c.backend == nil {
		c.backend = func(name string) bool { return name == "" }
	}
	return c, nil
}

// Enqueue validates m, renders it and commits it. A nil error means the
// message is durably stored. Validation errors are *FieldError; store
// failures wrap ErrUnavailable.
func (c *Client) Enqueue(ctx context.Context, m *Message) (*Receipt, error) {
	res, err := c.EnqueueBatch(ctx, []*Message{m})
	if err != nil {
		return nil, err
	}
	return res[0].Receipt, res[0].Err
}

// EnqueueBatch enqueues several messages in one commit. Each item gets its
// own result: invalid items are refused without affecting the valid ones.
// The error is for the whole batch (the commit failed; nothing was stored).
func (c *Client) EnqueueBatch(ctx context.Context, msgs []*Message) ([]BatchResult, error) {
	now := c.now().UTC()
	results := make([]BatchResult, len(msgs))
	recs := make([]*Record, 0, len(msgs))
	idx := make([]int, 0, len(msgs))
	for i, m := range msgs {
		rec, err := c.prepare(m, now)
		if err != nil {
			results[i].Receipt, results[i].Err = c.repeated(ctx, m, err)
			continue
		}
		recs = append(recs, rec)
		idx = append(idx, i)
	}
	if len(recs) == 0 {
		return results, nil
	}
	reserved := 0
	if c.handoff != nil {
		reserved = c.handoff.Reserve(recs, now)
	}
	stored, err := c.store.Enqueue(ctx, recs)
	if err == nil && len(stored) != len(recs) {
		// A store breaking its contract: acknowledge nothing.
		err = fmt.Errorf("the store returned %d results for %d messages", len(stored), len(recs))
	}
	if err != nil {
		c.handOver(recs, nil, reserved)
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	queued := false
	for j, r := range stored {
		i := idx[j]
		if r.Err != nil {
			results[i].Err = r.Err
			continue
		}
		// A message handed to a worker is reported queued too: accepted,
		// with delivery begun.
		switch {
		case r.Existing:
			results[i].Receipt = c.existing(ctx, r.ID, recs[j].MessageID)
			continue
		case r.Lease == 0:
			queued = true
		}
		results[i].Receipt = &Receipt{ID: r.ID, MessageID: recs[j].MessageID, Status: StatusQueued}
	}
	c.handOver(recs, stored, reserved)
	if queued {
		c.notify()
	}
	return results, nil
}

// repeated answers a message that prepare refused with err: when its
// idempotency key is stored, it is a repeat of a message accepted before
// (its expires_at has passed since, or its backend left the config), and
// gets that message's receipt, as a repeat does; otherwise err.
func (c *Client) repeated(ctx context.Context, m *Message, err error) (*Receipt, error) {
	if m == nil || m.IdempotencyKey == "" {
		return nil, err
	}
	id, lookErr := c.store.IdempotencyKey(ctx, m.IdempotencyKey)
	if lookErr != nil {
		return nil, err
	}
	return c.existing(ctx, id, ""), nil
}

// existing is the receipt of a repeat: the message id stored under the
// same idempotency key, with its Message-ID and status.
func (c *Client) existing(ctx context.Context, id int64, messageID string) *Receipt {
	rc := &Receipt{ID: id, MessageID: messageID, Status: StatusQueued, Existing: true}
	if got, err := c.store.Get(ctx, id); err == nil {
		rc.MessageID, rc.Status = got.MessageID, got.Status
	}
	return rc
}

// handOver gives the reserved records the store took claimed to their
// workers and releases the others' workers. stored is nil when the
// enqueue failed.
func (c *Client) handOver(recs []*Record, stored []EnqueueResult, reserved int) {
	for j := 0; reserved > 0 && j < len(recs); j++ {
		r := recs[j]
		if r.Status != StatusSending {
			continue
		}
		reserved--
		if stored == nil || stored[j].Err != nil || stored[j].Existing || stored[j].Lease == 0 {
			c.handoff.Release(r)
			continue
		}
		r.ID, r.Lease = stored[j].ID, stored[j].Lease
		c.handoff.Deliver(r)
	}
}

// prepare validates and renders a message into the record the store keeps.
func (c *Client) prepare(m *Message, now time.Time) (*Record, error) {
	if m == nil {
		return nil, &FieldError{Message: "empty message"}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if m.Backend == "" && c.route != nil {
		routed := *m
		routed.Backend = c.route(m)
		m = &routed
	}
	if !c.backend(m.Backend) {
		return nil, fieldErrorf("backend", "unknown backend %q", m.Backend)
	}
	if !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(now) {
		return nil, fieldErrorf("expires_at", "%s is in the past", m.ExpiresAt.Format(time.RFC3339))
	}
	if !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(m.SendAt) {
		return nil, fieldErrorf("expires_at", "%s is not after send_at %s: the message would expire before it is sent",
			m.ExpiresAt.Format(time.RFC3339), m.SendAt.Format(time.RFC3339))
	}
	r, err := Render(m, now)
	if err != nil {
		return nil, err
	}
	due := now
	if m.SendAt.After(now) {
		due = m.SendAt.UTC()
	}
	rcpts := make([]Recipient, 0, len(r.Recipients))
	for _, a := range r.Recipients {
		rcpts = append(rcpts, Recipient{Addr: a, Status: RecipientPending})
	}
	return &Record{
		MessageID:      r.MessageID,
		Status:         StatusQueued,
		From:           r.From,
		Subject:        r.Subject,
		Recipients:     rcpts,
		Priority:       m.Priority,
		Backend:        m.Backend,
		Tags:           m.Tags,
		Metadata:       m.Metadata,
		IdempotencyKey: m.IdempotencyKey,
		Size:           len(r.Data),
		CreatedAt:      now,
		UpdatedAt:      now,
		// The queue lifetime runs from when delivery may start: a
		// message scheduled past it must not expire untried.
		LifetimeStart: due,
		SendAt:        m.SendAt.UTC(),
		ExpiresAt:     m.ExpiresAt.UTC(),
		NextAttemptAt: due,
		Raw:           r.Data,
	}, nil
}

// Get returns a message with its recipients and attempt log.
func (c *Client) Get(ctx context.Context, id int64) (*Record, error) {
	return wrapStore(c.store.Get(ctx, id))
}

// List returns a page of messages, newest first.
func (c *Client) List(ctx context.Context, q ListQuery) (Page, error) {
	if q.Status != "" && !q.Status.Valid() {
		_, err := ParseStatus(string(q.Status))
		return Page{}, &FieldError{Field: "status", Message: err.Error()}
	}
	p, err := c.store.List(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return p, nil
}

// Retry puts a deferred, failed or expired message back in the queue with
// its attempts and lifetime reset; recipients already sent are not sent
// again.
func (c *Client) Retry(ctx context.Context, id int64) (*Record, error) {
	r, err := wrapStore(c.store.Retry(ctx, id, c.now().UTC()))
	if err == nil {
		c.notify()
	}
	return r, err
}

// Cancel stops a queued or deferred message.
func (c *Client) Cancel(ctx context.Context, id int64) (*Record, error) {
	return wrapStore(c.store.Cancel(ctx, id, c.now().UTC()))
}

// Stats returns counts per status and the oldest pending message's age.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	s, err := c.store.Stats(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return s, nil
}

// Ping checks that the store can commit a write.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.store.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// wrapStore marks unexpected store errors as ErrUnavailable and passes the
// domain errors (not found, state, expiry) through.
func wrapStore(r *Record, err error) (*Record, error) {
	if err == nil {
		return r, nil
	}
	var se *StateError
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrPastExpiry) || errors.As(err, &se) {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
}
