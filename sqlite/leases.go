package sqlite

import (
	"sort"
	"sync"
	"time"

	"github.com/outboxmail/outbox"
)

// Claims are held in memory, not in the database (the messages table's
// lease column, from the version that stored them, is left 0): only one
// process ever opens a data directory (lockDir), and a claim dies with
// it, so a claim writes nothing. A claimed message keeps its stored row as it was
// (queued or deferred, due when it was due); the store shows it sending
// while its lease is held, skips it in claims until the lease runs out,
// and its outcome is written as one change from the stored status. A
// process that dies mid-delivery leaves its claimed messages as they were
// stored: due, and claimed again after a restart.
//
// A claimed row keeps the due_at it had, so it stays at the head of
// messages_due: claims, NextDue and a hand-off's look for mail due ahead
// walk past the rows leases hold, as many as deliveries under way (the
// workers, and the line of hand-offs), however long the queue. (A
// hand-off mostly does not look: the writer remembers when mail is next
// due; see due.go.) A message whose lease ran out is claimed again in its
// place by due time.
//
// The writer goroutine is the only one to change the table, inside its
// transactions: tx.leaseUndo records each change so that a group that
// fails puts the table back as it was, and a completed lease is only
// marked done until its outcome commits. Readers take the lock to look.

// lease is a claim held on one message.
type lease struct {
	token int64
	until int64 // lease expiry (Unix ns): claimable again from then
	at    int64 // when it was claimed: the record's UpdatedAt while held
	// stored is the message's status as stored: queued or deferred, or a
	// final status for a message claimed for its pending legs.
	stored outbox.Status
	// done is set once its outcome is written in the open transaction;
	// the lease goes when that commits.
	done bool
}

// leaseTable is the claims held, by message id.
type leaseTable struct {
	mu sync.RWMutex
	m  map[int64]lease
}

func newLeaseTable() *leaseTable {
	return &leaseTable{m: make(map[int64]lease)}
}

// leaseUndo restores one entry of the table.
type leaseUndo struct {
	id   int64
	prev lease
	had  bool
}

// get returns the lease on id, done or not.
func (lt *leaseTable) get(id int64) (lease, bool) {
	lt.mu.RLock()
	defer lt.mu.RUnlock()
	l, ok := lt.m[id]
	return l, ok
}

// holds reports whether a lease not yet done holds id: the writer's view,
// in which a done lease's message is as its outcome left it.
func (lt *leaseTable) holds(id int64) bool {
	l, ok := lt.get(id)
	return ok && !l.done
}

// held reports whether a lease holds id, done or not: a reader's view
// (see show).
func (lt *leaseTable) held(id int64) bool {
	_, ok := lt.get(id)
	return ok
}

// claimable reports whether a claim at now may take id: no lease holds it,
// or its lease ran out. The writer's view: a done lease's outcome is
// already in the transaction.
func (lt *leaseTable) claimable(id, now int64) bool {
	l, ok := lt.get(id)
	return !ok || l.done || l.until <= now
}

// set puts l on id for the open transaction t.
func (lt *leaseTable) set(t *tx, id int64, l lease) {
	lt.mu.Lock()
	prev, had := lt.m[id]
	lt.m[id] = l
	lt.mu.Unlock()
	t.leaseUndo = append(t.leaseUndo, leaseUndo{id: id, prev: prev, had: had})
}

// finish marks the lease on id done in the open transaction t.
func (lt *leaseTable) finish(t *tx, id int64) {
	l, _ := lt.get(id) // only the writer changes the table
	l.done = true
	lt.set(t, id, l)
	t.leasesDone = append(t.leasesDone, id)
}

// committed drops the leases t finished, now that their outcomes are
// stored.
func (lt *leaseTable) committed(t *tx) {
	if len(t.leasesDone) == 0 {
		return
	}
	lt.mu.Lock()
	for _, id := range t.leasesDone {
		if l, ok := lt.m[id]; ok && l.done {
			delete(lt.m, id)
		}
	}
	lt.mu.Unlock()
}

// rolledBack puts back what t changed, latest first.
func (lt *leaseTable) rolledBack(t *tx) { lt.undoTo(t, 0) }

// undoTo puts back what t changed after its first n changes, latest
// first (a savepoint rolled back).
func (lt *leaseTable) undoTo(t *tx, n int) {
	lt.mu.Lock()
	for i := len(t.leaseUndo) - 1; i >= n; i-- {
		u := t.leaseUndo[i]
		if u.had {
			lt.m[u.id] = u.prev
		} else {
			delete(lt.m, u.id)
		}
	}
	lt.mu.Unlock()
	t.leaseUndo = t.leaseUndo[:n]
}

// show overlays the claim held on r, if any, on the record read from the
// database: a queued or deferred message held by a lease is sending. A
// done lease still shows until its outcome commits: a reader's snapshot
// taken before that commit holds the row as it was before the outcome.
// (Between that commit and the lease's removal right after, a message
// whose outcome left it pending shows sending a moment longer.)
func (lt *leaseTable) show(r *outbox.Record) {
	l, ok := lt.get(r.ID)
	if !ok || !r.Status.Pending() || !l.stored.Pending() {
		return
	}
	r.Status = outbox.StatusSending
	r.UpdatedAt = time.Unix(0, l.at).UTC()
	r.Lease, r.LeaseUntil = l.token, time.Unix(0, l.until).UTC()
}

// sending returns the ids of the messages held sending below before, newest
// first, at most n (done leases too: see show).
func (lt *leaseTable) sending(before int64, n int) []int64 {
	lt.mu.RLock()
	var ids []int64
	for id, l := range lt.m {
		if id < before && l.stored.Pending() {
			ids = append(ids, id)
		}
	}
	lt.mu.RUnlock()
	sort.Slice(ids, func(i, j int) bool { return ids[i] > ids[j] })
	return ids[:min(n, len(ids))]
}

// firstExpiry returns the earliest expiry of a lease, or ok=false (done
// leases too: see show).
func (lt *leaseTable) firstExpiry() (until int64, ok bool) {
	lt.mu.RLock()
	defer lt.mu.RUnlock()
	for _, l := range lt.m {
		if !ok || l.until < until {
			until, ok = l.until, true
		}
	}
	return until, ok
}
