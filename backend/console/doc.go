// Package console is the backend that prints each message instead of
// sending it: "console:", Outbox's default, for development.
//
// Each message is shown as a block a person can read: a separator line,
// the queue id, the Message-ID, the envelope, the decoded From, To, Cc,
// Subject and Date fields, then the text body decoded from its transfer
// encoding (for an HTML-only message, the HTML with its tags stripped),
// and a list of the attachments with their types and sizes. Control
// characters in the summary are shown as escapes, so mail cannot drive
// the terminal. "console:?raw=true" prints the message's RFC 5322 bytes
// as they are instead.
//
// Output goes to standard output, or to the io.Writer given to [New].
// Each message is formatted first and written with one Write under a
// lock, so concurrent deliveries never interleave.
package console
