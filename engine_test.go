package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/sqlite"
)

// clock is a settable clock shared by the client, engine and test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// rig is an engine over a real SQLite store with a scripted backend.
type rig struct {
	t      *testing.T
	clock  *clock
	store  *sqlite.Store
	client *outbox.Client
	engine *outbox.Engine
	sends  atomic.Int64
}

// newRig starts an engine whose default backend is send. Extra named
// backends may be given.
func newRig(t *testing.T, send outbox.BackendFunc, cfg outbox.EngineConfig) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, clock: newClock(), store: st}
	counted := outbox.BackendFunc(func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		r.sends.Add(1)
		return send(ctx, e)
	})
	cfg.Store = st
	cfg.Now = r.clock.Now
	cfg.Jitter = func() float64 { return 0.5 }
	cfg.Poll = time.Hour // wake-ups come from Notify only
	cfg.Retention = -1
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Backends = func(name string) (outbox.Backend, error) {
		if name == "" {
			return counted, nil
		}
		return nil, errors.New("backend \"" + name + "\" is not configured")
	}
	r.engine, r.client = startEngine(t, cfg, outbox.ClientConfig{Now: r.clock.Now,
		KnownBackend: func(name string) bool { return name == "" || name == "gone" }}, false)
	t.Cleanup(func() { st.Close() })
	return r
}

// startEngine starts an engine of cfg (Logger discarding unless set) and a
// client over the same store notifying it (and handing mail to it when
// handoff is set), configured by ccfg; the engine is stopped when the test
// ends.
func startEngine(t *testing.T, cfg outbox.EngineConfig, ccfg outbox.ClientConfig, handoff bool) (*outbox.Engine, *outbox.Client) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	eng, err := outbox.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ccfg.Store, ccfg.Notify = cfg.Store, eng.Notify
	if handoff {
		ccfg.Handoff = eng
	}
	client, err := outbox.NewClient(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		eng.Stop(ctx)
	})
	return eng, client
}

func (r *rig) enqueue(m *outbox.Message) int64 {
	r.t.Helper()
	rc, err := r.client.Enqueue(context.Background(), m)
	if err != nil {
		r.t.Fatal(err)
	}
	return rc.ID
}

// waitStatus waits until message id has status want (the engine runs in
// real time; only its clock is injected) and returns the record.
func (r *rig) waitStatus(id int64, want outbox.Status) *outbox.Record {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec, err := r.client.Get(context.Background(), id)
		if err != nil {
			r.t.Fatal(err)
		}
		if rec.Status == want {
			return rec
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("message %d: status %s, want %s (last error %q)", id, rec.Status, want, rec.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// advance moves the clock past the next retry and wakes the engine.
func (r *rig) advance(d time.Duration) {
	r.clock.Advance(d)
	r.engine.Notify()
}

func msg(to ...string) *outbox.Message {
	m := &outbox.Message{From: outbox.Address{Addr: "app@example.com"}, Subject: "Ticket #42", Text: "Hello"}
	for _, a := range to {
		m.To = append(m.To, outbox.Address{Addr: a})
	}
	return m
}

// answer scripts per-recipient replies: recipients absent from codes are accepted.
func answer(codes map[string]outbox.Reply) outbox.BackendFunc {
	return func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		out := make([]outbox.RecipientResult, len(e.To))
		for i, to := range e.To {
			rep, ok := codes[to]
			if !ok {
				rep = outbox.Reply{Code: 250, Enhanced: "2.0.0", Text: "ok"}
			}
			out[i] = outbox.RecipientResult{Addr: to, Class: outbox.Classify(rep), Reply: rep}
		}
		return out, nil
	}
}

// failingUntilCleared returns a backend that fails every transaction with
// err while the returned flag is set (it starts set), then accepts.
func failingUntilCleared(err error) (outbox.BackendFunc, *atomic.Bool) {
	var failing atomic.Bool
	failing.Store(true)
	return func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		if failing.Load() {
			return nil, err
		}
		return outbox.Accepted(e, outbox.Reply{Code: 250}), nil
	}, &failing
}

func recipientStatus(rec *outbox.Record) map[string]outbox.RecipientStatus {
	out := map[string]outbox.RecipientStatus{}
	for _, r := range rec.Recipients {
		out[r.Addr] = r.Status
	}
	return out
}

func TestEngineDeliversRenderedBytes(t *testing.T) {
	var got []*outbox.Envelope
	var mu sync.Mutex
	r := newRig(t, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
		return outbox.Accepted(e, outbox.Reply{Code: 250, Text: "queued as X"}), nil
	}, outbox.EngineConfig{})
	id := r.enqueue(msg("a@example.com", "b@example.com"))
	rec := r.waitStatus(id, outbox.StatusSent)
	stored, _ := r.client.Get(context.Background(), id)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("backend called %d times, want 1", len(got))
	}
	if string(got[0].Data) != string(stored.Raw) || got[0].MessageID != rec.MessageID {
		t.Errorf("backend did not receive the stored bytes and Message-ID")
	}
	if strings.Join(got[0].To, ",") != "a@example.com,b@example.com" || got[0].From != "app@example.com" {
		t.Errorf("envelope = %s → %v", got[0].From, got[0].To)
	}
	if rec.Attempts != 1 || len(rec.AttemptLog) != 1 || rec.AttemptLog[0].Class != outbox.ClassAccepted {
		t.Errorf("attempts = %d, log = %+v", rec.Attempts, rec.AttemptLog)
	}
	for _, rc := range rec.Recipients {
		if rc.Status != outbox.RecipientSent || rc.Reply.Code != 250 {
			t.Errorf("recipient %+v not sent with the reply", rc)
		}
	}
}

