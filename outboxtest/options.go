package outboxtest

import "strings"

// Option configures a Sink.
type Option func(*options)

type options struct {
	startTLS    bool
	implicitTLS bool
	username    string
	password    string
	mechanisms  []string
	smtpUTF8    bool
	maxBytes    int64
	// hidden are lines of the EHLO reply left out (WithoutPipelining,
	// WithoutChunking).
	hidden []string
}

func defaultOptions() options {
	return options{smtpUTF8: true}
}

// WithStartTLS makes the sink offer STARTTLS with a self-signed certificate
// generated in memory, valid for 127.0.0.1, ::1 and localhost. Clients trust
// it through [Sink.CertPool] or [Sink.CAFile]. The sink does not require
// TLS: a client may also send in clear text.
func WithStartTLS() Option {
	return func(o *options) { o.startTLS = true }
}

// WithImplicitTLS makes the sink speak TLS from the first byte (the smtps
// form, usually port 465), with the same certificate as [WithStartTLS].
func WithImplicitTLS() Option {
	return func(o *options) { o.implicitTLS = true }
}

// WithAuth makes the sink offer AUTH PLAIN and LOGIN and require a
// successful login with username and password before MAIL FROM. AUTH is
// offered over clear text too, since the sink listens on loopback only.
func WithAuth(username, password string) Option {
	return func(o *options) { o.username, o.password = username, password }
}

// WithAuthMechanisms sets the AUTH mechanisms the sink offers (by default
// "PLAIN" and "LOGIN"). Only PLAIN and LOGIN work; others are advertised
// but refused with 504, to test a client against a server that offers
// nothing it supports. It matters only with [WithAuth].
func WithAuthMechanisms(mechanisms ...string) Option {
	return func(o *options) {
		o.mechanisms = make([]string, len(mechanisms))
		for i, m := range mechanisms {
			o.mechanisms[i] = strings.ToUpper(m)
		}
	}
}

// WithSMTPUTF8 sets whether the sink advertises and accepts SMTPUTF8
// (RFC 6531); it does by default. Without it the sink refuses MAIL FROM
// with the SMTPUTF8 parameter.
func WithSMTPUTF8(on bool) Option {
	return func(o *options) { o.smtpUTF8 = on }
}

// WithMaxMessageBytes sets the size limit the sink advertises (SIZE) and
// enforces: a larger message is refused with 552 5.3.4.
func WithMaxMessageBytes(n int64) Option {
	return func(o *options) { o.maxBytes = n }
}

// WithoutPipelining makes the sink leave PIPELINING (RFC 2920) out of its
// EHLO reply, for a client to send one command at a time. It works on
// clear-text connections only: under TLS the reply is offered as usual.
func WithoutPipelining() Option {
	return func(o *options) { o.hidden = append(o.hidden, "250-PIPELINING\r\n") }
}

// WithoutChunking makes the sink leave CHUNKING (RFC 3030, BDAT) out of
// its EHLO reply, for a client to send its messages with DATA. Like
// WithoutPipelining, it works on clear-text connections only.
func WithoutChunking() Option {
	return func(o *options) { o.hidden = append(o.hidden, "250-CHUNKING\r\n") }
}
