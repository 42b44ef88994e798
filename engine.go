package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Engine delivers queued messages: a dispatcher claims due messages by
// lease in batches as workers free up, and each delivery runs in its own
// goroutine under a deadline, its outcome committed right after it.
type Engine struct {
	cfg      EngineConfig
	store    Store
	backends func(name string) (Backend, error)
	log      *slog.Logger

	wake    chan struct{} // Notify: mail was enqueued
	slot    chan struct{} // a delivery finished
	stop    chan struct{} // Stop: no more claims
	workers *workers      // the goroutines deliveries run on
	done    chan struct{} // the dispatcher and janitor have returned
	abort   context.CancelFunc
	abortCx context.Context // cancelled when Stop's deadline passes

	mu       sync.Mutex
	started  bool
	stopped  bool
	inflight int // deliveries running, held by a claim, reserved by a Handoff or in line
	active   int // deliveries running
	held     int // workers held by the claim under way
	// ready holds messages handed off (stored claimed) while every worker
	// was busy or held: each worker that frees up takes the oldest.
	ready []*Record
	// drained is set when the dispatcher's last claim left workers free:
	// nothing more was due. While it is set, new mail may go straight to
	// a worker (Reserve); the store still queues a new message behind any
	// due mail (see Store.Enqueue).
	drained bool
	loops   sync.WaitGroup
	work    sync.WaitGroup
}

// EngineConfig configures an Engine. Zero values take the defaults named
// on each field.
type EngineConfig struct {
	// Store is where messages are claimed from. Required.
	Store Store
	// Backends resolves a message's backend name ("" is the default
	// backend) to a Backend. An error defers the message with that error:
	// a message is never sent through another backend than the one named.
	// Required.
	Backends func(name string) (Backend, error)
	// Workers is the number of concurrent deliveries (default 32). They
	// are goroutines; the connections an SMTP backend opens are capped by
	// its own pool.
	Workers int
	// Retry is the retry policy (default DefaultRetryPolicy).
	Retry RetryPolicy
	// Timeout bounds one delivery attempt (default 2m).
	Timeout time.Duration
	// Lease is how long a claim holds a message before another claimer may
	// take it (default 5m). It must exceed Timeout.
	Lease time.Duration
	// PriorityWeights are the shares of high, normal and low priority in
	// each claim (default 6:3:1).
	PriorityWeights [3]int
	// Poll is the longest the dispatcher sleeps without a notification,
	// to see mail enqueued by other processes (default 5s).
	Poll time.Duration
	// Retention is how long sent, failed, expired and cancelled messages
	// are kept before they are purged (default 720h); negative disables
	// purging. Pending mail is never purged.
	Retention time.Duration
	// PurgeInterval is the time between purges (default 10m).
	PurgeInterval time.Duration
	// Logger receives the engine's logs (default slog.Default()).
	Logger *slog.Logger
	// Observe, when set, is called after each outcome is committed, e.g.
	// to update metrics. It must be quick and safe for concurrent use.
	Observe func(r *Record, o *Outcome)
	// Saturated, when set, is called before each claim: the claim skips
	// the due messages of the backends it names (as stored in
	// Record.Backend, "" for the default backend), which stay queued
	// without an attempt counted, e.g. backends over their rate or
	// concurrency limit (backend.Set.Saturated). until is the earliest time
	// one of them may take mail again: while any is skipped, the
	// dispatcher claims again then, or when a delivery ends, and at the
	// latest after Poll (after 100ms when until is zero). It must be quick
	// and safe for concurrent use.
	Saturated func() (names []string, until time.Time)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Jitter returns a number in [0,1) for backoff jitter (default math/rand/v2).
	Jitter func() float64
}

func (c *EngineConfig) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 32
	}
	c.Retry = c.Retry.withDefaults()
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	if c.Lease <= 0 {
		c.Lease = max(5*time.Minute, 2*c.Timeout)
	}
	if c.Poll <= 0 {
		c.Poll = 5 * time.Second
	}
	if c.Retention == 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.PurgeInterval <= 0 {
		c.PurgeInterval = 10 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Jitter == nil {
		c.Jitter = rand.Float64
	}
}

func (c *EngineConfig) validate() error {
	switch {
	case c.Store == nil:
		return errors.New("outbox: EngineConfig.Store is required")
	case c.Backends == nil:
		return errors.New("outbox: EngineConfig.Backends is required")
	case c.PriorityWeights[0] < 0 || c.PriorityWeights[1] < 0 || c.PriorityWeights[2] < 0:
		return fmt.Errorf("outbox: EngineConfig.PriorityWeights %v must not be negative", c.PriorityWeights)
	case c.PriorityWeights != [3]int{} && c.PriorityWeights[0]+c.PriorityWeights[1]+c.PriorityWeights[2] == 0:
		return fmt.Errorf("outbox: EngineConfig.PriorityWeights %v must not sum to zero", c.PriorityWeights)
	case c.Lease <= c.Timeout:
		return fmt.Errorf("outbox: EngineConfig.Lease (%s) must exceed Timeout (%s)", c.Lease, c.Timeout)
	}
	return c.Retry.validate()
}

