package main

import "runtime"

// serveProcsFactor is how many Go schedulers (GOMAXPROCS) `outbox serve`
// runs per CPU the runtime would use by default. Its store's writer and
// syncer spend much of their time in disk system calls (WAL writes, an
// fsync per group commit), and a goroutine in a system call keeps its
// scheduler until the runtime's monitor takes it back, tens of
// microseconds or more later. With one scheduler per CPU, callers whose
// commit was on disk waited that long for one to write their answers;
// with two per CPU they are answered sooner (HTTP single, 20 clients on
// 2 CPUs: about 10 % more messages a second; see the README's
// Performance section).
const serveProcsFactor = 2

// tuneProcs sets GOMAXPROCS to serveProcsFactor times the runtime's
// default unless the GOMAXPROCS environment variable is set (the runtime
// has applied it already), and returns the value in effect. Setting it
// ends the runtime's own updates of the default when a container's CPU
// limit changes; serve reads the limit once, at start.
func tuneProcs(getenv func(string) string) int {
	if getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := serveProcsFactor * runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(n)
	return n
}
