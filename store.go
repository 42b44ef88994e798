package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store keeps messages durably. Writes return only once committed to
// stable storage. Implementations: sqlite (embedded, the default); the
// storetest package is the conformance suite every Store must pass.
//
// Delivery state is per recipient and leg; the engine computes each
// message's new state (see Outcome) and the store applies it atomically,
// keeping per-status counters in the same transaction.
type Store interface {
	// Enqueue inserts new messages (Status queued, Raw set, ID zero). It
	// returns one result per input, in order: a failing item does not fail
	// the others. An item whose IdempotencyKey is already stored returns
	// that message's ID with Existing set. The error is for the whole call
	// (e.g. the commit failed): then nothing was stored, unless the error
	// says that it cannot tell (a failed fsync). An item with
	// Status sending is stored claimed, as if a Claim had leased it at
	// once: sending until its LeaseUntil, under a new lease token returned
	// in its result (not when Existing). But a new message does not pass
	// waiting mail: when any message is due by its own due time, it is
	// stored queued instead, without a lease, and a claim gives it its
	// turn (and its priority's share).
	Enqueue(ctx context.Context, recs []*Record) ([]EnqueueResult, error)

	// Get returns a message with its recipients, attempt log and Raw, or
	// ErrNotFound.
	Get(ctx context.Context, id int64) (*Record, error)

	// IdempotencyKey returns the ID of the message stored with key, or
	// ErrNotFound.
	IdempotencyKey(ctx context.Context, key string) (int64, error)

	// List returns messages newest first, with recipients but without Raw
	// or attempt log, using keyset pagination.
	List(ctx context.Context, q ListQuery) (Page, error)

	// Claim leases up to req.Limit due pending messages (queued or deferred
	// with NextAttemptAt ≤ req.Now, or sending with an expired lease),
	// marking them sending until req.Now+req.Lease. A message in a final
	// status whose legs are due (Outcome.LegsDueAt ≤ req.Now, or whose
	// legs' claim expired) is leased too, its status unchanged. Each
	// priority gets its share of the limit as ClaimShares says; FIFO by due
	// time within a priority. Messages whose Record.Backend is in
	// req.SkipBackends are left alone however due they are: they stay as
	// they are, to be claimed by a later claim that does not skip them.
	// Returned records carry Raw, Lease and all recipients. Two concurrent
	// claims never return the same message.
	Claim(ctx context.Context, req ClaimRequest) ([]*Record, error)

	// Complete applies the outcome of a delivery to a claimed message. It
	// returns ErrLeaseLost when the lease expired and another claim holds
	// the message, or the lease was already completed (the outcome is then
	// dropped). A message claimed for its legs keeps its final status: an
	// outcome with another status is an error.
	Complete(ctx context.Context, o Outcome) error

	// Retry puts a deferred, failed or expired message back in the queue
	// with its attempts and lifetime reset; only recipients not yet sent
	// are delivered. Errors: ErrNotFound, *StateError, ErrPastExpiry.
	Retry(ctx context.Context, id int64, now time.Time) (*Record, error)

	// Cancel stops a queued or deferred message. Errors: ErrNotFound, *StateError.
	Cancel(ctx context.Context, id int64, now time.Time) (*Record, error)

	// Stats returns the number of messages per status, from counters kept
	// with every write, and the oldest pending message's creation time.
	Stats(ctx context.Context) (Stats, error)

	// NextDue returns the earliest time a pending message becomes due
	// (a lease expiry counts), or ok=false when nothing is pending.
	NextDue(ctx context.Context) (t time.Time, ok bool, err error)

	// Purge deletes up to limit sent, failed, expired and cancelled
	// messages last updated before cutoff; it never deletes pending mail.
	Purge(ctx context.Context, cutoff time.Time, limit int) (int, error)

	// Ping checks that the store is open and can commit a write.
	Ping(ctx context.Context) error

	Close() error
}

// EnqueueResult is the result of one enqueued item.
type EnqueueResult struct {
	ID int64
	// Existing is set when the idempotency key matched a stored message.
	Existing bool
	// Lease is the lease token of an item stored claimed.
	Lease int64
	Err   error
}

// ListQuery selects a page of messages.
type ListQuery struct {
	// Status filters by status; empty means all.
	Status Status
	// Limit is the page size (the store may cap it).
	Limit int
	// Before is the keyset cursor: only IDs below it; 0 means from the newest.
	Before int64
}

