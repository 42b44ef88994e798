package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// A combined backend (fanout, failover, roundrobin) delivers through
// other backends, its children. Each child is a leg of the combined
// backend, named by a path of child indexes: "0" and "1" for the first
// two children, "1.0" for the first child of the second. A backend's own,
// overall answer about a recipient is leg "". Paths are stable as long as
// the backend's expression is unchanged.
//
// The engine keeps delivery state per recipient and leg: one row per leg
// that answered, besides the overall row the message's status derives
// from. It tells a combined backend what earlier attempts settled through
// Envelope.Settled, so that a child that accepted a message never gets it
// again.

// Settled is what earlier attempts of a message settled, per leg path and
// recipient: the recipient's final state on that leg (sent, failed,
// expired or cancelled). A leg or recipient that is absent is still to be
// delivered. A nil Settled means nothing is settled yet.
type Settled map[string]map[string]RecipientStatus

// State returns the final state of addr on leg, and whether it is settled.
func (s Settled) State(leg, addr string) (RecipientStatus, bool) {
	st, ok := s[leg][addr]
	return st, ok
}

// Accepted reports whether addr was accepted on leg by an earlier attempt.
func (s Settled) Accepted(leg, addr string) bool {
	st, ok := s.State(leg, addr)
	return ok && st == RecipientSent
}

// Under returns the part of s below leg, with paths relative to it: leg
// itself becomes "", leg+".1" becomes "1". It is what a combined backend
// passes to the child at leg.
func (s Settled) Under(leg string) Settled {
	if len(s) == 0 {
		return nil
	}
	var out Settled
	for path, addrs := range s {
		rel, ok := relativeLeg(leg, path)
		if !ok {
			continue
		}
		if out == nil {
			out = make(Settled)
		}
		out[rel] = addrs
	}
	return out
}

// Set records addr's final state on leg.
func (s Settled) Set(leg, addr string, st RecipientStatus) {
	m := s[leg]
	if m == nil {
		m = make(map[string]RecipientStatus)
		s[leg] = m
	}
	m[addr] = st
}

// relativeLeg returns path relative to leg, when path is leg or below it.
func relativeLeg(leg, path string) (string, bool) {
	switch {
	case leg == "":
		return path, true
	case path == leg:
		return "", true
	case strings.HasPrefix(path, leg+"."):
		return path[len(leg)+1:], true
	}
	return "", false
}

// JoinLeg returns the path of sub, a leg of the backend at leg: ("1", "")
// is "1", ("1", "0") is "1.0".
func JoinLeg(leg, sub string) string {
	switch {
	case sub == "":
		return leg
	case leg == "":
		return sub
	}
	return leg + "." + sub
}

// Combined is implemented by backends that deliver through others and
// report their answers as legs: they read Envelope.Settled and return leg
// results after the overall ones. Wrappers that add no legs of their own
// (chaos, rate limits) answer for the backend they wrap. HasLegs false
// means the backend is a plain one.
type Combined interface {
	Backend
	HasLegs() bool
}

// hasLegs reports whether b reports legs of its own.
func hasLegs(b Backend) bool {
	c, ok := b.(Combined)
	return ok && c.HasLegs()
}

// Child is one backend of a combined backend, with the name its answers
// are shown by in the attempt log: its URL without the password.
type Child struct {
	Name    string
	Backend Backend
}

// settledText is the reply text of a leg answered by an earlier attempt.
const settledText = "settled by an earlier attempt"

// SendLeg sends e through child c, the leg at path leg of a combined
// backend, and returns c's answer about each recipient of e.To, in order
// and with Leg set to leg, followed by the answers of c's own legs, their
// paths prefixed with leg. It never fails: a transaction-level error, a
// panic or a wrong number of results becomes each recipient's answer.
//
// A plain child gets only the recipients not yet settled on leg; for the
// others SendLeg restates their earlier state (accepted or permanent)
// without sending. A combined child gets every recipient with its part of
// e.Settled, and decides for its own legs. Recipients a plain child
// answers 452 (too many recipients) while it accepts others go again at
// once in a new transaction.
func SendLeg(ctx context.Context, c Child, e *Envelope, leg string) (overall, legs []RecipientResult) {
	overall = make([]RecipientResult, len(e.To))
	sub := e.Settled.Under(leg)
	combined := hasLegs(c.Backend)
	var to []string
	var at []int
	for i, addr := range e.To {
		if st, ok := sub.State("", addr); ok && !combined {
			overall[i] = restate(addr, st)
			continue
		}
		to = append(to, addr)
		at = append(at, i)
	}
	if len(to) > 0 {
		env := *e
		env.Settled = nil
		if combined {
			env.Settled = sub
		}
		got := sendRounds(ctx, c.Backend, &env, to, !combined)
		for j, i := range at {
			overall[i] = got.overall[j]
		}
		for _, r := range got.legs {
			r.Leg = JoinLeg(leg, r.Leg)
			legs = append(legs, r)
		}
	}
	for i := range overall {
		overall[i].Addr = e.To[i]
		overall[i].Leg = leg
		if overall[i].Via == "" {
			overall[i].Via = c.Name
		}
	}
	return overall, legs
}

