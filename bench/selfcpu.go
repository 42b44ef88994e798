package main

import (
	"syscall"
	"time"
)

// selfCPU returns the CPU time (user and system) the bench process has
// used: its load generators and its sink, which share the machine with
// the relay measured.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// perMessage is d per message, in microseconds; 0 without messages.
func perMessage(d time.Duration, messages int) float64 {
	if messages == 0 || d <= 0 {
		return 0
	}
	return float64(d) / float64(time.Microsecond) / float64(messages)
}
