package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestLeaseTableTransaction: a lease set in a transaction holds at once; a
// finished one still shows until its transaction commits, then goes; a
// rollback, whole or to a savepoint, puts back what was there.
func TestLeaseTableTransaction(t *testing.T) {
	lt := newLeaseTable()
	showing := func(id int64) outbox.Status {
		r := &outbox.Record{ID: id, Status: outbox.StatusQueued}
		lt.show(r)
		return r.Status
	}

	t1 := &tx{}
	lt.set(t1, 1, lease{token: 10, until: 100, stored: outbox.StatusQueued})
	lt.set(t1, 2, lease{token: 11, until: 50, stored: outbox.StatusQueued})
	if lt.claimable(1, 99) || !lt.claimable(1, 100) || !lt.claimable(3, 0) {
		t.Error("claimable: want held until its expiry, and a message without a lease free")
	}
	if got := showing(1); got != outbox.StatusSending {
		t.Errorf("a held queued message shows %s, want sending", got)
	}
	lt.committed(t1)

	t2 := &tx{}
	lt.finish(t2, 2)
	if !lt.claimable(2, 0) {
		t.Error("a finished lease still holds its message for the writer")
	}
	if got := showing(2); got != outbox.StatusSending {
		t.Errorf("a finished lease before its commit shows %s, want sending", got)
	}
	if until, ok := lt.firstExpiry(); !ok || until != 50 {
		t.Errorf("firstExpiry = %d %v, want the finished lease's 50 until its commit", until, ok)
	}
	saved := len(t2.leaseUndo)
	lt.set(t2, 3, lease{token: 12, until: 100, stored: outbox.StatusDeferred})
	lt.finish(t2, 1)
	lt.undoTo(t2, saved) // a savepoint rolled back
	if _, ok := lt.get(3); ok {
		t.Error("a lease set after the savepoint survived its rollback")
	}
	if l, _ := lt.get(1); l.done {
		t.Error("a lease finished after the savepoint is still done after its rollback")
	}
	lt.committed(t2)
	if _, ok := lt.get(2); ok {
		t.Error("a finished lease outlived its commit")
	}
	if got := lt.sending(1<<62, 10); len(got) != 1 || got[0] != 1 {
		t.Errorf("sending = %v, want [1]", got)
	}

	t3 := &tx{}
	lt.finish(t3, 1)
	lt.set(t3, 1, lease{token: 13, until: 200, stored: outbox.StatusQueued}) // claimed again, same group
	lt.set(t3, 4, lease{token: 14, until: 200, stored: outbox.StatusQueued})
	lt.rolledBack(t3)
	if l, ok := lt.get(1); !ok || l.token != 10 || l.done {
		t.Errorf("after a rollback lease 1 = %+v %v, want token 10 held", l, ok)
	}
	if len(lt.m) != 1 {
		t.Errorf("after a rollback %d leases, want 1", len(lt.m))
	}

	t4 := &tx{}
	lt.finish(t4, 1)
	lt.set(t4, 1, lease{token: 15, until: 300, stored: outbox.StatusDeferred})
	lt.committed(t4)
	if l, ok := lt.get(1); !ok || l.token != 15 {
		t.Errorf("a lease taken again after its outcome in the same group = %+v %v, want token 15 kept", l, ok)
	}
}

// TestListSendingPastUnstoredLeases: a lease whose message is not stored
// yet in a reader's snapshot (a hand-off before its commit) does not cut
// the listing of sending messages short.
func TestListSendingPastUnstoredLeases(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Now().UTC()
	if _, err := s.Enqueue(ctx, []*outbox.Record{newTestRecord(1, now), newTestRecord(2, now), newTestRecord(3, now)}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: time.Hour, Limit: 2})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("Claim = %d records, %v", len(claimed), err)
	}
	s.w.leases.set(&tx{}, 1000, lease{token: 99, until: nanos(now.Add(time.Hour)), stored: outbox.StatusQueued})
	var got []int64
	q := outbox.ListQuery{Status: outbox.StatusSending, Limit: 1}
	for {
		p, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			got = append(got, r.ID)
		}
		if p.Next == 0 {
			break
		}
		q.Before = p.Next
	}
	if len(got) != 2 || got[0] != claimed[1].ID || got[1] != claimed[0].ID {
		t.Errorf("listed sending %v, want %d and %d", got, claimed[1].ID, claimed[0].ID)
	}
}
