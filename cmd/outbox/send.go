package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/outboxmail/outbox"
)

// sendFlags are the flags of `outbox send`.
type sendFlags struct {
	from                 addressList
	to, cc, bcc, replyTo addressList
	subject, text, html  string
	attach, headers      stringList
	tags                 stringList
	priority             string
	backend              string
	sendAt               string
	idempotencyKey       string
	json                 bool
}

// sendCmd defines the flags of `outbox send` and returns the command.
func sendCmd(fs *flag.FlagSet, e *env) func(ctx context.Context, args []string) error {
	var f sendFlags
	fs.Var(&f.from, "from", "author `address`, and the envelope sender")
	fs.Var(&f.to, "to", "recipient `address`es, comma-separated (repeatable)")
	fs.Var(&f.cc, "cc", "Cc `address`es (repeatable)")
	fs.Var(&f.bcc, "bcc", "Bcc `address`es (repeatable)")
	fs.Var(&f.replyTo, "reply-to", "Reply-To `address`es (repeatable)")
	fs.StringVar(&f.subject, "subject", "", "subject")
	fs.StringVar(&f.text, "text", "", "plain text `body`")
	fs.StringVar(&f.html, "html", "", "HTML `body`")
	fs.Var(&f.attach, "attach", "attach `file` (repeatable)")
	fs.Var(&f.headers, "header", "extra header `\"Name: value\"` (repeatable)")
	fs.StringVar(&f.priority, "priority", "", "`priority`: high, normal or low")
	fs.StringVar(&f.backend, "backend", "", "backend `name` (default: the server's default backend)")
	fs.Var(&f.tags, "tag", "`tag` (repeatable)")
	fs.StringVar(&f.sendAt, "send-at", "", "deliver at this RFC 3339 `time`, or after this duration (e.g. 10m)")
	fs.StringVar(&f.idempotencyKey, "idempotency-key", "", "`key` that makes a repeated send return the first message")
	fs.BoolVar(&f.json, "json", false, "print the receipt as JSON")
	client := clientFlags(fs, e)
	return func(ctx context.Context, args []string) error {
		for _, a := range args {
			if err := f.to.Set(a); err != nil {
				return usagef("recipient %s", err)
			}
		}
		m, err := f.message(e.stdin)
		if err != nil {
			return err
		}
		rc, err := client().Send(ctx, m)
		if err != nil {
			return err
		}
		if f.json {
			return writeJSON(e.stdout, rc)
		}
		note := ""
		if rc.Existing {
			note = " (existing: the idempotency key matched)"
		}
		_, err = fmt.Fprintf(e.stdout, "%d %s %s%s\n", rc.ID, rc.MessageID, rc.Status, note)
		return err
	}
}

// message builds the message to send: from the flags, or from a raw
// message on stdin when no body flag is given and stdin is not a terminal.
func (f *sendFlags) message(stdin io.Reader) (*outbox.Message, error) {
	m := &outbox.Message{
		Backend:        f.backend,
		Tags:           f.tags,
		IdempotencyKey: f.idempotencyKey,
	}
	var err error
	if m.Priority, err = outbox.ParsePriority(f.priority); err != nil {
		return nil, usagef("--priority: %v", err)
	}
	if m.SendAt, err = parseSendAt(f.sendAt, time.Now()); err != nil {
		return nil, err
	}
	if len(f.from) > 1 {
		return nil, usagef("--from: give one address, got %d", len(f.from))
	}
	if len(f.from) == 1 {
		m.From = f.from[0]
	}
	structured := f.text != "" || f.html != "" || len(f.attach) > 0
	if !structured && !isTerminal(stdin) {
		return f.rawMessage(m, stdin)
	}
	if !structured {
		return nil, usagef("nothing to send: give --text, --html or --attach, or pipe an RFC 5322 message on stdin")
	}
	if len(f.to)+len(f.cc)+len(f.bcc) == 0 {
		return nil, usagef("no recipient: give --to (or --cc, --bcc)")
	}
	m.To, m.Cc, m.Bcc, m.ReplyTo = f.to, f.cc, f.bcc, f.replyTo
	m.Subject, m.Text, m.HTML = f.subject, f.text, f.html
	for _, h := range f.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, usagef("--header %q: want \"Name: value\"", h)
		}
		if m.Headers == nil {
			m.Headers = map[string]string{}
		}
		m.Headers[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	for _, path := range f.attach {
		a, err := attachment(path)
		if err != nil {
			return nil, err
		}
		m.Attachments = append(m.Attachments, a)
	}
	return m, nil
}

// rawMessage reads a raw message from stdin. The envelope is --from and
// --to; without --to, the recipients are those of the To, Cc and Bcc
// headers (and the Bcc header is removed), and without --from the sender
// is the From header's address.
func (f *sendFlags) rawMessage(m *outbox.Message, stdin io.Reader) (*outbox.Message, error) {
	if f.subject != "" || len(f.cc)+len(f.bcc)+len(f.replyTo)+len(f.headers) > 0 {
		return nil, usagef("--subject, --cc, --bcc, --reply-to and --header do not apply to a raw message on stdin")
	}
	raw, err := io.ReadAll(stdin)
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, usagef("stdin is empty: pipe an RFC 5322 message, or give --text or --html")
	}
	env, err := envelopeFromHeaders(raw)
	if err != nil {
		return nil, err
	}
	if len(f.from) == 0 {
		m.From = outbox.Address{Addr: env.from}
	} else {
		m.From = outbox.Address{Addr: f.from[0].Addr}
	}
	if len(f.to) > 0 {
		for _, a := range f.to {
			m.To = append(m.To, outbox.Address{Addr: a.Addr})
		}
	} else {
		if len(env.to) == 0 {
			return nil, fmt.Errorf("no recipient: give --to, or To, Cc or Bcc headers in the message")
		}
		for _, addr := range env.to {
			m.To = append(m.To, outbox.Address{Addr: addr})
		}
		raw = removeHeader(raw, "Bcc", "Resent-Bcc")
	}
	m.Raw = raw
	return m, nil
}

// attachment reads a file to attach; its type comes from the extension,
// else from its content.
func attachment(path string) (outbox.Attachment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return outbox.Attachment{}, fmt.Errorf("--attach: %w", err)
	}
	ct := mime.TypeByExtension(filepath.Ext(path))
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	return outbox.Attachment{Filename: filepath.Base(path), ContentType: ct, Content: data}, nil
}

// parseSendAt parses --send-at: an RFC 3339 time, or a duration from now.
func parseSendAt(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(d), nil
	}
	return time.Time{}, usagef("--send-at %q: want an RFC 3339 time (2006-01-02T15:04:05Z) or a duration (10m)", s)
}

// isTerminal reports whether r is an interactive terminal, from which a
// raw message is never read.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// writeJSON prints v as indented JSON, with < and > as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
