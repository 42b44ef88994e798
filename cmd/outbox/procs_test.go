package main

import (
	"runtime"
	"testing"
)

func TestTuneProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))

	runtime.GOMAXPROCS(3) // as the runtime's default on 3 CPUs
	if got := tuneProcs(func(string) string { return "" }); got != 6 {
		t.Errorf("without GOMAXPROCS: tuneProcs returned %d, want 6", got)
	}
	if got := runtime.GOMAXPROCS(0); got != 6 {
		t.Errorf("without GOMAXPROCS: the runtime runs %d, want 6", got)
	}

	// With GOMAXPROCS set, the runtime applied it at start (here: 3);
	// serve leaves it alone.
	runtime.GOMAXPROCS(3)
	env := func(k string) string {
		if k == "GOMAXPROCS" {
			return "3"
		}
		return ""
	}
	if got := tuneProcs(env); got != 3 {
		t.Errorf("with GOMAXPROCS=3: tuneProcs returned %d, want 3", got)
	}
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("with GOMAXPROCS=3: the runtime runs %d, want it left at 3", got)
	}
}
