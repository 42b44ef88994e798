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
variables, then the flags below. No other variable is read.

`)
		for _, v := range envVars() {
			fmt.Fprintf(&b, "  %-27s %s\n", v.Name, v.Key)
		}
		b.WriteString(`
Listening on an address other than loopback requires api_tokens (HTTP),
and smtp_users or smtp_trusted_networks (SMTP). SMTP users are set in the
config file only ([[smtp_users]] name, password_hash, allowed_from); make
a password_hash with "outbox passwd". Without smtp_tls_cert and
smtp_tls_key, STARTTLS uses a self-signed development certificate kept in
the data directory (tls/dev-cert.pem).
`)
		return b.String()
	case "send":
		return `With --text, --html or --attach, send builds the message from the flags.
Without them, it reads a complete RFC 5322 message from standard input and
sends it unchanged; the envelope is --from and --to (or RECIPIENT
arguments), else the From, To, Cc and Bcc headers (the Bcc header is then
removed). It prints the queue id, the Message-ID and the status.
`
	case "ls", "show", "retry", "cancel", "stats":
		return "The API is at --server (env OUTBOX_URL, default " + defaultServer + ");\n--token (env OUTBOX_TOKEN) is needed when the server has api_tokens.\n"
	}
	return ""
}
