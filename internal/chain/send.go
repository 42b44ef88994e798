package chain

import (
	"context"
	"strconv"

	"github.com/outboxmail/outbox"
)

// Send delivers e through children tried in order, and returns the
// combined backend's results: one overall answer per recipient of e.To,
// then leg answers.
//
// Each recipient is settled by the first child that accepts or refuses it
// for good (a permanent answer is the recipient's answer, not a reason to
// try another child); a temporary or throttled answer sends the recipient
// on to the next child in the same attempt, and is logged as a leg answer
// marked FailedOver, as are the child's own legs' answers that are not
// final. A temporary answer marked Uncertain (the child may have taken
// the message) is not passed on: the recipient stays pending. A child
// whose every answer was temporary starts its cool-down; one that
// settled a recipient ends it. The leg of the child that settled a
// recipient is recorded, as are that child's own legs.
//
// A recipient settled by an earlier attempt is not sent again, except to
// the combined child that settled it, for its pending legs.
func Send(ctx context.Context, children []outbox.Child, order []int, cd *Cooldown, e *outbox.Envelope) []outbox.RecipientResult {
	final := make([]outbox.RecipientResult, len(e.To))
	var legs []outbox.RecipientResult
	var todo []int
	resend := make(map[int][]int)
	for j, addr := range e.To {
		st, ok := e.Settled.State("", addr)
		if !ok {
			todo = append(todo, j)
			continue
		}
		final[j] = restate(addr, st)
		if i := takenBy(e.Settled, addr, len(children)); i >= 0 {
			if c, ok := children[i].Backend.(outbox.Combined); ok && c.HasLegs() {
				resend[i] = append(resend[i], j)
			}
		}
	}
	for i := range children {
		if js := resend[i]; len(js) > 0 {
			_, nested := outbox.SendLeg(ctx, children[i], subset(e, js), leg(i))
			legs = append(legs, nested...)
		}
	}

	var tried []outbox.RecipientResult // answers of the last child, logged once the next one is tried
	for _, i := range order {
		if len(todo) == 0 || ctx.Err() != nil {
			break
		}
		legs = append(legs, tried...)
		tried = nil
		env := subset(e, todo)
		overall, nested := outbox.SendLeg(ctx, children[i], env, leg(i))
		settled := make(map[string]bool)
		var next []int
		for k, j := range todo {
			r := overall[k]
			switch {
			case r.Class == outbox.ClassAccepted, r.Class == outbox.ClassPermanent:
				settled[r.Addr] = true
				top := r
				top.Leg = ""
				final[j] = top
				legs = append(legs, r)
			case r.Uncertain:
				// The child may have taken it: another child now could
				// deliver it twice. It stays pending with this answer
				// (no leg state: a later attempt starts afresh).
				top := r
				top.Leg = ""
				final[j] = top
			default:
				top := r
				top.Leg = ""
				final[j] = top
				r.FailedOver = true
				tried = append(tried, r)
				next = append(next, j)
			}
		}
		for _, r := range nested {
			// A leg below this child that accepted or refused for good is
			// delivery state even when the child as a whole did not take
			// the recipient: dropping it would send that leg the message
			// again on the next attempt.
			if !settled[r.Addr] && r.Class != outbox.ClassAccepted && r.Class != outbox.ClassPermanent {
				r.FailedOver = true
				tried = append(tried, r)
				continue
			}
			legs = append(legs, r)
		}
		switch {
		case len(settled) > 0:
			cd.Recover(i)
		case allTemporary(overall):
			cd.Fail(i)
		}
		todo = next
	}
	for _, j := range todo {
		if final[j].Class == "" {
			text := "no child was tried"
			if err := ctx.Err(); err != nil {
				text = err.Error()
			}
			final[j] = outbox.RecipientResult{Addr: e.To[j], Class: outbox.ClassTemporary, Reply: outbox.Reply{Text: text}}
		}
	}
	return append(final, legs...)
}

// leg is the leg path of child i.
func leg(i int) string { return strconv.Itoa(i) }

// subset returns a copy of e for the recipients at positions js.
func subset(e *outbox.Envelope, js []int) *outbox.Envelope {
	env := *e
	env.To = make([]string, len(js))
	for k, j := range js {
		env.To[k] = e.To[j]
	}
	return &env
}

// takenBy returns the child whose leg settled addr, or -1.
func takenBy(s outbox.Settled, addr string, n int) int {
	for i := range n {
		if _, ok := s.State(leg(i), addr); ok {
			return i
		}
	}
	return -1
}

// allTemporary reports whether every answer was temporary: the child is
// down or failing. Throttled answers fail the message over without a
// cool-down: the child works, it asks to slow down.
func allTemporary(rs []outbox.RecipientResult) bool {
	for _, r := range rs {
		if r.Class != outbox.ClassTemporary {
			return false
		}
	}
	return len(rs) > 0
}

// restate is the overall answer about a recipient settled by an earlier
// attempt.
func restate(addr string, st outbox.RecipientStatus) outbox.RecipientResult {
	c := outbox.ClassPermanent
	if st == outbox.RecipientSent {
		c = outbox.ClassAccepted
	}
	return outbox.RecipientResult{Addr: addr, Class: c, Reply: outbox.Reply{Text: "settled by an earlier attempt"}}
}