func TestEngineRetriesTemporaryFailure(t *testing.T) {
	send, fail := failingUntilCleared(&outbox.SendError{Reply: outbox.Reply{Code: 451, Enhanced: "4.3.0", Text: "try later"}})
	r := newRig(t, send, outbox.EngineConfig{Retry: outbox.RetryPolicy{MinDelay: time.Minute, MaxDelay: time.Hour}})
	start := r.clock.Now()
	id := r.enqueue(msg("a@example.com"))
	rec := r.waitStatus(id, outbox.StatusDeferred)
	if rec.Attempts != 1 || !rec.NextAttemptAt.Equal(start.Add(time.Minute)) {
		t.Errorf("after one failure: attempts %d, next attempt %s (want %s)", rec.Attempts, rec.NextAttemptAt, start.Add(time.Minute))
	}
	if !strings.Contains(rec.LastError, "451 4.3.0 try later") {
		t.Errorf("last error %q does not carry the reply", rec.LastError)
	}
	r.advance(time.Minute)
	rec = r.waitStatus(id, outbox.StatusDeferred)
	for rec.Attempts < 2 {
		time.Sleep(5 * time.Millisecond)
		rec, _ = r.client.Get(context.Background(), id)
	}
	if want := r.clock.Now().Add(2 * time.Minute); !rec.NextAttemptAt.Equal(want) {
		t.Errorf("second backoff: next attempt %s, want %s", rec.NextAttemptAt, want)
	}
	fail.Store(false)
	r.advance(2 * time.Minute)
	rec = r.waitStatus(id, outbox.StatusSent)
	if rec.Attempts != 3 || len(rec.AttemptLog) != 3 {
		t.Errorf("attempts %d, log %d; want 3 and 3", rec.Attempts, len(rec.AttemptLog))
	}
}

