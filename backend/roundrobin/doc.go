// Package roundrobin is the roundrobin combined backend: messages are
// spread across children, in proportion to optional weights.
//
//	roundrobin(smtp://mx1.example.com smtp://mx2.example.com)
//	roundrobin(smtp://big smtp://small)?weights=3,1&cooldown=30s
//
// Each message goes to the next child in a smooth weighted rotation
// (weights=3,1 sends three messages to the first child for each one to
// the second, interleaved). A child cooling down is skipped. A recipient
// that a child answers temporarily goes on to the next child within the
// same attempt, as in a failover; a child whose every answer was
// temporary cools down (default 60s), then is tried again.
package roundrobin
