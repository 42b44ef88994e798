package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	debug.SetGCPercent(100)
	if got := tuneGC(func(string) string { return "" }); got != serveGCPercent {
		t.Errorf("without GOGC: tuneGC = %d, want %d", got, serveGCPercent)
	}
	if got := debug.SetGCPercent(100); got != serveGCPercent {
		t.Errorf("without GOGC: the runtime's percentage is %d, want %d", got, serveGCPercent)
	}

	// With GOGC set, the runtime applied it at start (here: 150); serve
	// leaves it alone.
	debug.SetGCPercent(150)
	env := func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	}
	if got := tuneGC(env); got != 150 {
		t.Errorf("with GOGC=150: tuneGC = %d, want 150", got)
	}
	if got := debug.SetGCPercent(100); got != 150 {
		t.Errorf("with GOGC=150: the runtime's percentage is %d, want it left at 150", got)
	}
}
