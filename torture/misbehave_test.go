package torture

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// upstream is a daemon delivering to a sink, for one misbehaviour.
type upstream struct {
	t    *testing.T
	sink *outboxtest.Sink
	d    *served
	c    *http.Client
	l    *ledger
	n    int
}

// newUpstream starts a sink and a daemon delivering to it with short
// retry delays; query is added to the backend URL.
func (s *suite) newUpstream(t *testing.T, query string) *upstream {
	sink := outboxtest.NewSink(t)
	d := s.startDaemon(t, daemonOpts{
		dataDir: filepath.Join(t.TempDir(), "data"),
		backend: "smtp://" + sink.Addr() + "?tls=none&" + query,
		env:     []string{"OUTBOX_RETRY_MIN_DELAY=100ms", "OUTBOX_RETRY_MAX_DELAY=400ms"},
	})
	return &upstream{t: t, sink: sink, d: d, c: httpClient(), l: newLedger()}
}

// send enqueues n messages to the given recipients and returns their ids.
func (u *upstream) send(n int, to ...string) []int64 {
	u.t.Helper()
	var ids []int64
	for range n {
		u.n++
		key := fmt.Sprintf("m%d", u.n)
		rc, code, err := enqueue(context.Background(), u.c, u.d.URL, jsonMessage(key, to...))
		if err != nil || code != 202 {
			u.t.Fatalf("enqueue: %d %v", code, err)
		}
		u.l.ack(key, rc.MessageID)
		ids = append(ids, rc.ID)
	}
	return ids
}

// settle waits until every message is delivered and final, and returns
// their records.
func (u *upstream) settle(ids []int64) []record {
	u.t.Helper()
	recs, a := u.settleAudit(ids)
	if a.duplicates != 0 {
		u.t.Errorf("%d messages delivered more than once", a.duplicates)
	}
	return recs
}

// settleAudit is settle for an upstream that may take a message after
// Outbox stopped waiting for it: the duplicates are the caller's to judge.
func (u *upstream) settleAudit(ids []int64) ([]record, audit) {
	u.t.Helper()
	a := u.l.awaitAll(u.t, u.sink, time.Minute, u.d.logTail)
	var recs []record
	for _, id := range ids {
		recs = append(recs, waitStatus(u.t, u.c, u.d.URL, id, time.Minute))
	}
	return recs, a
}

// testUpstreamMisbehaviour runs each way an upstream misbehaves; in each,
// every message is eventually delivered and its status and attempt log
// say what happened.
func (s *suite) testUpstreamMisbehaviour(t *testing.T) {
	t.Run("421MidSession", s.test421MidSession)
	t.Run("CutAfterData", s.testCutAfterData)
	t.Run("ReplyNeverComes", s.testReplyNeverComes)
	t.Run("452SomeRecipients", s.test452SomeRecipients)
}

// test421MidSession: on a connection already used for earlier messages,
// the upstream answers MAIL FROM with 421 and closes, three times. The
// backend keeps one connection (max_conns=1) so that the sequence is
// fixed: the first 421, on the pooled connection, is taken for a server
// closing an idle connection and the transaction goes again at once on a
// new one (backend/smtp replaces a reused connection found broken once);
// the second, on that new connection, and the third, on the next one,
// reach the engine: those messages are throttled (deferred without
// counting an attempt), then sent.
func (s *suite) test421MidSession(t *testing.T) {
	u := s.newUpstream(t, "timeout=5s&max_conns=1")
	u.settle(u.send(5)) // connections are open and pooled
	cue := u.sink.RejectMail(421, "4.3.2", "Too busy, closing").Times(3)
	recs := u.settle(u.send(10))
	if cue.Hits() != 3 {
		t.Errorf("the sink answered 421 %d times, want 3", cue.Hits())
	}
	throttled := 0
	for _, r := range recs {
		out := r.outcomes()
		if r.Status != "sent" || out[len(out)-1] != "accepted" {
			t.Errorf("message %d: status %s, attempts %v; want sent", r.ID, r.Status, out)
		}
		n := strings.Count(strings.Join(out, " "), "throttled")
		throttled += n
		if n > 0 && r.Attempts != 1 {
			t.Errorf("message %d: %d attempts counted after %d throttled ones (%v); a 421 must not count", r.ID, r.Attempts, n, out)
		}
		if n > 0 && r.AttemptLog[0].Reply.Code != 421 {
			t.Errorf("message %d: the throttled attempt has reply code %d, want 421", r.ID, r.AttemptLog[0].Reply.Code)
		}
	}
	if throttled != 2 {
		t.Errorf("%d attempts logged as throttled, want 2 (the 421s on fresh connections)", throttled)
	}
}

