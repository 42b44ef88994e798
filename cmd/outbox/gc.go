package main

import "runtime/debug"

// serveGCPercent is the garbage collector's target of `outbox serve`
// (GOGC): the heap may grow to three times what is live before a
// collection. Most of what serve allocates lives for one request or one
// delivery; at Go's default of 100 the collector took about a tenth of
// the CPU under load. The live heap stays small (the messages are in the
// store, not in memory), so the cost is a few megabytes.
const serveGCPercent = 200

// tuneGC sets serveGCPercent unless the GOGC environment variable is set,
// which the Go runtime has already applied, and returns the percentage in
// force.
func tuneGC(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		percent := debug.SetGCPercent(-1)
		debug.SetGCPercent(percent)
		return percent
	}
	debug.SetGCPercent(serveGCPercent)
	return serveGCPercent
}
