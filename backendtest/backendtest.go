package backendtest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/outboxmail/outbox"
)

// Target is one backend under test, with what the suite can observe of
// its upstream.
type Target struct {
	// Backend is the backend under test, fresh for each subtest. The suite
	// closes it. Its upstream must accept every message.
	Backend outbox.Backend
	// Connections, when set, returns how many connections the upstream
	// has accepted so far: lazy connect wants none before the first Send.
	Connections func() int
	// Received, when set, returns how many messages with the Message-ID
	// id the upstream has received.
	Received func(id string) int
}

// New returns a fresh Target for one subtest.
type New func(t *testing.T) Target

// Run runs the conformance suite against the targets newTarget returns,
// one per subtest.
func Run(t *testing.T, newTarget New) {
	tests := []struct {
		name string
		fn   func(t *testing.T, tg Target)
	}{
		{"LazyConnect", testLazy},
		{"OneResultPerRecipientInOrder", testResults},
		{"ConcurrentSends", testConcurrent},
		{"CloseIdempotentSendAfterCloseFails", testClose},
		{"SettledNotSentAgain", testSettled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t)
			if tg.Backend == nil {
				t.Fatal("backendtest: Target.Backend is nil")
			}
			t.Cleanup(func() { tg.Backend.Close() })
			tc.fn(t, tg)
		})
	}
}

// Envelope returns a small valid message n to the given recipients.
func Envelope(n int, to ...string) *outbox.Envelope {
	id := fmt.Sprintf("<conformance-%d@example.com>", n)
	data := fmt.Sprintf("From: app@example.com\r\nTo: %s\r\nSubject: conformance %d\r\nMessage-ID: %s\r\n"+
		"Date: Mon, 02 Mar 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello %d\r\n",
		to[0], n, id, n)
	return &outbox.Envelope{ID: int64(n), MessageID: id, From: "app@example.com", To: to, Data: []byte(data)}
}

// send sends e and checks the result's shape: one overall result per
// recipient, in order, then only leg results for recipients of e.
func send(t *testing.T, b outbox.Backend, e *outbox.Envelope) []outbox.RecipientResult {
	t.Helper()
	res, err := b.Send(context.Background(), e)
	if err != nil {
		t.Fatalf("Send(%v): %v", e.To, err)
	}
	if err := checkShape(e, res); err != nil {
		t.Fatal(err)
	}
	return res
}

// checkShape checks that res answers e as Backend.Send says.
func checkShape(e *outbox.Envelope, res []outbox.RecipientResult) error {
	if len(res) < len(e.To) {
		return fmt.Errorf("Send returned %d results for %d recipients", len(res), len(e.To))
	}
	to := make(map[string]bool)
	for i, addr := range e.To {
		to[addr] = true
		r := res[i]
		if r.Leg != "" || r.Addr != addr {
			return fmt.Errorf("result %d is %+v, want the overall answer for %s", i, r, addr)
		}
		if r.Class != outbox.ClassAccepted && outbox.Classify(r.Reply) != outbox.ClassAccepted {
			return fmt.Errorf("result %d is %+v, want accepted", i, r)
		}
	}
	for _, r := range res[len(e.To):] {
		if r.Leg == "" || !to[r.Addr] {
			return fmt.Errorf("extra result %+v is not a leg answer about a recipient", r)
		}
	}
	return nil
}

// testLazy: building a backend opens no connection.
func testLazy(t *testing.T, tg Target) {
	if tg.Connections == nil {
		t.Skip("the target does not count connections")
	}
	if n := tg.Connections(); n != 0 {
		t.Fatalf("building the backend opened %d connections, want 0", n)
	}
	send(t, tg.Backend, Envelope(1, "a@example.org"))
	if n := tg.Connections(); n == 0 {
		t.Error("Send opened no connection: the connection counter does not observe the backend")
	}
}

// testResults: one overall result per recipient, in the order given.
func testResults(t *testing.T, tg Target) {
	e := Envelope(2, "c@example.org", "a@example.org", "b@example.org")
	send(t, tg.Backend, e)
	if tg.Received != nil {
		if n := tg.Received(e.MessageID); n != 1 {
			t.Errorf("upstream received the message %d times, want 1", n)
		}
	}
}

// testConcurrent: 20 goroutines send at once; each message arrives once.
func testConcurrent(t *testing.T, tg Target) {
	var wg sync.WaitGroup
	envs := make([]*outbox.Envelope, 20)
	for i := range envs {
		envs[i] = Envelope(100+i, fmt.Sprintf("r%d@example.org", i))
	}
	errs := make([]error, len(envs))
	for i, e := range envs {
		wg.Go(func() {
			res, err := tg.Backend.Send(context.Background(), e)
			if err == nil {
				err = checkShape(e, res)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("send %d: %v", i, err)
		}
	}
	if tg.Received != nil {
		for _, e := range envs {
			if n := tg.Received(e.MessageID); n != 1 {
				t.Errorf("upstream received %s %d times, want 1", e.MessageID, n)
			}
		}
	}
}

// testClose: Close twice is fine; Send after Close fails.
func testClose(t *testing.T, tg Target) {
	send(t, tg.Backend, Envelope(3, "a@example.org"))
	if err := tg.Backend.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := tg.Backend.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := tg.Backend.Send(context.Background(), Envelope(4, "a@example.org")); err == nil {
		t.Error("Send after Close succeeded")
	}
}

// testSettled: a combined backend given back what it settled (as the
// engine would on a retry) delivers nothing again.
func testSettled(t *testing.T, tg Target) {
	c, ok := tg.Backend.(outbox.Combined)
	if !ok || !c.HasLegs() {
		t.Skip("not a combined backend")
	}
	if tg.Received == nil {
		t.Skip("the target does not count messages received")
	}
	e := Envelope(5, "a@example.org", "b@example.org")
	res := send(t, tg.Backend, e)
	settled := make(outbox.Settled)
	for _, r := range res {
		if r.Class == outbox.ClassAccepted && !r.FailedOver {
			settled.Set(r.Leg, r.Addr, outbox.RecipientSent)
		}
	}
	again := *e
	again.Settled = settled
	send(t, tg.Backend, &again)
	if n := tg.Received(e.MessageID); n != 1 {
		t.Errorf("after a retry with everything settled, upstream received the message %d times, want 1", n)
	}
}
