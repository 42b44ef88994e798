package outbox

import (
	"runtime"
	"time"
)

// workerIdle is how long a delivery goroutine waits for its next delivery
// before it ends.
const workerIdle = time.Minute

// workers runs deliveries on goroutines kept between them. A delivery
// grows its goroutine's stack (the SMTP client, then the store's calls)
// to tens of KiB: on a new goroutine per delivery, the runtime copied
// the stack up every time, about 5 % of the CPU under load.
type workers struct {
	jobs chan func() // unbuffered: a send succeeds only to an idle goroutine
	stop <-chan struct{}
}

func newWorkers(stop <-chan struct{}) *workers {
	return &workers{jobs: make(chan func()), stop: stop}
}

// run runs f on an idle goroutine, or on a new one.
func (w *workers) run(f func()) {
	select {
	case w.jobs <- f:
	default:
		go w.loop(f)
	}
}

// loop runs f, then the jobs given to it, until it has been idle for
// workerIdle or stop is closed. It yields before each job: a goroutine
// handed a job runs next on its sender's scheduler, ahead of those
// already waiting there, which are mostly API handlers whose commit is on
// disk and whose caller waits for the answer; a delivery can wait for
// them.
func (w *workers) loop(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		runtime.Gosched() // to the back of the line (see above)
		f()
		idle.Reset(workerIdle)
		select {
		case f = <-w.jobs:
		case <-idle.C:
			return
		case <-w.stop:
			return
		}
	}
}
