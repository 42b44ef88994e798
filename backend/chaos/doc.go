// Package chaos is the chaos wrapper: it wraps one backend and injects
// failures, so that failover and retries can be rehearsed before
// production.
//
//	chaos(smtp://relay.example.com:587)?temp=0.2&perm=0.05&latency=200ms&drop_after_data=0.01
//
// For each message, with the given probabilities: temp answers a
// temporary failure (451 4.3.0) without sending; perm a permanent one
// (554 5.0.0) without sending; drop_after_data sends the message through
// the wrapped backend and then reports a connection cut before the reply
// to DATA — a temporary error, so the engine retries and the message is
// delivered twice with the same Message-ID: the one duplicate Outbox
// cannot avoid, rehearsed. latency delays every message, plus a random
// part up to jitter. seed makes the draws repeatable. With every
// probability zero the wrapper is transparent.
package chaos
