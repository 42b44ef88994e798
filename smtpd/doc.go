// Package smtpd is Outbox's SMTP submission listener: applications point
// their SMTP settings at it and their mail goes into the Outbox queue.
//
// A [Server] speaks ESMTP (PIPELINING, 8BITMIME, SMTPUTF8,
// ENHANCEDSTATUSCODES, SIZE, CHUNKING/BDAT, STARTTLS, AUTH PLAIN and
// LOGIN) through github.com/emersion/go-smtp and hands every message to an
// [outbox.Client]. The reply to DATA, or to the last BDAT chunk, is
//
//	250 2.0.0 queued as <id>
//
// and it is sent only once [outbox.Client.Enqueue] returned nil, that is
// once the message is durably committed; <id> is the id the HTTP API and
// the CLI know the message by. When the store cannot commit the reply is
// 451 4.3.0 and nothing is stored, so the client tries again later.
//
// # What is stored
//
// The message is stored byte for byte as the client sent it (after SMTP
// dot-unstuffing), so DKIM signatures an application added survive, with
// these exceptions:
//
//   - a Received: trace field is prepended (RFC 5321 §4.4), naming the
//     client's HELO name and IP address, this server's Hostname, the
//     protocol (ESMTP, ESMTPS, ESMTPA, ESMTPSA as in RFC 3848) and a
//     transaction id that also appears in the log;
//   - Message-ID and Date are added when missing, and bare LF line
//     endings become CRLF (the root package's raw rendering does this);
//   - Bcc: and Resent-Bcc: fields are removed from the header, so that the
//     blind copies stay blind; the envelope (RCPT TO) alone says who gets
//     the message, and a recipient named only there is delivered to;
//   - the control fields below are removed.
//
// Field removal takes the field's folded continuation lines with it and
// leaves every other byte as it was. The header ends at the first empty
// line, or at the first line that is neither a header field nor a
// continuation line (as Postfix does).
//
// # Control fields
//
// A client that cannot use the HTTP API can still choose what the API
// offers through header fields, which are removed before storage:
//
//	X-Outbox-Backend: <name>              the backend to deliver through
//	X-Outbox-Priority: high|normal|low
//	X-Outbox-Send-At: <RFC 3339 time>     deliver no earlier than this
//	X-Outbox-Tags: a, b, c                 tags (the field may repeat)
//	X-Outbox-Idempotency-Key: <key>       a repeat returns the first message's id
//
// A bad value, a repeated field (other than X-Outbox-Tags) or an unknown
// X-Outbox-* field is refused with 550 5.6.0 naming the field, rather than
// delivered with a silent mistake.
//
// # Access
//
// The server is never an open relay: a client may give MAIL FROM only
// when it connects from one of Config.TrustedNetworks (by default loopback
// only) or has authenticated as one of Config.Users; otherwise the answer
// is 530 5.7.0. AUTH is offered only over TLS (STARTTLS or the implicit
// TLS listener) or, unless Config.RequireTLSForLoopbackAuth is set, on a
// loopback connection. A user's AllowedFrom list limits the MAIL FROM
// addresses they may use (550 5.7.1).
//
// [CheckListen] and [New] refuse a listening address that is not loopback
// when neither users nor trusted networks were configured.
//
// # Limits
//
// Config.MaxMessageBytes (552 5.3.4, advertised with SIZE),
// Config.MaxRecipients (452 4.5.3), Config.MaxConnections (421 4.7.0 to
// connections beyond it), Config.ReadTimeout between commands and
// Config.DataTimeout while message data arrives. Lines longer than 2000
// octets (twice RFC 5321's limit) close the connection.
package smtpd
