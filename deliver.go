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

// commit stores the outcome of a delivery attempt. A failed commit (a full
// disk, a database restarting) is retried with backoff until deadline,
// shortly before the lease runs out: giving up would send the message
// again once the lease expires. Only Stop's deadline or a lost lease ends
// the retries early.
func (e *Engine) commit(r *Record, o *Outcome, deadline time.Time) {
	delay := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := e.store.Complete(ctx, *o)
		cancel()
		if err == nil {
			break
		}
		if errors.Is(err, ErrLeaseLost) {
			e.log.Warn("outcome dropped: lease lost", "id", r.ID)
			return
		}
		if !time.Now().Add(delay).Before(deadline) || !e.pause(delay) {
			e.log.Error("commit delivery outcome failed; the lease will return the message", "id", r.ID, "err", err)
			return
		}
		e.log.Warn("commit delivery outcome; retrying", "id", r.ID, "err", err, "in", delay)
		delay = min(2*delay, 5*time.Second)
	}
	lvl := "debug"
	if o.Status == StatusFailed || o.Status == StatusExpired {
		lvl = "warn"
	}
	e.logOutcome(lvl, r, o)
	// A retry due before the dispatcher's next poll must wake it.
	soon := e.cfg.Now().Add(e.cfg.Poll)
	for _, due := range []time.Time{o.NextAttemptAt, o.LegsDueAt} {
		if !due.IsZero() && due.Before(soon) {
			e.Notify()
		}
	}
	if e.cfg.Observe != nil {
		e.cfg.Observe(r, o)
	}
}

// pause waits for d; it reports false once Stop's deadline has passed.
func (e *Engine) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.abortCx.Done():
		return false
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
// else the most severe class among them. An answer that failed over to
// the next backend is not counted: the next one's answer stands for it.
func worstClass(rs []RecipientResult) Class {
	worst := ClassAccepted
	for _, r := range rs {
		if !r.FailedOver && classRank(r.Class) > classRank(worst) {
			worst = r.Class
		}
	}
	return worst
}

// classRank orders classes by severity, accepted lowest.
func classRank(c Class) int {
	switch c {
	case ClassRetryNow:
		return 1
	case ClassThrottled:
		return 2
	case ClassTemporary:
		return 3
	case ClassPermanent:
		return 4
	}
	return 0
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