// Page is one page of a listing. Next is the cursor of the next page, 0 at
// the end.
type Page struct {
	Records []*Record
	Next    int64
}

// ClaimRequest asks Store.Claim for due messages.
type ClaimRequest struct {
	Now   time.Time
	Lease time.Duration
	Limit int
	// Weights are the shares of high, normal and low priority (in that
	// order) in one claim; zero means DefaultPriorityWeights.
	Weights [3]int
	// SkipBackends are backend names, as stored in Record.Backend ("" is
	// a message that names none), whose messages this claim leaves alone,
	// e.g. backends over their rate or concurrency limit. Nil skips none.
	SkipBackends []string
}

// DefaultPriorityWeights gives high, normal and low priority 6:3:1 of each claim.
var DefaultPriorityWeights = [3]int{6, 3, 1}

// Outcome is the new state of a claimed message after a delivery attempt
// (or after the engine released it without one).
type Outcome struct {
	ID    int64
	Lease int64
	Now   time.Time
	// Status is the message's new status: deferred or queued (NextAttemptAt
	// set), or a final status.
	Status        Status
	NextAttemptAt time.Time
	// LegsDueAt, with a final Status, says the message still has pending
	// legs (a fanout's secondary failed while the primary accepted): it
	// stays claimable from then on, for those legs only. Zero otherwise.
	LegsDueAt time.Time
	// Attempts is the new attempt count.
	Attempts  int
	LastError string
	// Recipients are the recipients whose state changed.
	Recipients []Recipient
	// Attempt is appended to the log when not nil.
	Attempt *Attempt
}

// Stats are counts per status and the age of the oldest pending message.
type Stats struct {
	Counts map[Status]int64
	// OldestPending is the creation time of the oldest queued, deferred or
	// sending message; zero when none.
	OldestPending time.Time
}

// Total is the number of messages stored, of every status.
func (s Stats) Total() int64 {
	var n int64
	for _, c := range s.Counts {
		n += c
	}
	return n
}

// ClaimShares splits a claim of limit messages between high, normal and
// low priority by weights, rounding in favour of higher priorities. Each
// priority of a weight above zero gets at least one slot while limit
// allows, higher priorities first: a claim of two takes one high and one
// normal message, not a low one while normal mail waits.
func ClaimShares(limit int, weights [3]int) [3]int {
	if weights == ([3]int{}) {
		weights = DefaultPriorityWeights
	}
	total := weights[0] + weights[1] + weights[2]
	var out [3]int
	left := limit
	for i := 1; i <= 2; i++ {
		out[i] = limit * weights[i] / total
		left -= out[i]
	}
	for i := 1; i <= 2; i++ {
		if out[i] == 0 && weights[i] > 0 && left > 1 {
			out[i] = 1
			left--
		}
	}
	out[0] = left
	return out
}

// Errors returned by stores and the client.
var (
	ErrNotFound   = errors.New("message not found")
	ErrLeaseLost  = errors.New("lease lost: the message was claimed again")
	ErrPastExpiry = errors.New("the message's expires_at has passed")
)

// StateError says an operation does not apply to a message in its status.
type StateError struct {
	Op     string
	Status Status
}

func (e *StateError) Error() string {
	return fmt.Sprintf("cannot %s a %s message", e.Op, e.Status)
}

// ClaimByPriority runs the passes of a weighted claim: take(p, n) claims up
// to n due messages of priority p and returns how many it got. High, normal
// and low are asked for their shares in turn, each passing its unused share
// down to the next; capacity still left after low is offered back to high,
// then normal, so a claim never idles while any priority has due mail.
// Stores call it inside their claim transaction.
func ClaimByPriority(limit int, weights [3]int, take func(p Priority, n int) (int, error)) error {
	shares := ClaimShares(limit, weights)
	carry := 0
	left := limit
	for i, p := range Priorities {
		n := shares[i] + carry
		if n == 0 {
			continue
		}
		got, err := take(p, n)
		if err != nil {
			return err
		}
		carry = n - got
		left -= got
	}
	for _, p := range Priorities[:2] {
		if left == 0 {
			return nil
		}
		got, err := take(p, left)
		if err != nil {
			return err
		}
		left -= got
	}
	return nil
}
