package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// testRoundTrip: every field of an enqueued record comes back from Get.
func testRoundTrip(t *testing.T, open Open) {
	s := open(t)
	in := newRecord(1, at(0), "a@example.org", "b@example.org", "c@example.org")
	in.Priority = outbox.PriorityHigh
	in.Backend = "relay"
	in.Tags = []string{"welcome", "signup"}
	in.Metadata = map[string]string{"user": "42", "plan": "pro"}
	in.IdempotencyKey = "signup-42"
	in.SendAt = at(time.Hour)
	in.NextAttemptAt = at(time.Hour)
	in.ExpiresAt = at(48 * time.Hour)
	in.LifetimeStart = at(time.Second)
	in.UpdatedAt = at(2 * time.Second)
	plain := newRecord(2, at(time.Minute))
	ids := enqueue(t, s, in, plain)
	if ids[1] <= ids[0] {
		t.Errorf("ids %v: a later message must get a greater id", ids)
	}

	got := get(t, s, ids[0])
	if got.ID != ids[0] || got.MessageID != in.MessageID || got.From != in.From || got.Subject != in.Subject {
		t.Errorf("Get = id %d %q %q %q, want id %d %q %q %q", got.ID, got.MessageID, got.From, got.Subject,
			ids[0], in.MessageID, in.From, in.Subject)
	}
	if got.Status != outbox.StatusQueued {
		t.Errorf("Status = %s, want queued", got.Status)
	}
	if got.Priority != in.Priority || got.Backend != in.Backend || got.IdempotencyKey != in.IdempotencyKey {
		t.Errorf("Priority, Backend, IdempotencyKey = %v %q %q, want %v %q %q",
			got.Priority, got.Backend, got.IdempotencyKey, in.Priority, in.Backend, in.IdempotencyKey)
	}
	if !reflect.DeepEqual(got.Tags, in.Tags) {
		t.Errorf("Tags = %q, want %q", got.Tags, in.Tags)
	}
	if !reflect.DeepEqual(got.Metadata, in.Metadata) {
		t.Errorf("Metadata = %v, want %v", got.Metadata, in.Metadata)
	}
	if got.Size != len(in.Raw) || got.Attempts != 0 || got.LastError != "" {
		t.Errorf("Size, Attempts, LastError = %d %d %q, want %d 0 \"\"", got.Size, got.Attempts, got.LastError, len(in.Raw))
	}
	sameTime(t, "CreatedAt", got.CreatedAt, in.CreatedAt)
	sameTime(t, "UpdatedAt", got.UpdatedAt, in.UpdatedAt)
	sameTime(t, "LifetimeStart", got.LifetimeStart, in.LifetimeStart)
	sameTime(t, "SendAt", got.SendAt, in.SendAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, in.ExpiresAt)
	sameTime(t, "NextAttemptAt", got.NextAttemptAt, in.NextAttemptAt)
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
	}
	sameRaw(t, "Get", got.Raw, in.Raw)
	if len(got.AttemptLog) != 0 {
		t.Errorf("AttemptLog = %v, want none", got.AttemptLog)
	}
	if len(got.Recipients) != 3 {
		t.Fatalf("Recipients = %+v, want 3", got.Recipients)
	}
	for i, rc := range got.Recipients {
		if rc.Addr != in.Recipients[i].Addr || rc.Leg != "" || rc.Status != outbox.RecipientPending {
			t.Errorf("Recipients[%d] = %+v, want %s pending on leg \"\"", i, rc, in.Recipients[i].Addr)
		}
	}

	got = get(t, s, ids[1])
	if len(got.Tags) != 0 || len(got.Metadata) != 0 || !got.SendAt.IsZero() || !got.ExpiresAt.IsZero() || got.IdempotencyKey != "" {
		t.Errorf("unset fields came back set: tags %q metadata %v send_at %s expires_at %s key %q",
			got.Tags, got.Metadata, got.SendAt, got.ExpiresAt, got.IdempotencyKey)
	}
	if got.Priority != outbox.PriorityNormal {
		t.Errorf("Priority = %v, want normal", got.Priority)
	}
	sameRaw(t, "Get plain", got.Raw, plain.Raw)
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusQueued: 2})
}

// testGetNotFound: an unknown id is ErrNotFound.
func testGetNotFound(t *testing.T, open Open) {
	s := open(t)
	if _, err := s.Get(context.Background(), 12345); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
	}
}

