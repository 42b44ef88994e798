package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	debug.SetGCPercent(100)
	if !tuneGC(func(string) string { return "" }) {
		t.Error("without GOGC: tuneGC did not set the percentage")
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
	if tuneGC(env) {
		t.Error("with GOGC=150: tuneGC set the percentage")
	}
	if got := debug.SetGCPercent(100); got != 150 {
		t.Errorf("with GOGC=150: the runtime's percentage is %d, want it left at 150", got)
	}
}
