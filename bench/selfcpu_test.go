package main

import (
	"testing"
	"time"
)

func TestSelfCPU(t *testing.T) {
	before := selfCPU()
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		renderSpeed()
	}
	if used := selfCPU() - before; used < 10*time.Millisecond {
		t.Errorf("selfCPU grew by %v over 50 ms of work, want most of it", used)
	}
	if got := perMessage(3*time.Millisecond, 1000); got != 3 {
		t.Errorf("perMessage(3ms, 1000) = %v µs, want 3", got)
	}
	if got := perMessage(time.Second, 0); got != 0 {
		t.Errorf("perMessage with no message = %v, want 0", got)
	}
}
