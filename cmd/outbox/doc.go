// Command outbox runs Outbox and manages its queue.
//
//	outbox serve                       run the SMTP listener, the HTTP API and the delivery workers
//	outbox send --from a@example.com --to b@example.com --subject Hi --text Hello
//	outbox send < message.eml          enqueue a raw RFC 5322 message
//	outbox ls [--status deferred]      list messages, newest first
//	outbox show ID [--raw | --json]    a message, its recipients and attempt log
//	outbox retry ID | outbox cancel ID
//	outbox stats
//	outbox sendmail -t -i < message    enqueue as sendmail does (also as a "sendmail" symlink)
//	outbox passwd                      print the bcrypt hash of a password for smtp_users
//	outbox version | outbox help [COMMAND]
//
// serve reads its configuration from defaults, a TOML file (--config or
// OUTBOX_CONFIG), a fixed list of OUTBOX_* environment variables, then its
// flags, in that order of precedence. The other commands are clients of
// the HTTP API at --server (OUTBOX_URL, default http://127.0.0.1:8025) with
// the bearer token --token (OUTBOX_TOKEN). sendmail falls back to queueing
// straight into the local data directory when no server answers there.
//
// Exit codes: 0 success, 1 the command failed (the reason is on standard
// error), 2 a bad command line. sendmail uses sendmail's codes instead
// (sysexits: 64 usage, 65 bad message, 75 try again later, ...).
package main
