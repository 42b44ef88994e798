package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
)

// defaultServer is the API address the client commands use by default:
// serve's default http_addr.
const defaultServer = "http://127.0.0.1:8025"

// parseArgs parses flags wherever they appear among the arguments, so that
// "outbox show 42 --json" works, and returns the positional arguments.
// Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ", ") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// addressList is a repeatable flag of comma-separated addresses, each
// "Name <local@domain>" or "local@domain".
type addressList []outbox.Address

func (l *addressList) String() string {
	parts := make([]string, len(*l))
	for i, a := range *l {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

func (l *addressList) Set(v string) error {
	list, err := outbox.ParseAddressList(v)
	if err != nil {
		return err
	}
	*l = append(*l, list...)
	return nil
}

// clientFlags adds --server and --token to a client command and returns a
// function that builds the API client once flags are parsed. The
// environment is read then, so that a token never shows in the help.
func clientFlags(fs *flag.FlagSet, e *env) func() *httpapi.Client {
	server := fs.String("server", "", "Outbox API base `URL` (env OUTBOX_URL; default "+defaultServer+")")
	token := fs.String("token", "", "API bearer `token` (env OUTBOX_TOKEN)")
	return func() *httpapi.Client {
		url := orDefault(*server, orDefault(e.getenv("OUTBOX_URL"), defaultServer))
		tok := orDefault(*token, e.getenv("OUTBOX_TOKEN"))
		return httpapi.NewClient(url, tok, &http.Client{Timeout: time.Minute})
	}
}

// orDefault returns v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// explain adds a hint on how to fix the usual client-side failures.
func explain(err error, cmd string) error {
	var (
		apiErr *httpapi.Error
		netErr *net.OpError
	)
	switch {
	case errors.As(err, &apiErr) && apiErr.Code == httpapi.CodeUnauthorized:
		return fmt.Errorf("%w (give the token with --token or OUTBOX_TOKEN)", err)
	case errors.As(err, &netErr) && cmd != "serve":
		return fmt.Errorf("%w (is outbox serve running there? set the address with --server or OUTBOX_URL)", err)
	}
	return err
}
