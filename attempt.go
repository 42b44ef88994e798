package outbox

import (
	"context"
	"fmt"
	"time"
)

// attempt delivers r to its pending recipients and legs and returns the
// outcome to commit. It never panics: a backend's panic is a temporary
// failure.
//
// A message in a final status was claimed for its pending legs only (a
// fanout's secondary that failed while the primary accepted): its status
// stays, and only those legs are sent, Envelope.Settled telling the
// backend which legs to skip.
func (e *Engine) attempt(r *Record) *Outcome {
	now := e.cfg.Now().UTC()
	o := &Outcome{ID: r.ID, Lease: r.Lease, Now: now, Attempts: r.Attempts}
	p := newPlan(r)
	if len(p.work) == 0 {
		o.Status = p.status(r, o)
		return o
	}
	if deadline := e.cfg.Retry.deadline(r); !now.Before(deadline) {
		o.LastError = fmt.Sprintf("expired at %s before delivery; last error: %s", deadline.Format(time.RFC3339), r.LastError)
		return e.finish(r, p, o, p.pending(r, nil), RecipientExpired)
	}

	name := r.Backend
	if name == "" {
		name = "default"
	}
	env := &Envelope{ID: r.ID, MessageID: r.MessageID, From: r.From, Data: r.Raw, Settled: p.settled}
	b, berr := e.backends(r.Backend)
	to := p.work
	if berr == nil && !hasLegs(b) {
		to = p.overall
		if len(p.legs) > 0 { // the reason is formatted only when needed
			p.dropLegs(o, fmt.Sprintf("backend %s has no legs any more (its configuration changed)", name))
		}
		if len(to) == 0 {
			o.Status = p.status(r, o)
			return o
		}
	}
	env.To = to
	env.UTF8 = needsUTF8(r.From, to, r.Raw)
	if l, ok := b.(Limiter); ok && berr == nil {
		done, wait, ok := l.Reserve(env)
		if !ok {
			return p.release(r, o, now.Add(max(wait, 0)))
		}
		if done != nil {
			defer done()
		}
	}

	att := &Attempt{At: now, Backend: name}
	var rs rounds
	if berr != nil {
		rs = failedRounds(to, p.legs, Reply{Text: berr.Error()}, berr)
	} else {
		ctx, cancel := context.WithTimeout(e.abortCx, e.cfg.Timeout)
		rs = sendRounds(ctx, b, env, to, !hasLegs(b))
		cancel()
	}
	aborted := berr == nil && e.abortCx.Err() != nil
	if aborted {
		rs.reply = Reply{Text: "delivery interrupted by shutdown"}
	}
	att.Duration = e.cfg.Now().Sub(now)
	att.Reply = rs.reply

	throttledOnly := true
	// throttled holds the recipients and legs left pending by a throttle:
	// an attempt counted for others' answers is not counted against them.
	throttled := make(map[rkey]bool)
	// settle maps an answer to its recipient's new state, noting the
	// first error and whether every answer left pending was a throttle.
	settle := func(rr RecipientResult) RecipientStatus {
		if rr.Class == ClassAccepted {
			return RecipientSent
		}
		if o.LastError == "" {
			o.LastError = describe(rr)
		}
		if rr.Class == ClassPermanent {
			return RecipientFailed
		}
		if rr.Class == ClassThrottled {
			throttled[rkey{rr.Leg, rr.Addr}] = true
		} else {
			throttledOnly = false
		}
		return RecipientPending
	}
	var still []string
	for i, addr := range to {
		rr := rs.overall[i]
		if aborted && rr.Class != ClassAccepted && rr.Class != ClassPermanent {
			rr = RecipientResult{Addr: addr, Class: ClassTemporary, Reply: rs.reply, Via: rr.Via}
		}
		if !p.isPending("", addr) {
			continue // settled before: the backend restated it
		}
		att.Recipients = append(att.Recipients, rr)
		st := settle(rr)
		if st == RecipientPending {
			still = append(still, addr)
			continue
		}
		o.Recipients = append(o.Recipients, Recipient{Addr: addr, Status: st, Reply: rr.Reply, UpdatedAt: now})
	}
	stillLegs := 0
	for _, rr := range rs.legs {
		if st, ok := p.rows[rkey{rr.Leg, rr.Addr}]; ok && st != RecipientPending {
			continue // settled before
		}
		att.Recipients = append(att.Recipients, rr)
		if rr.FailedOver {
			continue
		}
		st := settle(rr)
		if st == RecipientPending {
			stillLegs++
		}
		o.Recipients = append(o.Recipients, Recipient{Addr: rr.Addr, Leg: rr.Leg, Status: st, Reply: rr.Reply, UpdatedAt: now})
	}
	att.Class = worstClass(att.Recipients)
	o.Attempt = att
	counted := false
	if !aborted && (len(still)+stillLegs == 0 || !throttledOnly) {
		counted = true
		o.Attempts++
	}
	legs := p.pending(r, o)
	if len(still) == 0 && len(legs) == 0 {
		o.Status = p.status(r, o)
		return o
	}
	if aborted {
		return p.release(r, o, now)
	}
	if e.cfg.Retry.MaxAttempts > 0 && counted && o.Attempts >= e.cfg.Retry.MaxAttempts {
		o.LastError = fmt.Sprintf("gave up after %d attempts: %s", o.Attempts, o.LastError)
		var give, keep []rkey
		for _, k := range withOverall(still, legs) {
			if throttled[k] {
				keep = append(keep, k)
			} else {
				give = append(give, k)
			}
		}
		if len(keep) == 0 {
			return e.finish(r, p, o, give, RecipientFailed)
		}
		// Only throttled this time (a fanout primary slowing down while a
		// secondary fails): those go on, and the others fail.
		settleAll(o, give, RecipientFailed)
		still, legs = nil, p.pending(r, o)
		for _, k := range keep {
			if k.leg == "" {
				still = append(still, k.addr)
			}
		}
	}
	next := now.Add(e.cfg.Retry.Backoff(max(o.Attempts, 1), e.cfg.Jitter()))
	if deadline := e.cfg.Retry.deadline(r); !next.Before(deadline) {
		o.LastError = fmt.Sprintf("expired: the next attempt would pass %s; last error: %s", deadline.Format(time.RFC3339), o.LastError)
		return e.finish(r, p, o, withOverall(still, legs), RecipientExpired)
	}
	if len(still) == 0 {
		o.Status, o.LegsDueAt = p.status(r, o), next
		return o
	}
	o.Status, o.NextAttemptAt = StatusDeferred, next
	return o
}

