package backend_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend"
	"github.com/outboxmail/outbox/backend/console"
	"github.com/outboxmail/outbox/backend/file"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backend/smtp"
	"github.com/outboxmail/outbox/sqlite"
)

// clock is the engine's settable clock. Cool-downs run on real time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

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

// syncBuffer is a console's output, safe to read while it is written.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Count(b.buf.Bytes(), []byte(s))
}

// rig is an engine over a SQLite store whose backends are built from
// expressions by backend.NewSet, with real SMTP, console, file and memory
// backends.
type rig struct {
	t       *testing.T
	clock   *clock
	client  *outbox.Client
	engine  *outbox.Engine
	console *syncBuffer
	memory  *memory.Backend // every memory: URL is this one backend
}

// newRig starts an engine whose default backend is expr; named may add
// other named backends. The retry delay is a minute: tests advance the
// clock to trigger retries.
func newRig(t *testing.T, expr string, named map[string]string, wrap func(string, outbox.Backend) (outbox.Backend, error)) *rig {
	t.Helper()
	return newRigClock(t, expr, named, wrap, false)
}

// newRigClock is newRig, on real time when realTime is set.
func newRigClock(t *testing.T, expr string, named map[string]string, wrap func(string, outbox.Backend) (outbox.Backend, error), realTime bool) *rig {
	t.Helper()
	r := &rig{t: t, clock: &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, console: &syncBuffer{}, memory: memory.New(memory.Config{})}
	schemes := backend.Schemes{
		"smtp":    func(u *url.URL) (outbox.Backend, error) { return nilSafe(smtp.FromURL(u)) },
		"console": func(*url.URL) (outbox.Backend, error) { return console.New(r.console, console.Config{}), nil },
		"file":    func(u *url.URL) (outbox.Backend, error) { return nilSafe(file.FromURL(u)) },
		"memory":  func(*url.URL) (outbox.Backend, error) { return r.memory, nil },
	}
	all := map[string]string{backend.DefaultName: expr}
	for k, v := range named {
		all[k] = v
	}
	set, err := backend.NewSet(backend.SetConfig{Named: all, Schemes: schemes, Wrap: wrap})
	if err != nil {
		t.Fatal(err)
	}
	now := r.clock.Now
	if realTime {
		now = time.Now
	}
	st, err := sqlite.Open(context.Background(), sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r.engine, err = outbox.NewEngine(outbox.EngineConfig{
		Store: st, Backends: set.Backend, Workers: 8,
		Retry:  outbox.RetryPolicy{MinDelay: time.Minute, MaxDelay: time.Minute},
		Now:    now,
		Jitter: func() float64 { return 0.5 },
		Poll:   time.Hour, Retention: -1, Timeout: 10 * time.Second,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.client, err = outbox.NewClient(outbox.ClientConfig{Store: st, Notify: r.engine.Notify, Now: now, KnownBackend: set.Has})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.engine.Stop(ctx)
		set.Close()
		st.Close()
	})
	return r
}

func nilSafe[B outbox.Backend](b B, err error) (outbox.Backend, error) {
	if err != nil {
		return nil, err
	}
	return b, nil
}

// send enqueues a message to the given recipients and returns its id.
func (r *rig) send(to ...string) int64 {
	r.t.Helper()
	m := &outbox.Message{From: outbox.Address{Addr: "app@example.com"}, Subject: "Ticket #42", Text: "Hello"}
	for _, a := range to {
		m.To = append(m.To, outbox.Address{Addr: a})
	}
	rc, err := r.client.Enqueue(context.Background(), m)
	if err != nil {
		r.t.Fatal(err)
	}
	return rc.ID
}

// get reads a message.
func (r *rig) get(id int64) *outbox.Record {
	r.t.Helper()
	rec, err := r.client.Get(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return rec
}

// wait polls message id until cond holds, for up to 10 s of real time.
func (r *rig) wait(id int64, what string, cond func(*outbox.Record) bool) *outbox.Record {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := r.get(id)
		if cond(rec) {
			return rec
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("message %d: waited for %s; status %s, recipients %+v, last error %q", id, what, rec.Status, rec.Recipients, rec.LastError)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitStatus waits until message id has status want.
func (r *rig) waitStatus(id int64, want outbox.Status) *outbox.Record {
	r.t.Helper()
	return r.wait(id, "status "+string(want), func(rec *outbox.Record) bool { return rec.Status == want })
}

// advance moves the engine's clock and wakes it.
func (r *rig) advance(d time.Duration) {
	r.clock.Advance(d)
	r.engine.Notify()
}

// leg returns the state of recipient addr on leg.
func leg(rec *outbox.Record, leg, addr string) outbox.RecipientStatus {
	for _, rc := range rec.Recipients {
		if rc.Leg == leg && rc.Addr == addr {
			return rc.Status
		}
	}
	return ""
}

// sinkURL is an SMTP URL for a sink, without TLS.
func sinkURL(addr string) string { return "smtp://" + addr + "?tls=none" }
