// Command bench measures Outbox on one machine: how fast `outbox serve`
// accepts mail over HTTP and SMTP, how fast it delivers it to an SMTP
// server on loopback, how much memory it uses, and how its delivery holds
// up with a large backlog queued. Run it from the repository:
//
//	go run ./bench                 # default sizes, a few minutes on 2 cores
//	go run ./bench --quick         # a CI-sized run
//	go run ./bench --backlog 1000000
//	go run ./bench --json > result.json
//
// It builds ./cmd/outbox, starts its own SMTP sink on 127.0.0.1 (a minimal
// SMTP server, like Postfix's smtp-sink: it answers pipelined commands in
// one write, and counts what arrives and the end-to-end latency of each
// message), starts `outbox serve` on a temporary data directory with
// that sink as its backend and the default durability settings, and drives
// the load from goroutines of its own process, through a minimal HTTP/1.1
// client (one keep-alive connection per request in flight, as wrk does)
// and go-smtp's SMTP client. The phases are:
//
//   - http-single: N concurrent HTTP clients, one message per request;
//   - http-batch: N concurrent clients, batches of 100 messages;
//   - http-paced: an open-loop offered rate (default 1,000 msg/s), whose
//     latencies are measured from each request's scheduled time, so a
//     stall is not hidden by the load generator waiting for it;
//   - smtp: N concurrent SMTP sessions, one transaction per message;
//   - delivery: messages scheduled for the same second are released at
//     once and delivered to the sink, with 1,000 messages queued for
//     later; with --backlog, a second `outbox serve` on a data directory
//     of its own holds that many queued, and the two are measured in
//     turn, run after run, so that their ratio compares runs made side by
//     side; each is run three times (--delivery-runs) and its median run
//     is reported.
//
// The report begins with the machine's speed at the start and the end of
// the run: the time to render a 1 KB message (as BenchmarkRenderText),
// measured before anything else runs and after the last phase. On a
// machine whose speed moves, it says which runs compare.
//
// Every phase reports its acceptance rate and latencies, the end-to-end
// rate and latencies (submitted → received by the sink), the peak RSS of
// the outbox process during the phase, and its CPU time (user and system,
// from /proc) per message from the phase's start to its last delivery;
// and the bench process's own CPU time per message over the same span.
//
// With --peer ADDR the smtp phase is run, in the same run, against another
// relay listening on ADDR that relays to the bench's sink (fix the sink's
// address with --sink-addr), and the Outbox/peer ratios are printed.
// bench/postfix-peer.sh starts Debian's Postfix as such a peer, in a
// private instance of its own.
package main
