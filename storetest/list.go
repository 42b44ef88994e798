package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// testListPages: pages are newest first, of the asked size, filtered by
// status, with recipients but no Raw or attempt log; Next ends at 0.
func testListPages(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	var recs []*outbox.Record
	for i := range 25 {
		recs = append(recs, newRecord(i, at(time.Duration(i)*time.Second), "a@example.org", "b@example.org"))
	}
	id := enqueue(t, s, recs...)
	var cancelled []int64
	for i := 0; i < len(id); i += 3 {
		if _, err := s.Cancel(ctx, id[i], at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		cancelled = append(cancelled, id[i])
	}

	p, err := s.List(ctx, outbox.ListQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Records) != 10 || p.Next == 0 {
		t.Fatalf("first page: %d records, next %d; want 10 and a cursor", len(p.Records), p.Next)
	}
	if p.Records[0].ID != id[len(id)-1] {
		t.Errorf("first record %d, want the newest %d", p.Records[0].ID, id[len(id)-1])
	}
	for _, r := range p.Records {
		if len(r.Recipients) != 2 || r.Raw != nil || r.AttemptLog != nil {
			t.Errorf("listed record %d: %d recipients, Raw %d bytes, %d attempts; want 2, none, none",
				r.ID, len(r.Recipients), len(r.Raw), len(r.AttemptLog))
		}
		if r.Subject == "" || r.CreatedAt.IsZero() {
			t.Errorf("listed record %d lacks subject or created_at", r.ID)
		}
	}

	all := listAll(t, s, "", 10)
	if len(all) != len(id) {
		t.Errorf("listed %d, want %d", len(all), len(id))
	}
	for i, r := range all {
		if want := id[len(id)-1-i]; r.ID != want {
			t.Fatalf("listing position %d = %d, want %d", i, r.ID, want)
		}
	}
	got := listAll(t, s, outbox.StatusCancelled, 4)
	if len(got) != len(cancelled) {
		t.Fatalf("listed %d cancelled, want %d", len(got), len(cancelled))
	}
	for i, r := range got {
		if want := cancelled[len(cancelled)-1-i]; r.ID != want || r.Status != outbox.StatusCancelled {
			t.Errorf("cancelled listing position %d = %d %s, want %d", i, r.ID, r.Status, want)
		}
	}
	if p, err := s.List(ctx, outbox.ListQuery{Status: outbox.StatusSent}); err != nil || len(p.Records) != 0 || p.Next != 0 {
		t.Errorf("List(sent) = %d records, next %d, %v; want an empty last page", len(p.Records), p.Next, err)
	}
	// An exact multiple of the page size ends without an empty page.
	p, err = s.List(ctx, outbox.ListQuery{Limit: len(id)})
	if err != nil || len(p.Records) != len(id) || p.Next != 0 {
		t.Errorf("List(limit %d) = %d records, next %d, %v; want all and no cursor", len(id), len(p.Records), p.Next, err)
	}
	// The default page size applies to a zero limit.
	if p, err := s.List(ctx, outbox.ListQuery{}); err != nil || len(p.Records) != len(id) {
		t.Errorf("List(limit 0) = %d records, %v", len(p.Records), err)
	}
}

// testListDuringInserts: paging through a status while messages are added
// returns no id twice, every message that existed before exactly once,
// and ids strictly descending.
func testListDuringInserts(t *testing.T, open Open) {
	for _, status := range []outbox.Status{outbox.StatusQueued, ""} {
		t.Run(string(status)+"all", func(t *testing.T) {
			s := open(t)
			var recs []*outbox.Record
			for i := range 300 {
				recs = append(recs, newRecord(i, at(0)))
			}
			before := enqueue(t, s, recs...)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				for i := 1000; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := s.Enqueue(context.Background(), []*outbox.Record{newRecord(i, at(time.Second))}); err != nil {
						t.Errorf("Enqueue: %v", err)
						return
					}
				}
			})
			seen := make(map[int64]bool)
			var prev int64
			q := outbox.ListQuery{Status: status, Limit: 7}
			for {
				p, err := s.List(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Records {
					if seen[r.ID] {
						t.Fatalf("id %d listed twice", r.ID)
					}
					if prev != 0 && r.ID >= prev {
						t.Fatalf("id %d after %d: not strictly descending", r.ID, prev)
					}
					seen[r.ID], prev = true, r.ID
				}
				if p.Next == 0 {
					break
				}
				q.Before = p.Next
			}
			close(stop)
			wg.Wait()
			for _, id := range before {
				if !seen[id] {
					t.Errorf("message %d, stored before the listing, was not listed", id)
				}
			}
		})
	}
}

// testListWhileClaimed: claimed messages are listed sending, newest
// first and page by page, and not under their stored status; NextDue
// passes over them to the next unclaimed message or the earliest lease
// expiry.
func testListWhileClaimed(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	var recs []*outbox.Record
	for i := range 5 {
		recs = append(recs, newRecord(i, at(time.Duration(i)*time.Second)))
	}
	id := enqueue(t, s, recs...)
	claimed := claim(t, s, at(10*time.Second), 2) // the two oldest
	if got := ids(claimed); len(got) != 2 || got[0] != id[0] || got[1] != id[1] {
		t.Fatalf("claimed %v, want %v", got, id[:2])
	}
	wantIDs := func(status outbox.Status, want ...int64) {
		t.Helper()
		got := listAll(t, s, status, 1)
		if len(got) != len(want) {
			t.Fatalf("List(%q) = %v, want %v", status, ids(got), want)
		}
		for i, r := range got {
			if r.ID != want[i] || (status != "" && r.Status != status) {
				t.Fatalf("List(%q) = %v (position %d: %d %s), want %v", status, ids(got), i, r.ID, r.Status, want)
			}
		}
	}
	wantIDs(outbox.StatusSending, id[1], id[0])
	wantIDs(outbox.StatusQueued, id[4], id[3], id[2])
	for _, r := range listAll(t, s, "", 2) {
		if want := map[bool]outbox.Status{true: outbox.StatusSending, false: outbox.StatusQueued}[r.ID <= id[1]]; r.Status != want {
			t.Errorf("List() shows message %d %s, want %s", r.ID, r.Status, want)
		}
	}
	if due, ok, err := s.NextDue(ctx); err != nil || !ok || !due.Equal(at(2*time.Second)) {
		t.Errorf("NextDue = %s, %v, %v; want the first unclaimed message's %s", due, ok, err, at(2*time.Second))
	}

	// One claimed message deferred: no longer sending, listed deferred.
	o := outbox.Outcome{ID: id[0], Lease: claimed[0].Lease, Now: at(11 * time.Second), Status: outbox.StatusDeferred,
		NextAttemptAt: at(time.Hour), Attempts: 1}
	if err := s.Complete(ctx, o); err != nil {
		t.Fatal(err)
	}
	wantIDs(outbox.StatusSending, id[1])
	wantIDs(outbox.StatusDeferred, id[0])

	// Everything due claimed: the earliest lease expiry is next.
	if got := claim(t, s, at(20*time.Second), 10); len(got) != 3 {
		t.Fatalf("claimed %v, want the three queued", ids(got))
	}
	wantIDs(outbox.StatusQueued)
	wantIDs(outbox.StatusSending, id[4], id[3], id[2], id[1])
	if due, ok, err := s.NextDue(ctx); err != nil || !ok || !due.Equal(at(10*time.Second+lease)) {
		t.Errorf("NextDue = %s, %v, %v; want the first lease expiry %s", due, ok, err, at(10*time.Second+lease))
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusSending: 4, outbox.StatusDeferred: 1})
}
