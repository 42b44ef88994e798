package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"os/user"
	"strings"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
)

// Exit codes of outbox sendmail: sendmail's, from sysexits.h, which
// callers such as cron, PHP and MTAs' clients understand.
const (
	exUsage    = 64 // EX_USAGE: bad command line
	exDataErr  = 65 // EX_DATAERR: bad message or address
	exIOErr    = 74 // EX_IOERR: standard input could not be read
	exTempFail = 75 // EX_TEMPFAIL: not queued now; try again later
	exNoPerm   = 77 // EX_NOPERM: the server refused the token
	exConfig   = 78 // EX_CONFIG: the configuration cannot be read
)

// sendmailFailure is an error with the exit code it stands for.
type sendmailFailure struct {
	code int
	err  error
	// retry says whether trying again soon may help.
	retry bool
}

func (f *sendmailFailure) Error() string { return f.err.Error() }
func (f *sendmailFailure) Unwrap() error { return f.err }

// fail returns a *sendmailFailure.
func fail(code int, format string, args ...any) error {
	return &sendmailFailure{code: code, err: fmt.Errorf(format, args...)}
}

// sendmailCmd is `outbox sendmail`, also run when the binary is invoked
// as sendmail: it enqueues the message on standard input and returns
// sendmail's exit code. Errors are printed on standard error; a message
// queued prints nothing, unless -v.
func sendmailCmd(ctx context.Context, e *env, args []string) int {
	err := sendmail(ctx, e, args)
	if err == nil {
		return exitOK
	}
	code := exTempFail
	var f *sendmailFailure
	if errors.As(err, &f) {
		code = f.code
	}
	fmt.Fprintf(e.stderr, "outbox sendmail: %v\n", err)
	if code == exUsage {
		fmt.Fprintf(e.stderr, "Run \"outbox help sendmail\" for usage.\n")
	}
	return code
}

