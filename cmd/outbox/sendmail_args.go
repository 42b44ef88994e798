package main

import (
	"fmt"
	"strings"
)

// sendmailOptions is a parsed sendmail command line.
type sendmailOptions struct {
	// fromHeaders (-t): the recipients of the To, Cc and Bcc header
	// fields are added to those given as arguments.
	fromHeaders bool
	// ignoreDots (-i, -oi): a line with a single dot does not end the
	// message; it ends at end of file.
	ignoreDots bool
	// sender (-f, -r) is the envelope sender when senderSet; "" or "<>"
	// is the null sender.
	sender    string
	senderSet bool
	// fullName (-F) is the display name of the From field added to a
	// message that has none.
	fullName string
	// verbose (-v) prints where the message was queued.
	verbose bool
	// recipients are the arguments, each an address list.
	recipients []string
	// noop is set for modes that have nothing to do (-bi: Outbox has no
	// alias database).
	noop bool
	// help is set by --help.
	help bool
	// Outbox's own options, which sendmail does not have.
	server, token, dataDir, config, profile string
}

// parseSendmailArgs parses a sendmail command line the way sendmail's
// getopt does: options may be clustered ("-ti"), an option's value may
// be attached ("-fme@example.com") or the next argument ("-f
// me@example.com"), and "--" ends the options. Options that change
// nothing for a queue (delivery and error modes, DSN parameters, body
// type) are accepted and ignored; modes Outbox does not offer are errors
// that say what to use instead.
func parseSendmailArgs(args []string) (sendmailOptions, error) {
	var o sendmailOptions
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			o.recipients = append(o.recipients, args[i+1:]...)
			return o, nil
		case arg == "--help" || arg == "-help":
			o.help = true
		case strings.HasPrefix(arg, "--"):
			name, value, hasValue := strings.Cut(arg[2:], "=")
			if !isLongOption(name) {
				return o, fmt.Errorf("unknown option --%s", name)
			}
			if !hasValue {
				if i+1 >= len(args) {
					return o, fmt.Errorf("option --%s needs a value", name)
				}
				i++
				value = args[i]
			}
			switch name {
			case "server":
				o.server = value
			case "token":
				o.token = value
			case "data-dir":
				o.dataDir = value
			case "config":
				o.config = value
			case "profile":
				o.profile = value
			}
		case strings.HasPrefix(arg, "-") && len(arg) > 1:
			next := func() (string, bool) {
				if i+1 >= len(args) {
					return "", false
				}
				i++
				return args[i], true
			}
			if err := o.cluster(arg[1:], next); err != nil {
				return o, err
			}
		default:
			o.recipients = append(o.recipients, arg)
		}
	}
	return o, nil
}

// isLongOption reports whether name is one of the long options outbox
// sendmail adds to sendmail's command line; each takes a value.
func isLongOption(name string) bool {
	switch name {
	case "server", "token", "data-dir", "config", "profile":
		return true
	}
	return false
}

// cluster parses one argument of single-letter options (without its
// "-"); next returns the following argument, for an option whose value
// is not attached.
func (o *sendmailOptions) cluster(s string, next func() (string, bool)) error {
	for j := 0; j < len(s); j++ {
		c := s[j]
		switch c {
		case 't':
			o.fromHeaders = true
			continue
		case 'i':
			o.ignoreDots = true
			continue
		case 'v':
			o.verbose = true
			continue
		case 'm', 'n', 'U', 'G', 'c', 's', 'x':
			// me too, no aliasing, initial submission, gateway, and other
			// switches that mean nothing for a queue.
			continue
		case 'q':
			return fmt.Errorf("-%s (run the queue) is not supported: outbox serve delivers continuously; see outbox ls and outbox retry", s[j:])
		}
		if !strings.ContainsRune("frFobOBNRVhLCXepdM", rune(c)) {
			return fmt.Errorf("unknown option -%c", c)
		}
		value := s[j+1:]
		if value == "" {
			v, ok := next()
			if !ok {
				return fmt.Errorf("option -%c needs a value", c)
			}
			value = v
		}
		return o.valued(c, value)
	}
	return nil
}

// valued applies option -c with its value.
func (o *sendmailOptions) valued(c byte, value string) error {
	switch c {
	case 'f', 'r':
		o.sender, o.senderSet = value, true
	case 'F':
		o.fullName = value
	case 'o':
		// -oi is -i; -oem, -odi, -odb, -oQ... are modes of a local MTA.
		if value == "i" {
			o.ignoreDots = true
		}
	case 'b':
		return o.mode(value)
	}
	// -O option=value, -B body type, -N DSN notify, -R DSN return, -V
	// envelope id, -h hop count, -L log label, -C config, -X log file, -e
	// error mode, -p protocol, -d debug, -M macro: accepted and ignored.
	return nil
}

// mode applies -bX.
func (o *sendmailOptions) mode(m string) error {
	switch m {
	case "m":
		return nil
	case "i":
		o.noop = true
		return nil
	case "s":
		return fmt.Errorf("-bs (SMTP on standard input) is not supported: connect to the SMTP listener of outbox serve (smtp_addr, default 127.0.0.1:2525)")
	case "d", "D":
		return fmt.Errorf("-b%s (daemon mode) is not supported: run outbox serve", m)
	case "p":
		return fmt.Errorf("-bp (print the queue) is not supported: use outbox ls")
	}
	return fmt.Errorf("-b%s is not supported: outbox sendmail only enqueues a message (-bm)", m)
}
