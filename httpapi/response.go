package httpapi

import (
	"time"

	"github.com/outboxmail/outbox"
)

// Receipt is the answer to an enqueue: status 202 for a new message, 200
// when the idempotency key matched an earlier message (then Existing is
// set and the ids are that message's).
type Receipt struct {
	ID        int64         `json:"id"`
	MessageID string        `json:"message_id"`
	Status    outbox.Status `json:"status"`
	Existing  bool          `json:"existing,omitempty"`
}

// receiptOf converts the client's receipt.
func receiptOf(r *outbox.Receipt) *Receipt {
	return &Receipt{ID: r.ID, MessageID: r.MessageID, Status: r.Status, Existing: r.Existing}
}

// BatchResponse is the answer to POST /v1/messages/batch: one result per
// item, in order.
type BatchResponse struct {
	Results []BatchResult `json:"results"`
}

// BatchResult is one item's result: the receipt's fields, or an error.
type BatchResult struct {
	*Receipt
	Error *Error `json:"error,omitempty"`
}

// ListResponse is the answer to GET /v1/messages. NextCursor, when not
// empty, is the cursor parameter of the next page.
type ListResponse struct {
	Messages   []*outbox.Record `json:"messages"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// StatsResponse is the answer to GET /v1/stats. Counts has every status.
// The oldest pending (queued, sending or deferred) message's creation time
// and age are omitted and zero when nothing is pending.
type StatsResponse struct {
	Counts                  map[outbox.Status]int64 `json:"counts"`
	OldestPendingAgeSeconds float64                 `json:"oldest_pending_age_seconds"`
	OldestPendingAt         time.Time               `json:"oldest_pending_at,omitzero"`
}

// statusResponse is the body of /healthz and /readyz.
type statusResponse struct {
	Status string `json:"status"`
}

// inUTC sets every time of a record in UTC, whatever zone the store
// returned them in, so that the API writes them with a Z.
func inUTC(r *outbox.Record) *outbox.Record {
	r.CreatedAt = r.CreatedAt.UTC()
	r.UpdatedAt = r.UpdatedAt.UTC()
	r.SendAt = r.SendAt.UTC()
	r.ExpiresAt = r.ExpiresAt.UTC()
	r.NextAttemptAt = r.NextAttemptAt.UTC()
	for i := range r.Recipients {
		r.Recipients[i].UpdatedAt = r.Recipients[i].UpdatedAt.UTC()
	}
	for i := range r.AttemptLog {
		r.AttemptLog[i].At = r.AttemptLog[i].At.UTC()
	}
	return r
}