// finish gives the still-pending recipients and legs a final state and
// derives the message's status.
func (e *Engine) finish(r *Record, p *plan, o *Outcome, pending []rkey, st RecipientStatus) *Outcome {
	settleAll(o, pending, st)
	o.Status = p.status(r, o)
	o.NextAttemptAt, o.LegsDueAt = time.Time{}, time.Time{}
	return o
}

// settleAll gives the recipients and legs keys the final state st, with
// o.LastError as their reply.
func settleAll(o *Outcome, keys []rkey, st RecipientStatus) {
	for _, k := range keys {
		o.Recipients = append(o.Recipients, Recipient{Addr: k.addr, Leg: k.leg, Status: st, Reply: Reply{Text: o.LastError}, UpdatedAt: o.Now})
	}
}

// withOverall returns the overall rows of addrs followed by legs.
func withOverall(addrs []string, legs []rkey) []rkey {
	out := make([]rkey, 0, len(addrs)+len(legs))
	for _, a := range addrs {
		out = append(out, rkey{"", a})
	}
	return append(out, legs...)
}

// failedRounds is the result of an attempt that could not send: every
// recipient and pending leg gets a temporary answer with reply.
func failedRounds(to []string, legs []rkey, reply Reply, err error) rounds {
	rs := rounds{reply: reply, err: err}
	for _, a := range to {
		rs.overall = append(rs.overall, RecipientResult{Addr: a, Class: ClassTemporary, Reply: reply})
	}
	for _, k := range legs {
		rs.legs = append(rs.legs, RecipientResult{Addr: k.addr, Leg: k.leg, Class: ClassTemporary, Reply: reply})
	}
	return rs
}

// describe formats an answer for Outcome.LastError, naming its leg.
func describe(rr RecipientResult) string {
	if rr.Leg == "" {
		return rr.Reply.String()
	}
	via := ""
	if rr.Via != "" {
		via = " (" + rr.Via + ")"
	}
	return fmt.Sprintf("leg %s%s: %s", rr.Leg, via, rr.Reply.String())
}
