package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// maxRetryNowRounds bounds the new transactions opened at once for
// recipients answered 452 while others were accepted.
const maxRetryNowRounds = 20

// commit stores the outcome of a delivery attempt.
func (e *Engine) commit(r *Record, o *Outcome) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.store.Complete(ctx, *o); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			e.log.Warn("outcome dropped: lease lost", "id", r.ID)
			return
		}
		e.log.Error("commit delivery outcome; the lease will return the message", "id", r.ID, "err", err)
		return
	}
	lvl := "debug"
	if o.Status == StatusFailed || o.Status == StatusExpired {
		lvl = "warn"
	}
	e.logOutcome(lvl, r, o)
	if e.cfg.Observe != nil {
		e.cfg.Observe(r, o)
	}
}

func (e *Engine) logOutcome(lvl string, r *Record, o *Outcome) {
	args := []any{"id", r.ID, "message_id", r.MessageID, "status", o.Status, "attempts", o.Attempts}
	if o.LastError != "" {
		args = append(args, "error", o.LastError)
	}
	if lvl == "warn" {
		e.log.Warn("delivery finished", args...)
		return
	}
	e.log.Debug("delivery", args...)
}

// attempt delivers r to its pending recipients and returns the outcome to
// commit. It never panics: a backend's panic is a temporary failure.
func (e *Engine) attempt(r *Record) *Outcome {
	now := e.cfg.Now().UTC()
	o := &Outcome{ID: r.ID, Lease: r.Lease, Now: now, Attempts: r.Attempts}
	var pending []string
	for _, rc := range r.Recipients {
		if rc.Leg == "" && rc.Status == RecipientPending {
			pending = append(pending, rc.Addr)
		}
	}
	if len(pending) == 0 {
		o.Status, _ = DeriveStatus(r.Recipients)
		return o
	}
	if deadline := e.cfg.Retry.deadline(r); !now.Before(deadline) {
		o.LastError = fmt.Sprintf("expired at %s before delivery; last error: %s", deadline.Format(time.RFC3339), r.LastError)
		return e.finish(r, o, pending, RecipientExpired)
	}

	name := r.Backend
	if name == "" {
		name = "default"
	}
	att := &Attempt{At: now, Backend: name}
	results, txReply, aborted := e.send(r, pending)
	att.Duration = e.cfg.Now().Sub(now)
	att.Reply = txReply

	counted, throttledOnly := false, true
	var still []string
	for _, addr := range pending {
		rr := results[addr]
		att.Recipients = append(att.Recipients, rr)
		var st RecipientStatus
		switch rr.Class {
		case ClassAccepted:
			st = RecipientSent
		case ClassPermanent:
			st = RecipientFailed
		default:
			still = append(still, addr)
			if rr.Class != ClassThrottled {
				throttledOnly = false
			}
			if o.LastError == "" {
				o.LastError = rr.Reply.String()
			}
			continue
		}
		if st == RecipientFailed && o.LastError == "" {
			o.LastError = rr.Reply.String()
		}
		o.Recipients = append(o.Recipients, Recipient{Addr: addr, Status: st, Reply: rr.Reply, UpdatedAt: now})
	}
	att.Class = worstClass(att.Recipients)
	o.Attempt = att
	if !aborted && (len(still) == 0 || !throttledOnly) {
		counted = true
		o.Attempts++
	}
	if len(still) == 0 {
		o.Status, _ = DeriveStatus(merge(r.Recipients, o.Recipients))
		return o
	}
	if aborted {
		o.Status, o.NextAttemptAt = StatusDeferred, now
		if o.Attempts == 0 {
			o.Status = StatusQueued
		}
		return o
	}
	if e.cfg.Retry.MaxAttempts > 0 && counted && o.Attempts >= e.cfg.Retry.MaxAttempts {
		o.LastError = fmt.Sprintf("gave up after %d attempts: %s", o.Attempts, o.LastError)
		return e.finish(r, o, still, RecipientFailed)
	}
	next := now.Add(e.cfg.Retry.Backoff(max(o.Attempts, 1), e.cfg.Jitter()))
	if deadline := e.cfg.Retry.deadline(r); !next.Before(deadline) {
		o.LastError = fmt.Sprintf("expired: the next attempt would pass %s; last error: %s", deadline.Format(time.RFC3339), o.LastError)
		return e.finish(r, o, still, RecipientExpired)
	}
	o.Status, o.NextAttemptAt = StatusDeferred, next
	return o
}

