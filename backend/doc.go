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
// Characters that a URL cannot hold as they are (a space, "@" or ")" in a
// user name or password) are percent-encoded. Errors name the problem and
// never show a password.
package backend
