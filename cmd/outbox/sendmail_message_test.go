package main

import (
	"errors"
	"net/mail"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestReadSendmailInput(t *testing.T) {
	long := strings.Repeat("x", 10000) // longer than bufio's buffer
	tests := []struct {
		name, in   string
		ignoreDots bool
		want       string
	}{
		{"to EOF", "Subject: a\n\nbody\n", false, "Subject: a\n\nbody\n"},
		{"a lone dot ends it", "Subject: a\n\nbody\n.\nnot read\n", false, "Subject: a\n\nbody\n"},
		{"CRLF dot", "Subject: a\r\n\r\nbody\r\n.\r\nnot read\r\n", false, "Subject: a\r\n\r\nbody\r\n"},
		{"dot at EOF", "Subject: a\n\nbody\n.", false, "Subject: a\n\nbody\n"},
		{"-i keeps the dot", "Subject: a\n\nbody\n.\nafter\n", true, "Subject: a\n\nbody\n.\nafter\n"},
		{"dots kept as they are", "Subject: a\n\n..two\n.x\n", false, "Subject: a\n\n..two\n.x\n"},
		{"dot after a long line", "Subject: a\n\n" + long + ".\n" + "more\n", false, "Subject: a\n\n" + long + ".\nmore\n"},
		{"long line then dot", "Subject: a\n\n" + long + "\n.\n", false, "Subject: a\n\n" + long + "\n"},
		{"no final newline", "Subject: a\n\nbody", false, "Subject: a\n\nbody"},
		{"empty", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readSendmailInput(strings.NewReader(tt.in), tt.ignoreDots, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	for _, ignore := range []bool{false, true} {
		if _, err := readSendmailInput(strings.NewReader(long), ignore, 9999); !errors.Is(err, errTooLarge) {
			t.Errorf("ignoreDots=%v: 10000 bytes over a 9999 limit: %v", ignore, err)
		}
		if got, err := readSendmailInput(strings.NewReader(long), ignore, 10000); err != nil || len(got) != 10000 {
			t.Errorf("ignoreDots=%v: 10000 bytes at the limit: %d %v", ignore, len(got), err)
		}
	}
}

func TestParseHeader(t *testing.T) {
	raw := "From: a@example.com\r\nTo: b@example.com,\r\n c@example.com\r\nSubject: hi\r\n\r\nTo: body@example.com\r\n"
	want := []headerField{{"From", "a@example.com"}, {"To", "b@example.com, c@example.com"}, {"Subject", "hi"}}
	if got := parseHeader([]byte(raw)); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
	if got := parseHeader([]byte("just a body line\nTo: x@example.com\n")); len(got) != 0 {
		t.Errorf("a message without a header: %q", got)
	}
	if got := values(parseHeader([]byte("To: a@x.example\nCc: b@x.example\nto: c@x.example\n\n")), "TO"); !slices.Equal(got, []string{"a@x.example", "c@x.example"}) {
		t.Errorf("values: %q", got)
	}
}

func TestAddFrom(t *testing.T) {
	author := mail.Address{Name: "Cron Daemon", Address: "root@host.example"}
	tests := []struct{ name, in, want string }{
		{"has From", "From: me@example.com\nSubject: x\n\nbody\n", "From: me@example.com\nSubject: x\n\nbody\n"},
		{"no From", "Subject: x\n\nbody\n", "From: \"Cron Daemon\" <root@host.example>\nSubject: x\n\nbody\n"},
		{"CRLF", "Subject: x\r\n\r\nbody\r\n", "From: \"Cron Daemon\" <root@host.example>\r\nSubject: x\r\n\r\nbody\r\n"},
		{"no header", "hello\n", "From: \"Cron Daemon\" <root@host.example>\n\nhello\n"},
		{"empty header", "\nhello\n", "From: \"Cron Daemon\" <root@host.example>\n\nhello\n"},
	}
	for _, tt := range tests {
		raw := []byte(tt.in)
		if got := string(addFrom(raw, parseHeader(raw), author)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := string(addFrom([]byte("\nx\n"), nil, mail.Address{Address: "a@b.example"})); got != "From: a@b.example\n\nx\n" {
		t.Errorf("without a name: %q", got)
	}
	if got := string(stripMboxFrom([]byte("From root Mon Jan  2 15:04:05 2006\nSubject: x\n\n"))); got != "Subject: x\n\n" {
		t.Errorf("mbox From line: %q", got)
	}
}

func TestParseRecipientList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a@example.com", []string{"a@example.com"}},
		{"A <a@example.com>, \"Smith, B\" <b@example.com>", []string{"a@example.com", "b@example.com"}},
		{"root", []string{"root@host.example"}},
		{"root (Cron Daemon)", []string{"root@host.example"}},
		{"Admin <admin>, ops@example.com", []string{"admin@host.example", "ops@example.com"}},
		{"undisclosed-recipients:;", []string{}},
		{"", nil},
		{"team: a@example.com, b@example.com;", []string{"a@example.com", "b@example.com"}},
	}
	for _, tt := range tests {
		got, err := parseRecipientList(tt.in, "host.example")
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"a@@example.com", "<unclosed@example.com", "two words@example.com, x"} {
		if got, err := parseRecipientList(bad, "host.example"); err == nil {
			t.Errorf("%q: no error, got %q", bad, got)
		}
	}
	if got := splitAddressList(`"a, b" <x@y.example>, (c, d) z@y.example, <w,@y.example>`); len(got) != 3 {
		t.Errorf("split %q", got)
	}
}

// FuzzParseRecipientList: whatever the input, parsing does not panic,
// and what it returns are addr-specs with a domain and no line break
// (net/mail unquotes quoted local parts, so they need not re-parse as
// they are; outbox.ValidateAddr checks them before the enqueue).
func FuzzParseRecipientList(f *testing.F) {
	for _, s := range []string{"a@example.com", "root (Cron Daemon)", "Admin <admin>", `"a,b" <x@y>`, "g: a@b, c@d;", "(((", "<>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, err := parseRecipientList(s, "host.example")
		if err != nil {
			return
		}
		for _, a := range list {
			if !strings.Contains(a, "@") || strings.ContainsAny(a, "\r\n") {
				t.Errorf("%q gave %q", s, a)
			}
		}
	})
}

// TestQualifyHeader: a bare local name is qualified in any address field,
// however its name is written before the colon; other fields keep their
// bytes.
func TestQualifyHeader(t *testing.T) {
	in := "From  : root (Cron Daemon)\nsubject: x\nTO: ann@example.com\n\nTo: body\n"
	want := "From: \"Cron Daemon\" <root@host.example>\nsubject: x\nTO: ann@example.com\n\nTo: body\n"
	if got := string(qualifyHeader([]byte(in), "host.example")); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}
