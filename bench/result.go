package main

import "time"

// Result is what one phase measured.
type Result struct {
	// Phase names the phase (http-single, http-batch, http-paced, smtp,
	// backlog-fill, delivery); Target is "outbox" or "peer".
	Phase  string `json:"phase"`
	Target string `json:"target"`
	// Queued is the number of messages queued for later during the phase.
	Queued int `json:"queued"`
	// Messages were acknowledged; Errors were not (refused or failed).
	Messages int `json:"messages"`
	Errors   int `json:"errors"`
	// Seconds is how long submitting took, Rate the messages acknowledged
	// per second and Latency each submission's, from its start (or, for
	// http-paced, from its scheduled time) to its acknowledgement. They
	// are zero for the delivery phases, whose submissions are not timed.
	Seconds float64  `json:"seconds,omitempty"`
	Rate    float64  `json:"rate,omitempty"`
	Latency *Latency `json:"latency,omitempty"`
	// E2E is the delivery of the phase's messages to the sink.
	E2E *EndToEnd `json:"end_to_end,omitempty"`
	// PeakRSS is the outbox process's peak resident set during the phase
	// (since it started when PeakRSSSinceStart is set).
	PeakRSS           int64 `json:"peak_rss_bytes,omitempty"`
	PeakRSSSinceStart bool  `json:"peak_rss_since_start,omitempty"`
	// CPUPerMessage is the CPU time (user and system) outbox serve used
	// from the phase's start to its last delivery, per message, in
	// microseconds: the cost of taking and delivering one, steadier than
	// a rate on a shared machine.
	CPUPerMessage float64 `json:"outbox_cpu_us_per_message,omitempty"`
	// BenchCPUPerMessage is the same for the bench process itself (its
	// load generators and its sink), which shares the machine: what is
	// left of the CPUs for the relay measured.
	BenchCPUPerMessage float64 `json:"bench_cpu_us_per_message,omitempty"`
	// Note says what else to know.
	Note string `json:"note,omitempty"`
}

// EndToEnd is how a phase's messages reached the sink: from the phase's
// start (for the delivery phases: from the moment the messages fell due)
// to the last arrival, and each message's latency from its submission
// (or due time) to its arrival.
type EndToEnd struct {
	Delivered  int     `json:"delivered"`
	Duplicates int     `json:"duplicates"`
	Seconds    float64 `json:"seconds"`
	Rate       float64 `json:"rate"`
	Latency    Latency `json:"latency"`
}

// endToEnd builds the end-to-end figures of arrivals counted from start.
func endToEnd(a arrivals, start time.Time) *EndToEnd {
	e := &EndToEnd{Delivered: a.Count, Duplicates: a.Dups, Latency: summarize(a.Lat)}
	if a.Count > 0 {
		e.Seconds = a.Last.Sub(start).Seconds()
		if e.Seconds > 0 {
			e.Rate = float64(a.Count) / e.Seconds
		}
	}
	return e
}
