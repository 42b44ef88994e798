// Package chain is the mechanics that the failover and roundrobin
// backends share: a cool-down per child, and sending a message through
// children in order, each recipient that gets a temporary answer going on
// to the next child within the same attempt.
package chain