// restate is the answer of a recipient settled by an earlier attempt.
func restate(addr string, st RecipientStatus) RecipientResult {
	c := ClassPermanent
	if st == RecipientSent {
		c = ClassAccepted
	}
	return RecipientResult{Addr: addr, Class: c, Reply: Reply{Text: settledText}}
}

// rounds is what sendRounds gathered.
type rounds struct {
	// overall has one answer per recipient, in the order given.
	overall []RecipientResult
	// legs are the leg answers the backend reported.
	legs []RecipientResult
	// reply is the reply of a transaction that failed as a whole, and err
	// its error.
	reply Reply
	err   error
}

// sendRounds sends env to the recipients to through b: one transaction,
// then (when retryNow) new ones at once for recipients answered 452 while
// others were accepted, at most maxRetryNowRounds in all.
func sendRounds(ctx context.Context, b Backend, env *Envelope, to []string, retryNow bool) rounds {
	out := rounds{overall: make([]RecipientResult, len(to))}
	pos := make(map[string]int, len(to))
	for i, a := range to {
		pos[a] = i
	}
	for round := 0; ; round++ {
		env.To = to
		res, err := safeSend(ctx, b, env)
		var overall []RecipientResult
		if err == nil {
			overall, out.legs, err = splitResults(res, to, out.legs)
		}
		if err != nil {
			c, rep := ErrorClass(err)
			if c == ClassRetryNow || c == ClassAccepted {
				c = ClassTemporary
			}
			uncertain := errors.Is(err, ErrMayHaveAccepted)
			for _, a := range to {
				out.overall[pos[a]] = RecipientResult{Addr: a, Class: c, Reply: rep, Uncertain: uncertain}
			}
			out.reply, out.err = rep, err
			return out
		}
		var again []string
		progress := false
		for _, r := range overall {
			out.overall[pos[r.Addr]] = r
			switch r.Class {
			case ClassAccepted:
				progress = true
			case ClassRetryNow:
				again = append(again, r.Addr)
			}
		}
		if len(again) == 0 {
			return out
		}
		if !retryNow || !progress || round+1 >= maxRetryNowRounds {
			for _, a := range again {
				out.overall[pos[a]].Class = ClassTemporary
			}
			return out
		}
		to = again
	}
}

// splitResults checks a backend's results for the recipients to: first
// one overall result per recipient, in order, then any leg results (for
// recipients of to), which are appended to legs. Unset classes are
// classified from the reply.
func splitResults(res []RecipientResult, to []string, legs []RecipientResult) ([]RecipientResult, []RecipientResult, error) {
	n := 0
	for n < len(res) && res[n].Leg == "" {
		n++
	}
	if n != len(to) {
		return nil, legs, fmt.Errorf("backend returned %d overall results for %d recipients", n, len(to))
	}
	in := make(map[string]bool, len(to))
	overall := make([]RecipientResult, n)
	for i, r := range res[:n] {
		r.Addr = to[i]
		if r.Class == "" {
			r.Class = Classify(r.Reply)
		}
		overall[i] = r
		in[r.Addr] = true
	}
	for _, r := range res[n:] {
		if r.Leg == "" || !in[r.Addr] {
			return nil, legs, fmt.Errorf("backend returned a leg result for %q on leg %q, not a recipient of the attempt", r.Addr, r.Leg)
		}
		if r.Class == "" {
			r.Class = Classify(r.Reply)
		}
		if r.Class == ClassRetryNow {
			r.Class = ClassTemporary
		}
		legs = append(legs, r)
	}
	return overall, legs, nil
}
