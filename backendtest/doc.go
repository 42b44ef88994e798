// Package backendtest is the conformance suite of outbox.Backend: every
// backend (smtp, console, file, memory, null, and the combined fanout,
// failover, roundrobin and chaos) runs it, and so can a new one.
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) backendtest.Target {
//			sink := outboxtest.NewSink(t)
//			b, _ := smtp.FromURL(…sink.Addr()…)
//			return backendtest.Target{Backend: b, Connections: sink.Connections, Received: …}
//		})
//	}
//
// The contract it checks: a backend connects lazily (building it opens no
// connection); it is safe for concurrent use; Send returns exactly one
// overall result per recipient, in order, before any leg result; Close is
// idempotent and Send after Close is an error; and a combined backend
// never delivers again what Envelope.Settled says was delivered.
package backendtest