// testIdempotency: a stored key returns the first message, across calls
// and within one batch.
func testIdempotency(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	first := newRecord(1, at(0))
	first.IdempotencyKey = "order-1"
	id := enqueue(t, s, first)[0]

	again := newRecord(2, at(time.Second))
	again.IdempotencyKey = "order-1"
	res, err := s.Enqueue(ctx, []*outbox.Record{again})
	if err != nil || res[0].Err != nil || !res[0].Existing || res[0].ID != id {
		t.Fatalf("second enqueue with the same key = %+v, %v; want Existing id %d", res, err, id)
	}
	sameRaw(t, "first message after a repeated key", get(t, s, id).Raw, first.Raw)

	a, b, c := newRecord(3, at(2*time.Second)), newRecord(4, at(2*time.Second)), newRecord(5, at(2*time.Second))
	a.IdempotencyKey, b.IdempotencyKey = "order-2", "order-2"
	res, err = s.Enqueue(ctx, []*outbox.Record{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Existing || res[0].ID == 0 {
		t.Errorf("batch item 0 = %+v, want a new message", res[0])
	}
	if res[1].Err != nil || !res[1].Existing || res[1].ID != res[0].ID {
		t.Errorf("batch item 1 = %+v, want Existing id %d", res[1], res[0].ID)
	}
	if res[2].Err != nil || res[2].Existing || res[2].ID == 0 || res[2].ID == res[0].ID {
		t.Errorf("batch item 2 = %+v, want a new message", res[2])
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusQueued: 3})

	for key, want := range map[string]int64{"order-1": id, "order-2": res[0].ID} {
		if got, err := s.IdempotencyKey(ctx, key); err != nil || got != want {
			t.Errorf("IdempotencyKey(%q) = %d, %v; want %d", key, got, err, want)
		}
	}
	if got, err := s.IdempotencyKey(ctx, "order-3"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("IdempotencyKey of a key never stored = %d, %v; want ErrNotFound", got, err)
	}
}

// testIdempotencyConcurrent: many callers racing with one key store one
// message and all get its id.
func testIdempotencyConcurrent(t *testing.T, open Open) {
	s := open(t)
	const callers = 16
	results := make([]outbox.EnqueueResult, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			r := newRecord(i, at(0))
			r.IdempotencyKey = "race"
			res, err := s.Enqueue(context.Background(), []*outbox.Record{r})
			if err != nil {
				t.Errorf("Enqueue: %v", err)
				return
			}
			results[i] = res[0]
		})
	}
	wg.Wait()
	fresh := 0
	for i, r := range results {
		if r.Err != nil || r.ID != results[0].ID {
			t.Errorf("caller %d got %+v, want id %d", i, r, results[0].ID)
		}
		if !r.Existing {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d callers stored a new message, want exactly 1", fresh)
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusQueued: 1})
}

// invalidRecords are items a store must refuse one by one.
func invalidRecords() map[string]*outbox.Record {
	noRcpt := newRecord(900, at(0))
	noRcpt.Recipients = nil
	noRaw := newRecord(901, at(0))
	noRaw.Raw = nil
	dup := newRecord(902, at(0), "same@example.org", "same@example.org")
	return map[string]*outbox.Record{"no recipients": noRcpt, "nil Raw": noRaw, "duplicate recipient": dup}
}

// testInvalidItem: an invalid item fails alone; the others are stored.
func testInvalidItem(t *testing.T, open Open) {
	s := open(t)
	for name, bad := range invalidRecords() {
		good1, good2 := newRecord(1, at(0)), newRecord(2, at(0))
		res, err := s.Enqueue(context.Background(), []*outbox.Record{good1, bad, good2})
		if err != nil {
			t.Fatalf("%s: Enqueue failed as a whole: %v", name, err)
		}
		if res[1].Err == nil {
			t.Errorf("%s: the invalid item was accepted: %+v", name, res[1])
		}
		for i, good := range map[int]*outbox.Record{0: good1, 2: good2} {
			if res[i].Err != nil || res[i].ID == 0 {
				t.Errorf("%s: valid item %d = %+v", name, i, res[i])
				continue
			}
			sameRaw(t, name, get(t, s, res[i].ID).Raw, good.Raw)
		}
	}
	n := int64(2 * len(invalidRecords()))
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusQueued: n})
	if got := len(listAll(t, s, "", 100)); int64(got) != n {
		t.Errorf("listed %d messages, want %d", got, n)
	}
}

// testConcurrentEnqueue: many goroutines enqueue batches with some
// invalid items; each gets its own results and every valid message is
// stored as given.
func testConcurrentEnqueue(t *testing.T, open Open) {
	s := open(t)
	const workers, perWorker = 16, 25
	type sent struct {
		id  int64
		raw []byte
	}
	var (
		mu    sync.Mutex
		valid []sent
		wg    sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				n := w*1000 + i
				batch := []*outbox.Record{newRecord(n, at(0))}
				invalid := i%3 == 0
				if invalid {
					bad := newRecord(n+500, at(0))
					bad.Recipients = nil
					batch = append(batch, bad)
				}
				res, err := s.Enqueue(context.Background(), batch)
				if err != nil {
					t.Errorf("worker %d: Enqueue: %v", w, err)
					return
				}
				if res[0].Err != nil || res[0].ID == 0 || res[0].Existing {
					t.Errorf("worker %d: valid item = %+v", w, res[0])
					continue
				}
				if invalid && res[1].Err == nil {
					t.Errorf("worker %d: invalid item accepted: %+v", w, res[1])
				}
				mu.Lock()
				valid = append(valid, sent{res[0].ID, batch[0].Raw})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	seen := make(map[int64]bool)
	for _, v := range valid {
		if seen[v.id] {
			t.Fatalf("id %d was returned twice", v.id)
		}
		seen[v.id] = true
		sameRaw(t, fmt.Sprintf("message %d", v.id), get(t, s, v.id).Raw, v.raw)
	}
	if len(valid) != workers*perWorker {
		t.Errorf("%d valid messages stored, want %d", len(valid), workers*perWorker)
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusQueued: int64(workers * perWorker)})
}
