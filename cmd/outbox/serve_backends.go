package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend"
	"github.com/outboxmail/outbox/backend/limit"
	"github.com/outboxmail/outbox/backend/redirect"
)

// openBackends builds the backends of cfg, each named one once, and the
// router of its [[routes]]. Nothing connects. Under the staging profile
// every URL's backend redirects its recipients. An error (a malformed
// expression, an unknown scheme or name, a cycle) points at the problem
// by backend name and column, without passwords.
func openBackends(cfg Config) (*backend.Set, *backend.Router, error) {
	sch := schemes(cfg)
	if cfg.Redirect != nil {
		sch = redirect.Wrap(sch, *cfg.Redirect)
	}
	set, err := backend.NewSet(backend.SetConfig{
		Named:   cfg.named(),
		Schemes: sch,
		Wrap:    wrapLimits(cfg.Limits),
	})
	if err != nil {
		return nil, nil, err
	}
	router, err := backend.NewRouter(cfg.Routes, set.Has)
	if err != nil {
		set.Close()
		return nil, nil, fmt.Errorf("routes: %w", err)
	}
	return set, router, nil
}

// wrapLimits returns the backend.SetConfig Wrap that puts every named
// backend behind its [limits.NAME], or behind no limit at all when it has
// no section: throttling answers still slow it down.
func wrapLimits(limits map[string]limit.Config) func(string, outbox.Backend) (outbox.Backend, error) {
	return func(name string, b outbox.Backend) (outbox.Backend, error) {
		lc := limits[name]
		lc.Name = name
		l, err := limit.New(b, lc)
		if err != nil {
			return nil, fmt.Errorf("limits.%s: %w", name, err)
		}
		return l, nil
	}
}

// redactBackend hides the passwords of the URLs in a backend expression,
// for logs.
func redactBackend(expr string) string {
	var b strings.Builder
	tok := func(s string) {
		if strings.Contains(s, "@") {
			if u, err := url.Parse(s); err == nil {
				s = u.Redacted()
			} else {
				s = "(unparsable)"
			}
		}
		b.WriteString(s)
	}
	start := 0
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case ' ', '\t', '\r', '\n', '(', ')':
			tok(expr[start:i])
			b.WriteByte(expr[i])
			start = i + 1
		}
	}
	tok(expr[start:])
	return b.String()
}
