package main

import (
	"fmt"
	"strings"
)

// longHelp is the text a command's usage shows between its summary and
// its flags.
func longHelp(name string) string {
	switch name {
	case "serve":
		var b strings.Builder
		b.WriteString(`The configuration is read in layers, each overriding the one before:
the defaults, the TOML file (--config or OUTBOX_CONFIG), these environment
variables, then the flags below. No other variable is read, but for Go's
own (GOGC: serve's default is 400; GOMAXPROCS: twice the CPUs; see the
README).

`)
		for _, v := range envVars() {
			fmt.Fprintf(&b, "  %-33s %s\n", v.Name, v.Key)
		}
		b.WriteString(`
Listening on an address other than loopback requires api_tokens (HTTP),
and smtp_users or smtp_trusted_networks (SMTP). SMTP users are set in the
config file only ([[smtp_users]] name, password_hash, allowed_from); make
a password_hash with "outbox passwd". Without smtp_tls_cert and
smtp_tls_key, STARTTLS uses a self-signed development certificate kept in
the data directory (tls/dev-cert.pem).

Backends: backend (or [backends] default) delivers the messages that
choose none; [backends] names others (name = expression, e.g.
relay = "smtp://relay:587", default = "fanout(relay console:)"), chosen
per message (API field backend, SMTP header X-Outbox-Backend) or by the
first [[routes]] rule that matches (sender_domain, recipient_domain,
tag, backend). [limits.NAME] sets rate (e.g. ["20/s", "10000/d"]),
burst, max_concurrent, max_per_domain and recovery for a named backend.
--profile (OUTBOX_PROFILE) applies [profiles.development], [profiles.
staging] or [profiles.production] over the file; staging also needs
redirect_to (and may set allow), where every other recipient goes.

On SIGINT or SIGTERM, serve stops accepting and claiming; requests, SMTP
transactions and deliveries under way get 30 s in all to finish (a
delivery still running then goes back to the queue), and it exits.
`)
		return b.String()
	case "send":
		return `With --text, --html or --attach, send builds the message from the flags.
Without them, it reads a complete RFC 5322 message from standard input and
sends it unchanged; the envelope is --from and --to (or RECIPIENT
arguments), else the From, To, Cc and Bcc headers (the Bcc header is then
removed). It prints the queue id, the Message-ID and the status.
`
	case "sendmail":
		return `Reads a message on standard input and queues it, like sendmail: for cron
jobs, PHP's mail() and anything else that runs sendmail. Invoked under the
name sendmail (ln -s "$(command -v outbox)" /usr/sbin/sendmail), outbox
takes the same arguments without the word sendmail.

  RECIPIENT...   envelope recipients (a bare name gets @hostname)
  -t             also take recipients from the To, Cc and Bcc fields
  -i, -oi        a line with a single "." does not end the message
                 (without them it does, as in sendmail)
  -f ADDR        envelope sender (-r too; "<>" for none); default the
                 From field's address, else $LOGNAME@hostname
  -F NAME        display name of the From field added when there is none
  -v             print the queue id and where the message went
  -bm, -o*, -B, -N, -R, -V, -h, -L, -C, -X, -e, -p, -d, -M, -O, -m, -n,
  -U, -G, -c, -s, -x
                 accepted and ignored
  -bi            does nothing (Outbox has no aliases)
  -bs, -bd, -bp, -q and other modes are refused (exit 64)

  --server URL   Outbox API (env OUTBOX_URL; default from the config's
                 http_addr, else ` + defaultServer + `)
  --token TOKEN  API token (env OUTBOX_TOKEN; default the config's first
                 api_tokens entry)
  --config FILE  config file to read data_dir, http_addr, api_tokens and
                 hostname from (env OUTBOX_CONFIG)
  --data-dir DIR the server's data directory (env OUTBOX_DATA_DIR)
  --profile NAME the config's profile whose [[routes]] choose the backend
                 when the message is queued straight into the data
                 directory (env OUTBOX_PROFILE): name the one the server
                 runs with

A Bcc field is always removed; a From field is added when missing, and
Date and Message-ID are added by the queue. The message goes to the
server's API; when nothing listens there (connection refused) and the
data directory exists on this machine, it is queued straight into it, to
be delivered when outbox serve starts. While a server holds the data
directory without answering (starting or stopping) it retries for a few
seconds.

Exit codes (sysexits): 0 queued; 64 bad command line; 65 bad message or
address; 74 standard input unreadable; 75 not queued now, try again; 77
token refused; 78 bad configuration.
`
	case "passwd":
		return `From a terminal, the password is asked twice and not echoed; otherwise
the first line of standard input is the password. The hash goes in the
config file:

  [[smtp_users]]
  name = "helpdesk"
  password_hash = "$2a$10$..."
  allowed_from = ["help@example.com"]   # optional: the senders allowed

e.g. printf '%s\n' "$PASSWORD" | outbox passwd
`
	case "ls", "show", "retry", "cancel", "stats":
		return "The API is at --server (env OUTBOX_URL, default " + defaultServer + ");\n--token (env OUTBOX_TOKEN) is needed when the server has api_tokens.\n"
	}
	return ""
}
