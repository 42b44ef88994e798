package main

import (
	"flag"
	"io"
	"slices"
	"testing"
)

func TestRemoveHeader(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"CRLF", "From: a\r\nBcc: x@example.com\r\nTo: b\r\n\r\nbody\r\n", "From: a\r\nTo: b\r\n\r\nbody\r\n"},
		{"LF", "From: a\nBcc: x@example.com\nTo: b\n\nbody\n", "From: a\nTo: b\n\nbody\n"},
		{"folded", "Bcc: x@example.com,\r\n\ty@example.com,\r\n  z@example.com\r\nTo: b\r\n\r\n", "To: b\r\n\r\n"},
		{"case", "BCC : x@example.com\r\nbcc: y@example.com\r\nTo: b\r\n\r\n", "To: b\r\n\r\n"},
		{"similar names stay", "Bcc-Note: keep\r\nX-Bcc: keep\r\n\r\n", "Bcc-Note: keep\r\nX-Bcc: keep\r\n\r\n"},
		{"body untouched", "To: b\r\n\r\nBcc: in the body\r\n", "To: b\r\n\r\nBcc: in the body\r\n"},
		{"no body", "To: b\r\nBcc: x", "To: b\r\n"},
		{"several", "Bcc: a\r\nTo: b\r\nBcc: c\r\n\r\n", "To: b\r\n\r\n"},
		{"resent", "Resent-Bcc: a\r\nTo: b\r\n\r\n", "To: b\r\n\r\n"},
		{"no header: body kept", "hello\r\nBcc: not a field here\r\n", "hello\r\nBcc: not a field here\r\n"},
		{"header ends at a non-field line", "To: b\r\nplain text\r\nBcc: in the text\r\n", "To: b\r\nplain text\r\nBcc: in the text\r\n"},
	}
	for _, tt := range tests {
		if got := string(removeHeader([]byte(tt.in), "Bcc", "Resent-Bcc")); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestEnvelopeFromHeaders(t *testing.T) {
	env, err := envelopeFromHeaders([]byte("From: \"Alice, A.\" <alice@example.com>\r\nTo: Bob <bob@example.com>, carol@example.com\r\n" +
		"Cc: bob@example.com\r\nBcc: dave@example.com\r\nSubject: x\r\n\r\nbody"))
	if err != nil {
		t.Fatal(err)
	}
	if env.from != "alice@example.com" || !slices.Equal(env.to, []string{"bob@example.com", "carol@example.com", "dave@example.com"}) {
		t.Errorf("envelope %+v", env)
	}
	if _, err := envelopeFromHeaders([]byte("To: not an address\r\n\r\n")); err == nil {
		t.Error("a bad To header was accepted")
	}
	if _, err := envelopeFromHeaders([]byte("no header here")); err == nil {
		t.Error("a message without a header was accepted")
	}
}

func TestParseArgsInterspersed(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	j := fs.Bool("json", false, "")
	n := fs.Int("n", 0, "")
	pos, err := parseArgs(fs, []string{"a", "--json", "b", "-n", "3", "--", "-c", "--json"})
	if err != nil {
		t.Fatal(err)
	}
	if !*j || *n != 3 || !slices.Equal(pos, []string{"a", "b", "-c", "--json"}) {
		t.Errorf("json %v n %d positional %q", *j, *n, pos)
	}
}