// testCutAfterData: the upstream reads the data, then closes the
// connection without replying. Outbox cannot know whether it was taken:
// the attempt is temporary and the message goes again (the sink here did
// not keep it, so it arrives once).
func (s *suite) testCutAfterData(t *testing.T) {
	u := s.newUpstream(t, "timeout=5s")
	cue := u.sink.CutAfterData().Times(3)
	recs := u.settle(u.send(10))
	if cue.Hits() != 3 {
		t.Errorf("the sink cut %d connections, want 3", cue.Hits())
	}
	cut := 0
	for _, r := range recs {
		out := r.outcomes()
		if r.Status != "sent" || out[len(out)-1] != "accepted" {
			t.Errorf("message %d: status %s, attempts %v; want sent", r.ID, r.Status, out)
		}
		if slices.Contains(out, "temporary") {
			cut++
			if r.Attempts != len(out) {
				t.Errorf("message %d: %d attempts counted for %v; a cut connection counts", r.ID, r.Attempts, out)
			}
		}
	}
	if cut != 3 {
		t.Errorf("%d messages show a temporary failure, want 3", cut)
	}
	if got := u.sink.Count(); got != 10 {
		t.Errorf("the sink kept %d messages, want 10", got)
	}
}

// testReplyNeverComes: the upstream stops answering (its replies come
// long after the backend's timeout). Attempts time out and are retried;
// once it answers again everything is sent.
func (s *suite) testReplyNeverComes(t *testing.T) {
	u := s.newUpstream(t, "timeout=300ms&data_timeout=300ms")
	u.sink.Delay(5 * time.Second)
	ids := u.send(5)
	// Wait until every message has timed out at least once.
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for len(getRecord(t, u.c, u.d.URL, id).AttemptLog) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("message %d: no attempt logged while the upstream was silent\n%s", id, u.d.logTail())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if got := u.sink.Count(); got != 0 {
		t.Fatalf("the sink received %d messages while silent", got)
	}
	u.sink.Delay(0)
	recs, a := u.settleAudit(ids)
	// The silent sink still took each message once its delay was over,
	// after Outbox had given up on the reply: the retry that followed is
	// the documented duplicate (same Message-ID), at most one per message.
	t.Logf("%d of %d messages delivered twice: taken by the upstream after the timeout, then sent again", a.duplicates, len(ids))
	if a.duplicates > len(ids) {
		t.Errorf("%d duplicates for %d messages: more than one each", a.duplicates, len(ids))
	}
	for _, r := range recs {
		out := r.outcomes()
		if r.Status != "sent" || out[0] != "temporary" || out[len(out)-1] != "accepted" {
			t.Errorf("message %d: status %s, attempts %v; want a temporary (timeout) then sent", r.ID, r.Status, out)
		}
	}
}

// test452SomeRecipients: the upstream takes two recipients per
// transaction and answers 452 4.5.3 to the others. They go again at once
// in new transactions, no attempt counted; each recipient gets the
// message once.
func (s *suite) test452SomeRecipients(t *testing.T) {
	u := s.newUpstream(t, "timeout=5s")
	u.sink.TooManyRecipientsAfter(2)
	to := []string{"a@example.net", "b@example.net", "c@example.net", "d@example.net", "e@example.net"}
	ids := u.send(4, to...)
	recs, _ := u.settleAudit(ids) // a message arrives in three transactions: checked per recipient below
	for _, r := range recs {
		if r.Status != "sent" || r.Attempts != 1 {
			t.Errorf("message %d: status %s, %d attempts (%v); want sent in 1 counted attempt", r.ID, r.Status, r.Attempts, r.outcomes())
		}
		for _, rc := range r.Recipients {
			if rc.Status != "sent" {
				t.Errorf("message %d: recipient %s is %s, want sent", r.ID, rc.Email, rc.Status)
			}
		}
	}
	got := map[string][]string{}
	for _, m := range u.sink.Messages() {
		key := header(m.Data, "X-Torture-Key")
		got[key] = append(got[key], m.To...)
	}
	for key, rcpts := range got {
		sort.Strings(rcpts)
		if !slices.Equal(rcpts, to) {
			t.Errorf("%s reached %v, want each of %v once", key, rcpts, to)
		}
	}
}
