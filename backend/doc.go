// Package backend opens delivery backends from their URLs.
//
// A backend is named by one string, so that it fits a config value, an
// environment variable or a flag:
//
//	console:                   print each message (console:?raw=true prints the bytes)
//	file:///var/spool/outbox   write each message as an .eml file
//	memory:                    keep messages in memory
//	null:                      accept and drop
//	smtp://user:pass@host:587  deliver over SMTP
//
// [Open] parses such a URL and hands it to the [Opener] registered for its
// scheme in a [Schemes] table. There is no global registry: the command
// that wires Outbox together builds the table from the backend packages it
// links (backend/console, backend/file, …) and passes it in, so tests and
// embedders choose exactly which schemes exist.
//
// Backends combine into expressions of the grammar in PRODUCT.md, which
// [Parse] reads: a URL, a name of a configured backend, or a combinator
// over backends, nested at will:
//
//	fanout(relay debug)
//	fanout(failover(smtp://a.example.com smtp://b.example.com) file:///var/mail/copy)?require=all
//	roundrobin(smtp://mx1 smtp://mx2)?weights=3,1
//	chaos(relay)?temp=0.2&perm=0.05&latency=200ms&drop_after_data=0.01
//
// [NewSet] builds the named backends of a configuration once (each shared
// by every expression that names it), reporting every mistake at start-up
// with the column it is at; the engine resolves a message's backend name
// through it. A [Router] chooses a backend for a message that names none,
// by sender domain, recipient domain or tag.
//
// Characters that a URL cannot hold as they are (a space, "@" or ")" in a
// user name or password) are percent-encoded. Errors name the problem and
// never show a password.
package backend
