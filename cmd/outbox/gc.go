package main

import "runtime/debug"

// serveGCPercent is the garbage collector's target of `outbox serve`
// (GOGC): the heap may grow to five times what is live before a
// collection. Most of what serve allocates lives for one request or one
// delivery; at Go's default of 100 the collector took about a tenth of
// the CPU under load, and at 200 it still cost HTTP single 4–27 % of its
// rate (three alternated pairs). The live heap stays small (the messages
// are in the store, not in memory): the cost is memory, a peak RSS of
// 144–164 MiB with a million messages queued against about 105 at 200.
const serveGCPercent = 400

// tuneGC sets serveGCPercent unless the GOGC environment variable is set
// (the Go runtime has applied it already), and reports whether it did.
func tuneGC(getenv func(string) string) bool {
	if getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(serveGCPercent)
	return true
}