// sendmail does the work of sendmailCmd.
func sendmail(ctx context.Context, e *env, args []string) error {
	o, err := parseSendmailArgs(args)
	if err != nil {
		return &sendmailFailure{code: exUsage, err: err}
	}
	if o.help {
		fmt.Fprintf(e.stdout, "usage: outbox sendmail [-t] [-i] [-f sender] [-F name] [RECIPIENT...]\n\n%s", longHelp("sendmail"))
		return nil
	}
	if o.noop {
		return nil
	}
	cfg, err := loadConfig(orDefault(o.config, e.getenv("OUTBOX_CONFIG")), o.profile, e.getenv)
	if err == nil {
		err = errors.Join(cfg.validateProfile()...)
	}
	if err != nil {
		return fail(exConfig, "%v", err)
	}
	domain := cfg.hostname()

	var rcpts []string
	for _, arg := range o.recipients {
		list, err := parseRecipientList(arg, domain)
		if err != nil {
			return fail(exUsage, "recipient: %v", err)
		}
		rcpts = append(rcpts, list...)
	}
	if len(rcpts) == 0 && !o.fromHeaders {
		return fail(exUsage, "no recipients: give them as arguments, or -t to read them from the To, Cc and Bcc fields")
	}

	raw, err := readSendmailInput(e.stdin, o.ignoreDots, cfg.MaxMessageSize)
	switch {
	case errors.Is(err, errTooLarge):
		return fail(exDataErr, "the message is larger than max_message_size (%d bytes)", cfg.MaxMessageSize)
	case err != nil:
		return fail(exIOErr, "read standard input: %v", err)
	}
	raw = stripMboxFrom(raw)
	fields := parseHeader(raw)

	if o.fromHeaders {
		for _, name := range []string{"To", "Cc", "Bcc"} {
			for _, v := range values(fields, name) {
				list, err := parseRecipientList(v, domain)
				if err != nil {
					return fail(exDataErr, "%s field: %v", name, err)
				}
				rcpts = append(rcpts, list...)
			}
		}
		if len(rcpts) == 0 {
			return fail(exDataErr, "no recipients: the message has no To, Cc or Bcc field, and none were given as arguments")
		}
	}

	sender, err := envelopeSender(o, fields, domain, e.getenv)
	if err != nil {
		return err
	}
	author := mail.Address{Name: o.fullName, Address: sender}
	if sender == "" {
		author.Address = defaultSender(domain, e.getenv)
	}
	// Blind copies stay blind: the envelope alone carries them.
	raw = removeHeader(addFrom(raw, fields, author), "Bcc", "Resent-Bcc")
	raw = qualifyHeader(raw, domain)

	m := &outbox.Message{Raw: raw, From: outbox.Address{Addr: sender}, IdempotencyKey: newSendmailKey()}
	for _, r := range dedupe(rcpts) {
		if err := outbox.ValidateAddr(r); err != nil {
			return fail(exDataErr, "recipient: %v", err)
		}
		m.To = append(m.To, outbox.Address{Addr: r})
	}

	server := orDefault(o.server, orDefault(e.getenv("OUTBOX_URL"), serverURL(cfg.HTTPAddr)))
	token := orDefault(o.token, e.getenv("OUTBOX_TOKEN"))
	if token == "" && len(cfg.APITokens) > 0 {
		token = cfg.APITokens[0]
	}
	known, route, err := cfg.routing()
	if err != nil {
		return fail(exConfig, "%v", err)
	}
	s := &submitter{
		api:      httpapi.NewClient(server, token, &http.Client{Timeout: sendmailHTTPTimeout}),
		server:   server,
		dataDir:  orDefault(o.dataDir, cfg.DataDir),
		known:    known,
		route:    route,
		retryFor: sendmailRetryFor,
	}
	q, err := s.submit(ctx, m)
	if err != nil {
		return err
	}
	if o.verbose {
		where := "by the server at " + server
		if q.local {
			where = "in " + s.dataDir + " (no server answered: outbox serve delivers it when it starts)"
		}
		fmt.Fprintf(e.stdout, "queued as %d %s %s\n", q.receipt.ID, q.receipt.MessageID, where)
	}
	return nil
}

// envelopeSender is -f, else the From field's address, else the user at
// this host. "-f <>" and an empty -f are the null sender.
func envelopeSender(o sendmailOptions, fields []headerField, domain string, getenv func(string) string) (string, error) {
	if o.senderSet {
		s := strings.TrimSpace(o.sender)
		if s == "" || s == "<>" {
			return "", nil
		}
		a, err := parseMailbox(s, domain)
		if err != nil {
			return "", fail(exUsage, "-f: %v", err)
		}
		if err := outbox.ValidateAddr(a.Address); err != nil {
			return "", fail(exUsage, "-f: %v", err)
		}
		return a.Address, nil
	}
	if from := values(fields, "From"); len(from) > 0 {
		list, err := parseRecipientList(from[0], domain)
		if err == nil && len(list) > 0 && outbox.ValidateAddr(list[0]) == nil {
			return list[0], nil
		}
	}
	return defaultSender(domain, getenv), nil
}

// defaultSender is the invoking user at domain: LOGNAME, else USER, else
// the account of the process.
func defaultSender(domain string, getenv func(string) string) string {
	name := orDefault(getenv("LOGNAME"), getenv("USER"))
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name == "" || outbox.ValidateAddr(name+"@"+domain) != nil {
		name = "nobody"
	}
	return name + "@" + domain
}

// serverURL is the URL of the API listening on the http_addr addr, as
// seen from this machine.
func serverURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return defaultServer
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// newSendmailKey returns a random idempotency key, so that a message
// sent again after a lost answer is not queued twice.
func newSendmailKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "sendmail-" + hex.EncodeToString(b)
}

// dedupe returns list without repeats, in order, comparing addresses
// without regard to case.
func dedupe(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := list[:0:0]
	for _, a := range list {
		k := strings.ToLower(a)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}