// finish gives the still-pending recipients a final state and derives the
// message's status.
func (e *Engine) finish(r *Record, o *Outcome, pending []string, st RecipientStatus) *Outcome {
	for _, addr := range pending {
		o.Recipients = append(o.Recipients, Recipient{Addr: addr, Status: st, Reply: Reply{Text: o.LastError}, UpdatedAt: o.Now})
	}
	o.Status, _ = DeriveStatus(merge(r.Recipients, o.Recipients))
	return o
}

// send runs the backend transactions of one attempt: a first one to every
// pending recipient, then new ones at once for recipients answered 452
// while others were accepted. It returns each recipient's answer, the
// transaction-level reply of a failed transaction, and whether Stop
// interrupted it.
func (e *Engine) send(r *Record, pending []string) (map[string]RecipientResult, Reply, bool) {
	results := make(map[string]RecipientResult, len(pending))
	failAll := func(to []string, c Class, rep Reply) {
		for _, addr := range to {
			results[addr] = RecipientResult{Addr: addr, Class: c, Reply: rep}
		}
	}
	b, err := e.backends(r.Backend)
	if err != nil {
		rep := Reply{Text: err.Error()}
		failAll(pending, ClassTemporary, rep)
		return results, rep, false
	}
	env := &Envelope{ID: r.ID, MessageID: r.MessageID, From: r.From, Data: r.Raw}
	env.UTF8 = needsUTF8(r.From, pending, r.Raw)
	to := pending
	var txReply Reply
	for round := 0; ; round++ {
		env.To = to
		ctx, cancel := context.WithTimeout(e.abortCx, e.cfg.Timeout)
		res, err := safeSend(ctx, b, env)
		cancel()
		if err != nil && e.abortCx.Err() != nil {
			rep := Reply{Text: "delivery interrupted by shutdown"}
			failAll(to, ClassTemporary, rep)
			return results, rep, true
		}
		if err == nil && len(res) != len(to) {
			err = fmt.Errorf("backend returned %d results for %d recipients", len(res), len(to))
		}
		if err != nil {
			c, rep := ErrorClass(err)
			if c == ClassRetryNow || c == ClassAccepted {
				c = ClassTemporary
			}
			failAll(to, c, rep)
			return results, rep, false
		}
		var again []string
		progress := false
		for i, rr := range res {
			rr.Addr = to[i]
			if rr.Class == "" {
				rr.Class = Classify(rr.Reply)
			}
			switch rr.Class {
			case ClassAccepted:
				progress = true
			case ClassRetryNow:
				again = append(again, rr.Addr)
			}
			results[rr.Addr] = rr
		}
		if len(again) == 0 {
			return results, txReply, false
		}
		if !progress || round+1 >= maxRetryNowRounds {
			for _, addr := range again {
				rr := results[addr]
				rr.Class = ClassTemporary
				results[addr] = rr
			}
			return results, txReply, false
		}
		to = again
	}
}

// safeSend calls the backend, turning a panic into a temporary error.
func safeSend(ctx context.Context, b Backend, env *Envelope) (res []RecipientResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("backend panicked: %v", p)
		}
	}()
	return b.Send(ctx, env)
}

// worstClass summarises an attempt: accepted when every recipient was,
// else the most severe class among them.
func worstClass(rs []RecipientResult) Class {
	rank := map[Class]int{ClassAccepted: 0, ClassRetryNow: 1, ClassThrottled: 2, ClassTemporary: 3, ClassPermanent: 4}
	worst := ClassAccepted
	for _, r := range rs {
		if rank[r.Class] > rank[worst] {
			worst = r.Class
		}
	}
	return worst
}

// merge overlays updated recipients on the stored ones.
func merge(stored, updated []Recipient) []Recipient {
	out := make([]Recipient, len(stored))
	copy(out, stored)
	for _, u := range updated {
		for i := range out {
			if out[i].Addr == u.Addr && out[i].Leg == u.Leg {
				out[i] = u
			}
		}
	}
	return out
}

// needsUTF8 reports whether the envelope or the header section has
// non-ASCII bytes, which needs SMTPUTF8 upstream.
func needsUTF8(from string, to []string, raw []byte) bool {
	if !isASCII(from) {
		return true
	}
	for _, t := range to {
		if !isASCII(t) {
			return true
		}
	}
	hdr := raw
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		hdr = raw[:i]
	}
	for _, c := range hdr {
		if c >= 0x80 {
			return true
		}
	}
	return false
}
