package outbox

import "time"

// rkey identifies a recipient row: a leg and an address.
type rkey struct{ leg, addr string }

// plan is the work of one attempt, read from a claimed message's
// recipient rows.
type plan struct {
	// rows holds each stored row's state.
	rows map[rkey]RecipientStatus
	// overall are the recipients whose overall state is pending, in order.
	overall []string
	// legs are the pending leg rows, in order.
	legs []rkey
	// work are the recipients a combined backend is given: those pending
	// overall or on a leg, in order.
	work []string
	// settled holds the final rows; nil when there are none.
	settled Settled
	// legsOnly is set for a message in a final status, claimed for its
	// pending legs.
	legsOnly bool
}

// newPlan reads the recipient rows of r.
func newPlan(r *Record) *plan {
	p := &plan{rows: make(map[rkey]RecipientStatus, len(r.Recipients)), legsOnly: !r.Status.Pending()}
	legPending := make(map[string]bool)
	for _, rc := range r.Recipients {
		p.rows[rkey{rc.Leg, rc.Addr}] = rc.Status
		switch {
		case rc.Status != RecipientPending:
			if p.settled == nil {
				p.settled = make(Settled)
			}
			p.settled.Set(rc.Leg, rc.Addr, rc.Status)
		case rc.Leg == "":
			p.overall = append(p.overall, rc.Addr)
		default:
			p.legs = append(p.legs, rkey{rc.Leg, rc.Addr})
			legPending[rc.Addr] = true
		}
	}
	for _, rc := range r.Recipients {
		if rc.Leg == "" && (rc.Status == RecipientPending || legPending[rc.Addr]) {
			p.work = append(p.work, rc.Addr)
		}
	}
	return p
}

// isPending reports whether the stored row (leg, addr) is pending.
func (p *plan) isPending(leg, addr string) bool {
	st, ok := p.rows[rkey{leg, addr}]
	return ok && st == RecipientPending
}

// merged returns the rows as o leaves them, in stored order, new rows
// last.
func (p *plan) merged(r *Record, o *Outcome) []Recipient {
	out := make([]Recipient, 0, len(r.Recipients)+len(o.Recipients))
	at := make(map[rkey]int, len(r.Recipients))
	for _, rc := range r.Recipients {
		at[rkey{rc.Leg, rc.Addr}] = len(out)
		out = append(out, rc)
	}
	for _, u := range o.Recipients {
		k := rkey{u.Leg, u.Addr}
		if i, ok := at[k]; ok {
			out[i] = u
			continue
		}
		at[k] = len(out)
		out = append(out, u)
	}
	return out
}

// pending returns the rows still pending once o is applied: legs only,
// or every pending row, overall ones first, when o is nil.
func (p *plan) pending(r *Record, o *Outcome) []rkey {
	var out []rkey
	if o == nil {
		for _, a := range p.overall {
			out = append(out, rkey{"", a})
		}
		return append(out, p.legs...)
	}
	for _, rc := range p.merged(r, o) {
		if rc.Leg != "" && rc.Status == RecipientPending {
			out = append(out, rkey{rc.Leg, rc.Addr})
		}
	}
	return out
}

// overallPending reports whether a recipient is still pending overall
// once o is applied.
func (p *plan) overallPending(r *Record, o *Outcome) bool {
	for _, rc := range p.merged(r, o) {
		if rc.Leg == "" && rc.Status == RecipientPending {
			return true
		}
	}
	return false
}

// status is the message's status once o is applied: the status of a
// message claimed for its legs stays; otherwise it is derived from the
// overall rows. It must be called once nothing is pending overall.
func (p *plan) status(r *Record, o *Outcome) Status {
	if p.legsOnly {
		return r.Status
	}
	var overall []Recipient
	for _, rc := range p.merged(r, o) {
		if rc.Leg == "" {
			overall = append(overall, rc)
		}
	}
	s, _ := DeriveStatus(overall)
	return s
}

// release returns a claimed message without an attempt counted, due at
// at: a message claimed for its legs keeps its status (its legs due at
// at), others go back to queued, or deferred after a counted attempt.
func (p *plan) release(r *Record, o *Outcome, at time.Time) *Outcome {
	if !p.overallPending(r, o) {
		o.Status, o.LegsDueAt = p.status(r, o), at
		return o
	}
	o.Status, o.NextAttemptAt = StatusDeferred, at
	if o.Attempts == 0 {
		o.Status = StatusQueued
	}
	return o
}

// dropLegs fails the pending legs of a message whose backend has no legs
// (the configuration changed since they were recorded): sending the
// message again through it would duplicate what was delivered.
func (p *plan) dropLegs(o *Outcome, why string) {
	for _, k := range p.legs {
		o.Recipients = append(o.Recipients, Recipient{Addr: k.addr, Leg: k.leg, Status: RecipientFailed, Reply: Reply{Text: why}, UpdatedAt: o.Now})
	}
	p.legs = nil
}
