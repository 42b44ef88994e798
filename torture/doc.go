// Package torture holds Outbox's torture tests: they build the real
// `outbox serve`, boot it on loopback ports against an SMTP server run by
// the test, and check the promise users cannot check by reading the code:
// an acknowledged message (a 202 from the API, a 250 after SMTP DATA) is
// never lost, whatever happens to the process, the upstream or the disk.
//
// The package has no code of its own; everything is in TestTorture, one
// subtest per kind of trouble (run one with -run TestTorture/FullDisk):
//
//   - KillUnderLoad: SIGKILL at random moments while mail arrives over
//     HTTP and SMTP and is being delivered; zero acknowledged messages
//     lost, duplicates only with the same Message-ID.
//   - UpstreamOutage: the upstream refuses connections for a while;
//     everything is delivered once it returns, and the connection
//     attempts made meanwhile stay within what the retry schedule allows.
//   - UpstreamMisbehaviour: 421 mid-session, the connection cut after
//     DATA, a reply that never comes, 452 for some recipients.
//   - FullDisk: the data directory on a small tmpfs that fills up
//     (root only; skipped otherwise, except when CI=true).
//   - BadInputAtVolume: thousands of malformed API requests and SMTP
//     sessions among good ones.
//
// The short versions run in `go test ./...` in about a minute on two
// cores. OUTBOX_TORTURE=long runs the long versions (at least 20 kills, a
// 60-second outage, more volume):
//
//	OUTBOX_TORTURE=long go test -run . -v -timeout 30m ./torture/
//
// The daemon is built without the race detector whatever flags the test
// binary has, and logs to a file kept in the test's temporary directory;
// its tail is printed when a test fails.
package torture
