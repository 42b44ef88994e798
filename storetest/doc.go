// Package storetest is the conformance suite of outbox.Store: every store
// (sqlite, postgres, …) runs it from its own tests,
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) outbox.Store {
//			s, err := mystore.Open(…)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// and proves the contract written on outbox.Store: per-item enqueue results
// and idempotency, exclusive leases under concurrency, expired leases,
// priority shares and FIFO order, per-recipient and per-leg completion,
// retry and cancel transitions, keyset pagination under concurrent inserts,
// status counters, purge, NextDue and the oldest pending message.
//
// The suite never sleeps: time is passed in the requests (ClaimRequest.Now,
// Outcome.Now, Retry and Cancel), starting from a fixed instant. Times have
// whole microseconds, so a store may keep microsecond precision.
package storetest
