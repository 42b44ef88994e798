// Package outboxtest helps test code that sends mail: it runs a real SMTP
// server, a [Sink], on 127.0.0.1 on a free port for the length of a test.
//
// Outbox's own tests use it to exercise the SMTP backend against a real
// server, and it is offered to users for their own tests: point an
// application or an Outbox backend URL at [Sink.Addr], send, then assert on
// what arrived with [Sink.Messages] or [Sink.WaitFor].
//
//	sink := outboxtest.NewSink(t)
//	// ... deliver to "smtp://" + sink.Addr() + "?tls=none" ...
//	msgs := sink.WaitFor(1, 5*time.Second)
//	if msgs[0].From != "app@example.com" { ... }
//
// The sink records every message it accepts (envelope, exact bytes, TLS
// state, authenticated user) and can answer on cue: refuse a sender, a
// recipient or the data with any reply ([Sink.RejectMail],
// [Sink.RejectRcpt], [Sink.RejectData]), refuse recipients past a count in
// one transaction ([Sink.TooManyRecipientsAfter]), drop the connection
// after the data without replying ([Sink.CutAfterData]), or reply slowly
// ([Sink.Delay]). [Sink.Stop] and [Sink.Start] take the server down and up
// again on the same address, to simulate an upstream outage.
//
// Options add STARTTLS or implicit TLS with a certificate generated in
// memory ([WithStartTLS], [WithImplicitTLS]; trust it through
// [Sink.CertPool] or [Sink.CAFile]), required authentication ([WithAuth]),
// SMTPUTF8 support ([WithSMTPUTF8]) and a size limit
// ([WithMaxMessageBytes]).
//
// A Sink is safe for concurrent use; the methods that fail the test
// ([NewSink], [Sink.Start], [Sink.WaitFor], and cue methods given a
// malformed enhanced code) must be called from the test's goroutine.
package outboxtest
