package main

import (
	"slices"
	"time"
)

// Latency summarises a phase's latencies.
type Latency struct {
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// summarize sorts ds and returns its percentiles (nearest rank).
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return Latency{P50: rank(0.50), P99: rank(0.99), Max: ds[len(ds)-1]}
}

// recorder collects the latencies of one load goroutine; merge joins
// them when the phase ends, so that recording takes no lock.
type recorder struct {
	lat    []time.Duration
	errors int
	acked  int
}

// merge concatenates recorders.
func merge(rs []*recorder) (lat []time.Duration, acked, errors int) {
	for _, r := range rs {
		lat = append(lat, r.lat...)
		acked += r.acked
		errors += r.errors
	}
	return lat, acked, errors
}
