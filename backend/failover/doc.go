// Package failover is the failover combined backend: children are tried
// in order, and a message that one child cannot take goes to the next
// within the same attempt.
//
//	failover(smtp://primary.example.com:587 smtp://fallback.example.net:587)
//	failover(smtp://a smtp://b)?cooldown=2m
//
// A recipient settled by a child (accepted, or refused for good: a 5xx is
// the recipient's answer, not a reason to try another provider) is
// recorded with the child's leg ("0", "1", …) and its URL. A temporary or
// throttled answer sends the recipient on to the next child; that answer
// stays in the attempt log, marked failed_over. A child whose every answer
// was temporary (down, unreachable, failing) cools down for the cool-down
// period (default 60s): the children after it are tried first, then it is
// probed again, and traffic returns to it once it works. When every child
// is cooling down, they are tried anyway, the one whose cool-down ends
// first ahead.
package failover
