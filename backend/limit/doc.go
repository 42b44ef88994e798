// Package limit wraps a backend with rate and concurrency limits, and
// slows it down when its upstream throttles.
//
// Limits are per backend: messages per second, minute, hour or day (any
// of them at once, e.g. 20/s and 10000/d), at most so many deliveries at
// once, and at most so many at once per recipient domain. The engine asks
// the wrapper before each delivery (outbox.Limiter): a message over a
// limit goes back to the queue, due when its turn comes, without counting
// an attempt — mail over a limit waits, it never fails. The wrapper holds
// that turn for the message (by queue id), so that released messages come
// back paced at the rate rather than all at once. Before each claim the
// engine asks which backends are saturated (Backend.Saturated) and leaves
// their mail in the queue; a kept turn that comes while its message waits
// there goes to the next message of the backend that asks.
//
// A throttling answer from the upstream (421, 4.7.x, 4.2.1: the throttled
// class) halves the backend's rate; every recovery period without another
// one, the rate grows by a quarter, back to its configured value. A
// backend with no configured rate gets one at its first throttling: half
// the rate it was sending at.
//
// When the wrapper is used inside a combined backend (fanout of a limited
// named backend), the engine does not ask it first: then Send itself
// answers "throttled" for a message over the limit, which the engine
// retries later without counting an attempt, and which a failover takes
// as a reason to try its next child.
package limit