func TestEnginePermanentFailsOneRecipientOnly(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	script := answer(map[string]outbox.Reply{"bad@example.com": {Code: 550, Enhanced: "5.1.1", Text: "no such user"}})
	r := newRig(t, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		mu.Lock()
		for _, to := range e.To {
			seen[to]++
		}
		mu.Unlock()
		return script(ctx, e)
	}, outbox.EngineConfig{})
	id := r.enqueue(msg("a@example.com", "bad@example.com", "c@example.com"))
	rec := r.waitStatus(id, outbox.StatusSent)
	st := recipientStatus(rec)
	if st["a@example.com"] != outbox.RecipientSent || st["c@example.com"] != outbox.RecipientSent || st["bad@example.com"] != outbox.RecipientFailed {
		t.Errorf("recipient states %v", st)
	}
	// An operator's retry of a sent message is refused; of a failed one it
	// goes to the failed recipients only.
	if _, err := r.client.Retry(context.Background(), id); !errors.As(err, new(*outbox.StateError)) {
		t.Errorf("retry of a sent message: %v, want a StateError", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["a@example.com"] != 1 || seen["bad@example.com"] != 1 {
		t.Errorf("sends per recipient %v", seen)
	}
}

func TestEngineRetryGoesOnlyToUndelivered(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	var refuse atomic.Bool
	refuse.Store(true)
	r := newRig(t, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		mu.Lock()
		for _, to := range e.To {
			seen[to]++
		}
		mu.Unlock()
		codes := map[string]outbox.Reply{}
		if refuse.Load() {
			codes["b@example.com"] = outbox.Reply{Code: 451, Text: "mailbox busy"}
		}
		return answer(codes)(ctx, e)
	}, outbox.EngineConfig{Retry: outbox.RetryPolicy{MinDelay: time.Hour, MaxDelay: time.Hour}})
	id := r.enqueue(msg("a@example.com", "b@example.com"))
	rec := r.waitStatus(id, outbox.StatusDeferred)
	if st := recipientStatus(rec); st["a@example.com"] != outbox.RecipientSent || st["b@example.com"] != outbox.RecipientPending {
		t.Fatalf("after the first attempt: %v", st)
	}
	refuse.Store(false)
	// The operator does not wait for the hour-long backoff.
	if _, err := r.client.Retry(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	rec = r.waitStatus(id, outbox.StatusSent)
	if rec.Attempts != 1 {
		t.Errorf("attempts after operator retry = %d, want 1 (reset to 0, then one attempt)", rec.Attempts)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["a@example.com"] != 1 || seen["b@example.com"] != 2 {
		t.Errorf("sends %v, want a once and b twice", seen)
	}
}

func TestEngine452SendsRestInNewTransaction(t *testing.T) {
	var calls [][]string
	var mu sync.Mutex
	r := newRig(t, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		mu.Lock()
		calls = append(calls, append([]string(nil), e.To...))
		mu.Unlock()
		// Accept two recipients per transaction, 452 the rest.
		out := make([]outbox.RecipientResult, len(e.To))
		for i, to := range e.To {
			rep := outbox.Reply{Code: 250}
			if i >= 2 {
				rep = outbox.Reply{Code: 452, Enhanced: "4.5.3", Text: "too many recipients"}
			}
			out[i] = outbox.RecipientResult{Addr: to, Class: outbox.Classify(rep), Reply: rep}
		}
		return out, nil
	}, outbox.EngineConfig{})
	id := r.enqueue(msg("a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com"))
	rec := r.waitStatus(id, outbox.StatusSent)
	if rec.Attempts != 1 {
		t.Errorf("attempts = %d, want 1: the 452 transactions are part of one attempt", rec.Attempts)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 || len(calls[1]) != 3 || len(calls[2]) != 1 {
		t.Errorf("transactions %v, want 5, then 3, then 1 recipients", calls)
	}
}

func TestEngineThrottledDoesNotCountAttempt(t *testing.T) {
	send, throttle := failingUntilCleared(&outbox.SendError{Reply: outbox.Reply{Code: 421, Enhanced: "4.7.0", Text: "slow down"}})
	r := newRig(t, send, outbox.EngineConfig{Retry: outbox.RetryPolicy{MaxAttempts: 2}})
	id := r.enqueue(msg("a@example.com"))
	for i := 0; i < 3; i++ {
		rec := r.waitStatus(id, outbox.StatusDeferred)
		for len(rec.AttemptLog) < i+1 {
			time.Sleep(5 * time.Millisecond)
			rec, _ = r.client.Get(context.Background(), id)
		}
		if rec.Attempts != 0 {
			t.Fatalf("throttled attempt %d counted: attempts = %d", i+1, rec.Attempts)
		}
		if rec.AttemptLog[i].Class != outbox.ClassThrottled {
			t.Fatalf("attempt %d logged as %s", i+1, rec.AttemptLog[i].Class)
		}
		r.advance(time.Hour)
	}
	throttle.Store(false)
	r.advance(time.Hour)
	r.waitStatus(id, outbox.StatusSent)
}

func TestEngineMaxAttemptsFails(t *testing.T) {
	r := newRig(t, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		return nil, errors.New("dial tcp 127.0.0.1:25: connection refused")
	}, outbox.EngineConfig{Retry: outbox.RetryPolicy{MaxAttempts: 3}})
	id := r.enqueue(msg("a@example.com"))
	for i := 0; i < 2; i++ {
		rec := r.waitStatus(id, outbox.StatusDeferred)
		for rec.Attempts < i+1 {
			time.Sleep(5 * time.Millisecond)
			rec, _ = r.client.Get(context.Background(), id)
		}
		r.advance(time.Hour)
	}
	rec := r.waitStatus(id, outbox.StatusFailed)
	if rec.Attempts != 3 || !strings.Contains(rec.LastError, "connection refused") {
		t.Errorf("attempts %d, last error %q", rec.Attempts, rec.LastError)
	}
	if rec.Recipients[0].Status != outbox.RecipientFailed {
		t.Errorf("recipient %+v", rec.Recipients[0])
	}
}

func TestEngineLifetimeExpires(t *testing.T) {
	r := newRig(t, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		return nil, errors.New("connection refused")
	}, outbox.EngineConfig{Retry: outbox.RetryPolicy{MinDelay: time.Hour, MaxDelay: time.Hour, MaxLifetime: 90 * time.Minute}})
	id := r.enqueue(msg("a@example.com"))
	r.waitStatus(id, outbox.StatusDeferred)
	r.advance(time.Hour)
	// The next retry would land after the lifetime: the message expires now.
	rec := r.waitStatus(id, outbox.StatusExpired)
	if rec.Attempts != 2 || rec.Recipients[0].Status != outbox.RecipientExpired {
		t.Errorf("attempts %d, recipient %+v", rec.Attempts, rec.Recipients[0])
	}
	// An operator's retry resets the lifetime.
	if _, err := r.client.Retry(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	rec = r.waitStatus(id, outbox.StatusDeferred)
	if rec.Attempts < 1 || rec.Attempts > 2 {
		t.Errorf("attempts after operator retry = %d", rec.Attempts)
	}
}

func TestEngineExpiresAtPassedBeforeDelivery(t *testing.T) {
	r := newRig(t, answer(nil), outbox.EngineConfig{})
	m := msg("a@example.com")
	m.SendAt = r.clock.Now().Add(time.Hour)
	// Refused at once: it would expire before it is due.
	m.ExpiresAt = r.clock.Now().Add(30 * time.Minute)
	var fe *outbox.FieldError
	if _, err := r.client.Enqueue(context.Background(), m); !errors.As(err, &fe) || fe.Field != "expires_at" {
		t.Fatalf("expires_at before send_at: %v, want an expires_at field error", err)
	}
	// Due in an hour, expiring in ninety minutes: the clock jumps past
	// both before any delivery.
	m.ExpiresAt = r.clock.Now().Add(90 * time.Minute)
	id := r.enqueue(m)
	r.advance(2 * time.Hour)
	rec := r.waitStatus(id, outbox.StatusExpired)
	if r.sends.Load() != 0 || len(rec.AttemptLog) != 0 {
		t.Errorf("an expired message was sent (%d sends)", r.sends.Load())
	}
	if _, err := r.client.Retry(context.Background(), id); !errors.Is(err, outbox.ErrPastExpiry) {
		t.Errorf("retry past expires_at: %v, want ErrPastExpiry", err)
	}
}

func TestEnginePanicIsTemporaryAndIsolated(t *testing.T) {
	r := newRig(t, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		if e.To[0] == "boom@example.com" {
			panic("backend bug")
		}
		return outbox.Accepted(e, outbox.Reply{Code: 250}), nil
	}, outbox.EngineConfig{})
	bad := r.enqueue(msg("boom@example.com"))
	var good []int64
	for i := 0; i < 20; i++ {
		good = append(good, r.enqueue(msg("ok@example.com")))
	}
	rec := r.waitStatus(bad, outbox.StatusDeferred)
	if !strings.Contains(rec.LastError, "panicked: backend bug") {
		t.Errorf("last error %q", rec.LastError)
	}
	for _, id := range good {
		r.waitStatus(id, outbox.StatusSent)
	}
}

