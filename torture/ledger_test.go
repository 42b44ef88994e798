package torture

import (
	"bytes"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// ledger is the list of acknowledged messages: key (the X-Torture-Key
// header) → the Message-ID Outbox acknowledged it with.
type ledger struct {
	mu    sync.Mutex
	acked map[string]string
}

func newLedger() *ledger { return &ledger{acked: make(map[string]string)} }

// ack records an acknowledged message.
func (l *ledger) ack(key, msgID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[key] = msgID
}

// len returns the number of acknowledged messages.
func (l *ledger) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// count returns the number of acknowledged messages whose key starts
// with prefix.
func (l *ledger) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k := range l.acked {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// audit is the comparison of a ledger with what a sink received.
type audit struct {
	lost       []string // acknowledged, never delivered
	duplicates int      // deliveries beyond the first of an acknowledged message
	wrongID    []string // delivered with another Message-ID than acknowledged
	unacked    int      // delivered but never acknowledged (allowed)
}

// audit compares the ledger with the sink's messages.
func (l *ledger) audit(msgs []outboxtest.SinkMessage) audit {
	l.mu.Lock()
	defer l.mu.Unlock()
	var a audit
	got := make(map[string]int, len(msgs))
	for _, m := range msgs {
		key := header(m.Data, "X-Torture-Key")
		got[key]++
		id, ok := l.acked[key]
		switch {
		case !ok:
			if got[key] == 1 {
				a.unacked++
			}
		case got[key] > 1:
			a.duplicates++
		}
		if ok && header(m.Data, "Message-ID") != id {
			a.wrongID = append(a.wrongID, key)
		}
	}
	for key := range l.acked {
		if got[key] == 0 {
			a.lost = append(a.lost, key)
		}
	}
	sort.Strings(a.lost)
	return a
}

// awaitAll waits until the sink has received every acknowledged message
// and returns the audit; it fails the test, naming some lost messages, if
// that does not happen within timeout.
func (l *ledger) awaitAll(t *testing.T, sink *outboxtest.Sink, timeout time.Duration, diag func() string) audit {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a := l.audit(sink.Messages())
		if len(a.lost) == 0 {
			if len(a.wrongID) > 0 {
				t.Errorf("%d deliveries carry another Message-ID than the one acknowledged, e.g. %v", len(a.wrongID), a.wrongID[:min(5, len(a.wrongID))])
			}
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged messages never delivered within %v, e.g. %v\n%s",
				len(a.lost), l.len(), timeout, a.lost[:min(10, len(a.lost))], diag())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// header returns the value of the first header field name in raw, or "".
func header(raw []byte, name string) string {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(raw)
	}
	for _, line := range strings.Split(string(raw[:end]), "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
