// Command outbox runs Outbox and manages its queue.
//
//	outbox serve                       run the HTTP API and the delivery workers
//	outbox send --from a@example.com --to b@example.com --subject Hi --text Hello
//	outbox send < message.eml          enqueue a raw RFC 5322 message
//	outbox ls [--status deferred]      list messages, newest first
//	outbox show ID [--raw | --json]    a message, its recipients and attempt log
//	outbox retry ID | outbox cancel ID
//	outbox stats
//	outbox version | outbox help [COMMAND]
//
// serve reads its configuration from defaults, a TOML file (--config or
// OUTBOX_CONFIG), a fixed list of OUTBOX_* environment variables, then its
// flags, in that order of precedence. The other commands are clients of
// the HTTP API at --server (OUTBOX_URL, default http://127.0.0.1:8025) with
// the bearer token --token (OUTBOX_TOKEN).
//
// Exit codes: 0 success, 1 the command failed (the reason is on standard
// error), 2 a bad command line.
package main