func TestEngineUnknownBackendDefers(t *testing.T) {
	r := newRig(t, answer(nil), outbox.EngineConfig{})
	m := msg("a@example.com")
	m.Backend = "gone"
	id := r.enqueue(m)
	rec := r.waitStatus(id, outbox.StatusDeferred)
	if !strings.Contains(rec.LastError, `"gone"`) || r.sends.Load() != 0 {
		t.Errorf("last error %q, sends %d", rec.LastError, r.sends.Load())
	}
}

func TestEngineWakesOnEnqueue(t *testing.T) {
	r := newRig(t, answer(nil), outbox.EngineConfig{})
	time.Sleep(50 * time.Millisecond) // let the dispatcher go idle (Poll is 1h)
	id := r.enqueue(msg("a@example.com"))
	r.waitStatus(id, outbox.StatusSent)
}

func TestEngineStopReleasesInFlight(t *testing.T) {
	started := make(chan struct{}, 10)
	r := newRig(t, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}, outbox.EngineConfig{})
	id := r.enqueue(msg("a@example.com"))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := r.engine.Stop(ctx); err == nil {
		t.Error("Stop returned nil although a delivery had to be cancelled")
	}
	rec, err := r.client.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != outbox.StatusQueued || rec.Attempts != 0 {
		t.Errorf("released message: status %s attempts %d, want queued 0", rec.Status, rec.Attempts)
	}
}

