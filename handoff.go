package outbox

import (
	"slices"
	"time"
)

// Handoff takes freshly enqueued messages straight to delivery. When a
// worker is free, or will be soon, a message due at once is stored already
// claimed (sending, under a lease, in the enqueue's own commit) and handed
// to the engine, so that no claim has to find it again. The Engine
// implements it; pass it as ClientConfig.Handoff.
//
// The client calls Reserve before storing, then Deliver for each reserved
// record the store took claimed and Release for each other one.
type Handoff interface {
	// Reserve holds a place for as many of recs as it can take now,
	// marking each taken record sending with its LeaseUntil set, and
	// returns how many it took.
	Reserve(recs []*Record, now time.Time) int
	// Deliver starts (or lines up) the delivery of a reserved record
	// that the store holds claimed: ID and Lease set.
	Deliver(r *Record)
	// Release gives back the place held for a reserved record that was
	// not stored claimed.
	Release(r *Record)
}

// Reserve implements Handoff: it takes records in order while a worker is
// free or a place is left in the line of those waiting for one (as many
// places as workers), leaving out those of backends that are at their
// limits (whose mail a claim would skip too). It takes none while the
// dispatcher's last claim was full (mail is waiting), and the store keeps
// a new message from passing due mail in any case: it stores it queued
// instead (see Store.Enqueue), and it is released.
func (e *Engine) Reserve(recs []*Record, now time.Time) int {
	if !e.mayReserve() {
		return 0 // spare the backends' saturation check
	}
	var skip []string
	if e.cfg.Saturated != nil {
		skip, _ = e.cfg.Saturated()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	taken := 0
	for _, r := range recs {
		if !e.canReserve() {
			break
		}
		if r.NextAttemptAt.After(now) || slices.Contains(skip, r.Backend) {
			continue
		}
		r.Status, r.LeaseUntil = StatusSending, now.Add(e.cfg.Lease)
		e.inflight++
		e.work.Add(1)
		taken++
	}
	return taken
}

// mayReserve reports whether Reserve could take anything now.
func (e *Engine) mayReserve() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.canReserve()
}

// canReserve reports whether a place is free for a hand-off: the engine
// runs, its last claim took all that was due, and fewer than twice the
// workers are in flight. e.mu must be held.
func (e *Engine) canReserve() bool {
	return e.started && !e.stopped && e.drained && e.inflight < 2*e.cfg.Workers
}

// Deliver implements Handoff: a free worker delivers r, or r waits in line
// for the next one (one that is neither running nor held by a claim).
func (e *Engine) Deliver(r *Record) {
	e.mu.Lock()
	if e.active+e.held >= e.cfg.Workers {
		e.ready = append(e.ready, r)
		e.mu.Unlock()
		return
	}
	e.active++
	e.mu.Unlock()
	e.start(r)
}

// Release implements Handoff: the place reserved for r is free again.
func (e *Engine) Release(*Record) {
	e.mu.Lock()
	e.inflight--
	e.mu.Unlock()
	e.freed()
	e.work.Done()
}
