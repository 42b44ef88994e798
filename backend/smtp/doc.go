// Package smtp is the SMTP delivery backend: it hands messages to an SMTP
// server (a relay, a provider's submission endpoint, a local MTA) over
// pooled, reused connections.
//
// A backend is configured by a [Config] or by a URL ([FromURL]):
//
//	smtp://user:pass@relay.example.com:587?tls=starttls
//	smtps://user:pass@smtp.example.com          (implicit TLS, port 465)
//	smtp://127.0.0.1:1025?tls=none              (a local test server)
//
// The port defaults to 25 for smtp:// and 465 for smtps://; give it when
// the server listens elsewhere (587 for submission is the usual case).
// Query parameters are tls (starttls, opportunistic, none), auth (plain,
// login), ehlo, timeout, data_timeout, idle_timeout, ca (a PEM file of
// trusted certificates), insecure_skip_verify, max_conns, max_msgs and health_check; see [Config]
// for their meaning and defaults. An unknown parameter or a bad value is an
// error that names the parameter.
//
// The backend connects lazily, on the first Send, and keeps up to
// Config.MaxConns connections, authenticated once and reused message after
// message. Each message is one SMTP transaction: MAIL FROM (with SIZE,
// BODY=8BITMIME and SMTPUTF8 as the server supports and the message
// needs), one RCPT TO per recipient, then DATA with the message's bytes
// unchanged. Refused recipients get their own result; a refused sender,
// refused data or a 421 fail the whole transaction with the server's reply
// in an [outbox.SendError]; a network error or a timeout is a plain,
// temporary error.
//
// Certificates are verified unless insecure_skip_verify=true is given, in
// the opportunistic mode too. Credentials are never sent over a connection
// without TLS, except to a loopback address.
package smtp
