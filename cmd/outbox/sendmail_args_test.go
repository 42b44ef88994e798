package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseSendmailArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want sendmailOptions
	}{
		{"recipients", []string{"a@example.com", "b@example.com"}, sendmailOptions{recipients: []string{"a@example.com", "b@example.com"}}},
		{"PHP's default", []string{"-t", "-i"}, sendmailOptions{fromHeaders: true, ignoreDots: true}},
		{"clustered", []string{"-ti"}, sendmailOptions{fromHeaders: true, ignoreDots: true}},
		{"-oi", []string{"-oi", "-t"}, sendmailOptions{fromHeaders: true, ignoreDots: true}},
		{"-o i", []string{"-o", "i", "x@example.com"}, sendmailOptions{ignoreDots: true, recipients: []string{"x@example.com"}}},
		{"sender attached", []string{"-fbounce@example.com", "x@example.com"},
			sendmailOptions{sender: "bounce@example.com", senderSet: true, recipients: []string{"x@example.com"}}},
		{"sender apart", []string{"-f", "bounce@example.com", "x@example.com"},
			sendmailOptions{sender: "bounce@example.com", senderSet: true, recipients: []string{"x@example.com"}}},
		{"-r", []string{"-r", "b@example.com", "-t"}, sendmailOptions{sender: "b@example.com", senderSet: true, fromHeaders: true}},
		{"null sender", []string{"-f", "<>", "-t"}, sendmailOptions{sender: "<>", senderSet: true, fromHeaders: true}},
		{"cluster ending in -f", []string{"-tif", "me@example.com"},
			sendmailOptions{fromHeaders: true, ignoreDots: true, sender: "me@example.com", senderSet: true}},
		// Debian's cron: sendmail -FCronDaemon -i -B8BITMIME -oem root
		{"cron", []string{"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"},
			sendmailOptions{fullName: "CronDaemon", ignoreDots: true, recipients: []string{"root"}}},
		{"full name apart", []string{"-F", "Nightly Job", "-t"}, sendmailOptions{fullName: "Nightly Job", fromHeaders: true}},
		{"ignored switches", []string{"-bm", "-odi", "-odb", "-oQ/tmp", "-v", "-m", "-n", "-U", "-N", "never", "-R", "hdrs", "-V", "envid", "-h", "3", "-Ooption=1", "a@example.com"},
			sendmailOptions{verbose: true, recipients: []string{"a@example.com"}}},
		{"--", []string{"-t", "--", "-weird@example.com"}, sendmailOptions{fromHeaders: true, recipients: []string{"-weird@example.com"}}},
		{"-bi", []string{"-bi"}, sendmailOptions{noop: true}},
		{"long options", []string{"--server", "http://127.0.0.1:9", "--token=s3cret", "--data-dir", "/var/lib/outbox", "--config=/etc/outbox.toml", "--profile", "production", "-t"},
			sendmailOptions{fromHeaders: true, server: "http://127.0.0.1:9", token: "s3cret", dataDir: "/var/lib/outbox", config: "/etc/outbox.toml", profile: "production"}},
		{"help", []string{"--help"}, sendmailOptions{help: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSendmailArgs(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseSendmailArgsErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-bs"}, "-bs (SMTP on standard input) is not supported: connect to the SMTP listener"},
		{[]string{"-bd"}, "-bd (daemon mode) is not supported: run outbox serve"},
		{[]string{"-bp"}, "use outbox ls"},
		{[]string{"-bv", "a@example.com"}, "-bv is not supported"},
		{[]string{"-q"}, "-q (run the queue) is not supported"},
		{[]string{"-q30m"}, "-q30m (run the queue) is not supported"},
		{[]string{"-f"}, "option -f needs a value"},
		{[]string{"-tz"}, "unknown option -z"},
		{[]string{"--smtp"}, "unknown option --smtp"},
		{[]string{"--server"}, "option --server needs a value"},
	} {
		_, err := parseSendmailArgs(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want one containing %q", tt.args, err, tt.want)
		}
	}
}

func TestCommandLine(t *testing.T) {
	for _, tt := range []struct{ argv, want []string }{
		{[]string{"/usr/local/bin/outbox", "serve"}, []string{"serve"}},
		{[]string{"/usr/sbin/sendmail", "-t", "-i"}, []string{"sendmail", "-t", "-i"}},
		{[]string{"sendmail"}, []string{"sendmail"}},
		{[]string{"outbox"}, []string{}},
		{nil, nil},
	} {
		if got := commandLine(tt.argv); !slices.Equal(got, tt.want) {
			t.Errorf("commandLine(%q) = %q, want %q", tt.argv, got, tt.want)
		}
	}
}