func TestEnginePriorityOrder(t *testing.T) {
	var order []string
	var mu sync.Mutex
	r := newRig(t, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		mu.Lock()
		order = append(order, e.To[0])
		mu.Unlock()
		return outbox.Accepted(e, outbox.Reply{Code: 250}), nil
	}, outbox.EngineConfig{Workers: 1})
	// Hold the engine with a scheduled batch: enqueue all for later, then
	// make them due at once.
	later := r.clock.Now().Add(time.Minute)
	var ids []int64
	for _, p := range []outbox.Priority{outbox.PriorityLow, outbox.PriorityNormal, outbox.PriorityHigh} {
		m := msg(p.String() + "@example.com")
		m.Priority, m.SendAt = p, later
		ids = append(ids, r.enqueue(m))
	}
	r.advance(time.Minute)
	for _, id := range ids {
		r.waitStatus(id, outbox.StatusSent)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, " ") != "high@example.com normal@example.com low@example.com" {
		t.Errorf("delivery order %v", order)
	}
}

func TestEnginePurgesOldFinishedMessages(t *testing.T) {
	r := newRig(t, answer(map[string]outbox.Reply{"gone@example.com": {Code: 550, Text: "no such user"}}), outbox.EngineConfig{})
	sent := r.enqueue(msg("a@example.com"))
	failed := r.enqueue(msg("gone@example.com"))
	r.waitStatus(sent, outbox.StatusSent)
	r.waitStatus(failed, outbox.StatusFailed)
	pending := msg("later@example.com")
	pending.SendAt = r.clock.Now().Add(90 * 24 * time.Hour)
	waiting := r.enqueue(pending)
	r.engine.Stop(context.Background())

	// A second engine on the same store with a 24h retention, 2 days later.
	r.clock.Advance(48 * time.Hour)
	eng, err := outbox.NewEngine(outbox.EngineConfig{
		Store: r.store, Now: r.clock.Now, Retention: 24 * time.Hour, Poll: time.Hour,
		Logger:   slog.New(slog.DiscardHandler),
		Backends: func(string) (outbox.Backend, error) { return answer(nil), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	eng.Start(context.Background())
	defer eng.Stop(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, e1 := r.client.Get(context.Background(), sent)
		_, e2 := r.client.Get(context.Background(), failed)
		if errors.Is(e1, outbox.ErrNotFound) && errors.Is(e2, outbox.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("finished messages not purged: %v, %v", e1, e2)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if rec, err := r.client.Get(context.Background(), waiting); err != nil || rec.Status != outbox.StatusQueued {
		t.Errorf("pending message: %v %v, want it kept and queued", rec, err)
	}
	st, _ := r.client.Stats(context.Background())
	if st.Counts[outbox.StatusSent] != 0 || st.Counts[outbox.StatusFailed] != 0 || st.Counts[outbox.StatusQueued] != 1 {
		t.Errorf("counts after purge %v", st.Counts)
	}
}

func TestClientRoutesMessagesWithoutBackend(t *testing.T) {
	st, err := sqlite.Open(context.Background(), sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, _ := outbox.NewClient(outbox.ClientConfig{
		Store:        st,
		KnownBackend: func(name string) bool { return name == "" || name == "bulk" || name == "chosen" },
		Route: func(m *outbox.Message) string {
			for _, tag := range m.Tags {
				if tag == "newsletter" {
					return "bulk"
				}
			}
			return ""
		},
	})
	tagged := msg("a@example.com")
	tagged.Tags = []string{"newsletter"}
	chosen := msg("a@example.com")
	chosen.Tags, chosen.Backend = []string{"newsletter"}, "chosen"
	for m, want := range map[*outbox.Message]string{tagged: "bulk", chosen: "chosen", msg("a@example.com"): ""} {
		rc, err := c.Enqueue(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := c.Get(context.Background(), rc.ID)
		if rec.Backend != want {
			t.Errorf("stored backend %q, want %q", rec.Backend, want)
		}
	}
	if tagged.Backend != "" {
		t.Error("routing changed the caller's message")
	}
}

// TestEngineWakesForNearRetry: a retry due before the next poll is not
// left waiting for the poll (real clock, a 1h poll, a 50ms backoff).
func TestEngineWakesForNearRetry(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var calls atomic.Int64
	eng, _ := outbox.NewEngine(outbox.EngineConfig{
		Store: st, Poll: time.Hour, Logger: slog.New(slog.DiscardHandler),
		Retry: outbox.RetryPolicy{MinDelay: 50 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		Backends: func(string) (outbox.Backend, error) {
			return outbox.BackendFunc(func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
				if calls.Add(1) == 1 {
					return nil, errors.New("connection reset")
				}
				return outbox.Accepted(e, outbox.Reply{Code: 250}), nil
			}), nil
		},
	})
	c, _ := outbox.NewClient(outbox.ClientConfig{Store: st, Notify: eng.Notify})
	eng.Start(ctx)
	defer eng.Stop(ctx)
	rc, err := c.Enqueue(ctx, msg("a@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	waitSent(t, c, rc.ID)
}

// waitSent waits (in real time, up to 10s) until message id is sent.
func waitSent(t *testing.T, c *outbox.Client, id int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec, err := c.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status == outbox.StatusSent {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d not sent within 10s: status %s, last error %q", id, rec.Status, rec.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openStore opens a SQLite store in a temp dir, closed at the end of the test.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// flakyStore fails the first n Completes, as a full disk would.
type flakyStore struct {
	outbox.Store
	failures atomic.Int64
}

func (f *flakyStore) Complete(ctx context.Context, o outbox.Outcome) error {
	if f.failures.Add(-1) >= 0 {
		return errors.New("commit: database or disk is full (13)")
	}
	return f.Store.Complete(ctx, o)
}

// TestEngineRetriesFailedCommit: an outcome whose commit fails is kept and
// committed again, so the delivered message is not sent a second time.
func TestEngineRetriesFailedCommit(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	flaky := &flakyStore{Store: st}
	flaky.failures.Store(3)
	var sends atomic.Int64
	eng, _ := outbox.NewEngine(outbox.EngineConfig{
		Store: flaky, Logger: slog.New(slog.DiscardHandler),
		Backends: func(string) (outbox.Backend, error) {
			return outbox.BackendFunc(func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
				sends.Add(1)
				return outbox.Accepted(e, outbox.Reply{Code: 250}), nil
			}), nil
		},
	})
	c, _ := outbox.NewClient(outbox.ClientConfig{Store: st, Notify: eng.Notify})
	eng.Start(ctx)
	defer eng.Stop(ctx)
	rc, err := c.Enqueue(ctx, msg("a@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	waitSent(t, c, rc.ID)
	if sends.Load() != 1 || flaky.failures.Load() >= 0 {
		t.Errorf("%d sends (want 1), %d failures left", sends.Load(), flaky.failures.Load())
	}
}

// blockingClaims is a store whose claims hang until their context ends,
// as a stuck database would.
type blockingClaims struct {
	outbox.Store
	entered chan struct{}
}

func (b *blockingClaims) Claim(ctx context.Context, req outbox.ClaimRequest) ([]*outbox.Record, error) {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestStopHonoursDeadlineDuringClaim: Stop returns by its deadline even
// while the dispatcher is stuck in a claim.
func TestStopHonoursDeadlineDuringClaim(t *testing.T) {
	st, err := sqlite.Open(context.Background(), sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	store := &blockingClaims{Store: st, entered: make(chan struct{}, 1)}
	eng, err := outbox.NewEngine(outbox.EngineConfig{
		Store:     store,
		Backends:  func(string) (outbox.Backend, error) { return outbox.BackendFunc(nil), nil },
		Retention: -1,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-store.entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- eng.Stop(ctx) }()
	select {
	case err := <-stopped:
		if err == nil {
			t.Error("Stop past its deadline returned nil")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop hangs past its deadline while a claim is stuck")
	}
}

// TestScheduledPastLifetimeIsDelivered: a message scheduled (SendAt)
// further out than the queue lifetime is delivered when it falls due,
// not expired untried: its lifetime starts when it is scheduled.
func TestScheduledPastLifetimeIsDelivered(t *testing.T) {
	r := newRig(t, answer(nil), outbox.EngineConfig{Retry: outbox.RetryPolicy{MaxLifetime: 24 * time.Hour}})
	m := msg("a@example.com")
	m.SendAt = r.clock.Now().Add(48 * time.Hour)
	id := r.enqueue(m)
	r.advance(48*time.Hour + time.Second)
	rec := r.waitStatus(id, outbox.StatusSent)
	if r.sends.Load() != 1 || rec.Attempts != 1 {
		t.Errorf("sends = %d, attempts = %d; want 1 and 1", r.sends.Load(), rec.Attempts)
	}
}

// shortStore answers an enqueue with fewer results than messages.
type shortStore struct{ outbox.Store }

func (s shortStore) Enqueue(ctx context.Context, recs []*outbox.Record) ([]outbox.EnqueueResult, error) {
	res, err := s.Store.Enqueue(ctx, recs)
	if len(res) > 0 {
		res = res[:len(res)-1]
	}
	return res, err
}

func TestClientRefusesShortStoreAnswer(t *testing.T) {
	c, _ := outbox.NewClient(outbox.ClientConfig{Store: shortStore{openStore(t)}})
	_, err := c.EnqueueBatch(context.Background(), []*outbox.Message{msg("a@example.com"), msg("b@example.com")})
	if !errors.Is(err, outbox.ErrUnavailable) {
		t.Errorf("a short store answer gave %v, want ErrUnavailable (nothing acknowledged)", err)
	}
}

func TestEngineRefusesBadPriorityWeights(t *testing.T) {
	for _, w := range [][3]int{{-1, 1, 0}, {1, -1, 0}} {
		_, err := outbox.NewEngine(outbox.EngineConfig{
			Store: openStore(t), PriorityWeights: w,
			Backends: func(string) (outbox.Backend, error) { return nil, nil },
		})
		if err == nil || !strings.Contains(err.Error(), "PriorityWeights") {
			t.Errorf("weights %v: %v, want an error naming PriorityWeights", w, err)
		}
	}
}
