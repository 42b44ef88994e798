package backend_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/outboxtest"
)

// TestRoundrobinSpread: 90 messages over three healthy sinks land 30 on
// each, give or take 3 (the rotation is exact; the tolerance allows for
// how concurrent deliveries interleave with it).
func TestRoundrobinSpread(t *testing.T) {
	sinks := []*outboxtest.Sink{outboxtest.NewSink(t), outboxtest.NewSink(t), outboxtest.NewSink(t)}
	r := newRig(t, fmt.Sprintf("roundrobin(%s %s %s)", sinkURL(sinks[0].Addr()), sinkURL(sinks[1].Addr()), sinkURL(sinks[2].Addr())), nil, nil)
	var ids []int64
	for i := range 90 {
		ids = append(ids, r.send(fmt.Sprintf("r%d@example.org", i)))
	}
	for _, id := range ids {
		r.waitStatus(id, outbox.StatusSent)
	}
	for i, s := range sinks {
		if n := s.Count(); n < 27 || n > 33 {
			t.Errorf("sink %d received %d messages, want 30±3", i, n)
		}
	}
}

// TestRoundrobinWeights: weights=3,1 sends three quarters to the first.
func TestRoundrobinWeights(t *testing.T) {
	a, b := outboxtest.NewSink(t), outboxtest.NewSink(t)
	r := newRig(t, fmt.Sprintf("roundrobin(%s %s)?weights=3,1", sinkURL(a.Addr()), sinkURL(b.Addr())), nil, nil)
	var ids []int64
	for i := range 40 {
		ids = append(ids, r.send(fmt.Sprintf("r%d@example.org", i)))
	}
	for _, id := range ids {
		r.waitStatus(id, outbox.StatusSent)
	}
	if a.Count() != 30 || b.Count() != 10 {
		t.Errorf("a received %d, b %d; want 30 and 10", a.Count(), b.Count())
	}
}

// TestRoundrobinSinkDiesMidRun: one of three sinks stops while messages
// flow; every message is still sent in its first attempt, none is lost.
func TestRoundrobinSinkDiesMidRun(t *testing.T) {
	sinks := []*outboxtest.Sink{outboxtest.NewSink(t), outboxtest.NewSink(t), outboxtest.NewSink(t)}
	r := newRig(t, fmt.Sprintf("roundrobin(%s %s %s)", sinkURL(sinks[0].Addr()), sinkURL(sinks[1].Addr()), sinkURL(sinks[2].Addr())), nil, nil)
	var ids []int64
	for i := range 30 {
		ids = append(ids, r.send(fmt.Sprintf("r%d@example.org", i)))
	}
	sinks[2].WaitFor(3, 5*time.Second)
	sinks[2].Stop()
	for i := range 30 {
		ids = append(ids, r.send(fmt.Sprintf("s%d@example.org", i)))
	}
	received := make(map[string]int)
	for _, id := range ids {
		rec := r.waitStatus(id, outbox.StatusSent)
		received[rec.MessageID] = 0
		if rec.Attempts != 1 {
			t.Errorf("message %d took %d attempts, want 1: a failing child's message goes to the next one at once", id, rec.Attempts)
		}
	}
	for _, s := range sinks {
		for _, m := range s.Messages() {
			for id := range received {
				if bytes.Contains(m.Data, []byte(id)) {
					received[id]++
				}
			}
		}
	}
	for id, n := range received {
		if n == 0 {
			t.Errorf("message %s is sent but no sink has it", id)
		}
	}
}
