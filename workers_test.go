package outbox

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// TestWorkersReuseGoroutines: deliveries one after another run on a kept
// goroutine, not a new one each, concurrent ones on as many, and the
// goroutines end when the engine stops.
func TestWorkersReuseGoroutines(t *testing.T) {
	stop := make(chan struct{})
	w := newWorkers(stop)
	base := runtime.NumGoroutine()
	ids := make(map[string]bool)
	for range 20 {
		done := make(chan string)
		w.run(func() { done <- goroutineID() })
		ids[<-done] = true
		time.Sleep(time.Millisecond) // the goroutine goes back to waiting
	}
	if len(ids) > 2 {
		t.Errorf("20 deliveries in turn ran on %d goroutines, want them kept", len(ids))
	}

	release := make(chan struct{})
	started := make(chan string, 3)
	for range 3 {
		w.run(func() { started <- goroutineID(); <-release })
	}
	concurrent := map[string]bool{<-started: true, <-started: true, <-started: true}
	if len(concurrent) != 3 {
		t.Errorf("3 concurrent deliveries ran on %d goroutines", len(concurrent))
	}
	close(release)
	close(stop)
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > base; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after stop", runtime.NumGoroutine()-base)
		}
	}
}

// goroutineID is the number in the first line of the goroutine's stack
// trace ("goroutine 42 [running]:").
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := bytes.Cut(bytes.TrimPrefix(buf, []byte("goroutine ")), []byte(" "))
	return string(id)
}
