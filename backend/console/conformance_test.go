package console_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/outboxmail/outbox/backend/console"
	"github.com/outboxmail/outbox/backendtest"
)

// lockedBuffer is a writer safe to read while the backend writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Count(l.b.Bytes(), []byte(s))
}

func TestConformance(t *testing.T) {
	for _, raw := range []bool{false, true} {
		backendtest.Run(t, func(t *testing.T) backendtest.Target {
			out := &lockedBuffer{}
			return backendtest.Target{
				Backend: console.New(out, console.Config{Raw: raw}),
				Received: func(id string) int {
					if raw { // the envelope line and the header both show it
						return out.count("Message-ID: " + id + "\r\n")
					}
					return out.count(id)
				},
			}
		})
	}
}
