// Package daemon builds the outbox binary and runs `outbox serve` as a
// subprocess on free loopback ports, the way a user runs it: the
// end-to-end tests of cmd/outbox, the torture tests and the benchmark
// program all boot the daemon through it.
//
// [Build] compiles ./cmd/outbox of the module the current directory
// belongs to. [Start] runs the binary with a minimal environment (see
// [Env]), reads the "listening" lines of its log to learn the addresses
// it bound, and returns once it logs "outbox started". The returned
// [Process] is stopped with [Process.Stop] (SIGTERM, then a wait) or
// [Process.Kill] (SIGKILL).
//
// The package takes no *testing.T: tests wrap it in helpers that fail
// the test and register the clean-up, and the benchmark returns its
// errors.
package daemon