// NewEngine returns an engine; Start runs it.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if err := cfg.Retry.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	abortCx, abort := context.WithCancel(context.Background())
	stop := make(chan struct{})
	return &Engine{
		cfg:      cfg,
		store:    cfg.Store,
		backends: cfg.Backends,
		log:      cfg.Logger,
		wake:     make(chan struct{}, 1),
		slot:     make(chan struct{}, 1),
		stop:     stop,
		workers:  newWorkers(stop),
		done:     make(chan struct{}),
		abort:    abort,
		abortCx:  abortCx,
	}, nil
}

// Notify wakes an idle engine: call it after enqueuing. Client does when
// given Engine.Notify as its ClientConfig.Notify.
func (e *Engine) Notify() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Start begins claiming and delivering. It returns at once.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return errors.New("outbox: engine already started")
	}
	e.started = true
	e.loops.Add(2)
	go func() { defer e.loops.Done(); e.dispatch() }()
	go func() { defer e.loops.Done(); e.janitor() }()
	go func() { e.loops.Wait(); close(e.done) }()
	return nil
}

// Stop stops claiming and waits for in-flight deliveries to finish and
// commit. When ctx ends first, in-flight deliveries are cancelled and
// their messages released to the queue without counting an attempt (a
// message whose upstream had already accepted it may then be sent again,
// with the same Message-ID). Stop is idempotent.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	if !e.started || e.stopped {
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	close(e.stop)
	e.mu.Unlock()

	// The dispatcher may be inside a claim: a store that hangs must not
	// hold Stop past ctx.
	select {
	case <-e.done:
	case <-ctx.Done():
		e.abort()
		<-e.done
	}
	finished := make(chan struct{})
	go func() { e.work.Wait(); close(finished) }()
	select {
	case <-finished:
		e.abort()
		if err := ctx.Err(); err != nil { // say so even if both are ready
			return fmt.Errorf("outbox: stop: deadline passed before the engine stopped: %w", err)
		}
		return nil
	case <-ctx.Done():
		e.abort()
		<-finished
		return fmt.Errorf("outbox: stop: in-flight deliveries cancelled and released: %w", ctx.Err())
	}
}

// dispatch claims due messages whenever workers are free, and sleeps until
// mail is enqueued, a message falls due, a worker frees up or Stop.
func (e *Engine) dispatch() {
	ctx := e.abortCx
	errDelay := 100 * time.Millisecond
	for {
		if e.stopping() {
			return
		}
		if !e.gatherWorkers() {
			return
		}
		free := e.hold()
		if free == 0 { // a Handoff took them
			continue
		}
		var skip []string
		var until time.Time
		if e.cfg.Saturated != nil {
			skip, until = e.cfg.Saturated()
		}
		now := e.cfg.Now().UTC()
		recs, err := e.store.Claim(ctx, ClaimRequest{Now: now, Lease: e.cfg.Lease, Limit: free,
			Weights: e.cfg.PriorityWeights, SkipBackends: skip})
		if err != nil {
			recs = nil
		}
		for _, r := range recs {
			r.LeaseUntil = now.Add(e.cfg.Lease)
		}
		lined := e.unhold(free, recs, err == nil && len(recs) < free)
		e.work.Add(len(recs))
		e.startAll(recs)
		e.startAll(lined)
		if err != nil {
			e.log.Error("claim messages", "err", err)
			if !e.sleep(errDelay) {
				return
			}
			errDelay = min(2*errDelay, 10*time.Second)
			continue
		}
		errDelay = 100 * time.Millisecond
		if len(recs) == free {
			continue
		}
		wait, slot := e.idleWait(ctx, now, skip, until)
		t := time.NewTimer(wait)
		select {
		case <-e.wake:
		case <-slot:
		case <-t.C:
		case <-e.stop:
			t.Stop()
			return
		}
		t.Stop()
	}
}

// gatherWait bounds how long the dispatcher, with more than half the
// workers busy, waits for more of them to free up (see gatherWorkers).
const gatherWait = 4 * time.Millisecond

// gatherWorkers waits until half the workers are free, or some are and
// gatherWait has passed: when deliveries end one by one, one claim then
// serves several of them instead of one claim each. It reports false on
// Stop.
func (e *Engine) gatherWorkers() bool {
	want := max(1, e.cfg.Workers/2)
	var deadline <-chan time.Time
	for {
		free := e.free()
		if free >= want {
			return true
		}
		if free > 0 && deadline == nil {
			t := time.NewTimer(gatherWait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-e.slot:
		case <-deadline:
			return true
		case <-e.stop:
			return false
		}
	}
}

// free returns the number of workers neither busy nor held.
func (e *Engine) free() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg.Workers - e.inflight
}

// idleWait returns how long the dispatcher sleeps when a claim left
// workers free: until Poll, the next message falls due, or, while the
// claim skipped saturated backends, one of them frees up (until; 100ms
// when unknown). Skipped backends' mail may be due already, so a due time
// not after the claim's now is taken for theirs; and a delivery ending
// (the slot channel returned, nil when nothing was skipped) may free a
// concurrency limit.
func (e *Engine) idleWait(ctx context.Context, now time.Time, skip []string, until time.Time) (time.Duration, <-chan struct{}) {
	wait := e.cfg.Poll
	if next, ok, err := e.store.NextDue(ctx); err != nil {
		e.log.Error("next due message", "err", err)
	} else if ok && (len(skip) == 0 || next.After(now)) {
		wait = min(wait, max(next.Sub(e.cfg.Now()), time.Millisecond))
	}
	if len(skip) == 0 {
		return wait, nil
	}
	const unknown, floor = 100 * time.Millisecond, 10 * time.Millisecond
	if until.IsZero() {
		wait = min(wait, unknown)
	} else {
		wait = min(wait, max(until.Sub(e.cfg.Now()), floor))
	}
	return wait, e.slot
}

func (e *Engine) stopping() bool {
	select {
	case <-e.stop:
		return true
	default:
		return false
	}
}

// sleep waits for d or Stop; it reports false on Stop.
func (e *Engine) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.stop:
		return false
	}
}

// hold takes every free worker for a claim and returns how many.
func (e *Engine) hold() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := max(0, e.cfg.Workers-e.inflight)
	e.inflight += n
	e.held = n
	return n
}

// unhold ends a claim that held n workers and got recs: each takes one of
// them, and the others go back, first to the oldest messages in line,
// which it returns to be started. drained tells whether the claim took all
// that was due.
func (e *Engine) unhold(n int, recs []*Record, drained bool) []*Record {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.held = 0
	e.inflight -= n - len(recs)
	e.active += len(recs)
	e.drained = drained
	return e.takeReady()
}

// start runs a delivery counted in active and in work. Its worker is
// freed as soon as the delivery returns, before its outcome is committed,
// so that the next claim and this outcome share a group commit; Stop still
// waits for the commit, which is retried until shortly before the lease
// (r.LeaseUntil) runs out.
func (e *Engine) start(r *Record) {
	deadline := time.Now().Add(r.LeaseUntil.Sub(e.cfg.Now()) - e.cfg.Lease/10)
	e.workers.run(func() {
		defer e.work.Done()
		o, ok := e.attemptSafely(r)
		e.workerDone()
		if ok {
			e.commit(r, o, deadline)
		}
	})
}

// startAll starts deliveries counted in active and in work.
func (e *Engine) startAll(recs []*Record) {
	for _, r := range recs {
		e.start(r)
	}
}

// workerDone frees the worker of a delivery that returned: the oldest
// message in line takes it, or it goes back to the pool and wakes a
// dispatcher waiting for one.
func (e *Engine) workerDone() {
	e.mu.Lock()
	e.inflight--
	e.active--
	next := e.takeReady()
	e.mu.Unlock()
	e.startAll(next)
	e.freed()
}

// takeReady takes from the line, oldest first, a message for each worker
// neither running nor held, counting them active. A message whose lease
// would leave too little time for a delivery and its commit is left to
// the lease, which returns it to the queue. e.mu must be held.
func (e *Engine) takeReady() []*Record {
	var out []*Record
	for len(e.ready) > 0 && e.active+e.held < e.cfg.Workers {
		r := e.ready[0]
		e.ready[0] = nil
		e.ready = e.ready[1:]
		if e.cfg.Now().Add(e.cfg.Timeout + e.cfg.Lease/10).Before(r.LeaseUntil) {
			e.active++
			out = append(out, r)
			continue
		}
		e.log.Warn("a handed-off message waited past its lease margin; its lease will return it to the queue", "id", r.ID)
		e.inflight--
		e.work.Done()
	}
	return out
}

// freed wakes a dispatcher waiting for a worker.
func (e *Engine) freed() {
	select {
	case e.slot <- struct{}{}:
	default:
	}
}

// attemptSafely runs the attempt, recovering from a panic outside the
// backend (inside it, a panic is a temporary failure): the lease then
// returns the message.
func (e *Engine) attemptSafely(r *Record) (o *Outcome, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("delivery panicked; the lease will return the message", "id", r.ID, "panic", p)
			ok = false
		}
	}()
	return e.attempt(r), true
}

// janitor purges old final messages every PurgeInterval.
func (e *Engine) janitor() {
	if e.cfg.Retention < 0 {
		return
	}
	for {
		e.purge()
		if !e.sleep(e.cfg.PurgeInterval) {
			return
		}
	}
}

func (e *Engine) purge() {
	const batch = 1000
	cutoff := e.cfg.Now().UTC().Add(-e.cfg.Retention)
	total := 0
	for !e.stopping() {
		n, err := e.store.Purge(e.abortCx, cutoff, batch)
		if err != nil {
			e.log.Error("purge old messages", "err", err)
			return
		}
		total += n
		if n < batch {
			break
		}
	}
	if total > 0 {
		e.log.Info("purged old messages", "count", total, "before", cutoff)
	}
}
