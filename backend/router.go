package backend

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/outboxmail/outbox"
)

// Rule routes the messages it matches to a named backend. Every condition
// given must hold; at least one must be given.
type Rule struct {
	// SenderDomain matches the envelope sender's domain (case-insensitive).
	SenderDomain string
	// RecipientDomain matches when every recipient (to, cc and bcc) is in
	// the domain (case-insensitive).
	RecipientDomain string
	// Tag matches a message with the tag.
	Tag string
	// Backend is the name of the backend chosen.
	Backend string
}

// Router chooses a backend for a message that names none: the first
// rule that matches, else the default.
type Router struct {
	rules []Rule
}

// NewRouter checks rules: each needs a condition and a backend that known
// reports (e.g. Set.Has), and its domains are domains, written with or
// without a leading "@" ("@example.com", as allow lists take them).
// Errors name the rule by its position, from 1.
func NewRouter(rules []Rule, known func(name string) bool) (*Router, error) {
	rules = slices.Clone(rules)
	var errs []error
	for i := range rules {
		r := &rules[i]
		var err error
		if r.SenderDomain, err = routeDomain("sender_domain", r.SenderDomain); err != nil {
			errs = append(errs, fmt.Errorf("route %d: %w", i+1, err))
			continue
		}
		if r.RecipientDomain, err = routeDomain("recipient_domain", r.RecipientDomain); err != nil {
			errs = append(errs, fmt.Errorf("route %d: %w", i+1, err))
			continue
		}
		switch {
		case r.SenderDomain == "" && r.RecipientDomain == "" && r.Tag == "":
			errs = append(errs, fmt.Errorf("route %d: no condition (sender_domain, recipient_domain or tag)", i+1))
		case r.Backend == "":
			errs = append(errs, fmt.Errorf("route %d: no backend", i+1))
		case known != nil && !known(r.Backend):
			errs = append(errs, fmt.Errorf("route %d: unknown backend %q", i+1, r.Backend))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Router{rules: rules}, nil
}

// routeDomain returns a rule's domain without its leading "@", or an
// error when it is an address or holds another "@".
func routeDomain(key, d string) (string, error) {
	bare := strings.TrimPrefix(d, "@")
	if strings.Contains(bare, "@") || d != "" && bare == "" {
		return "", fmt.Errorf("%s %q: want a domain, such as example.com", key, d)
	}
	return bare, nil
}

// Route returns the backend for m: m.Backend when set, else the first
// matching rule's, else "" (the default).
func (rt *Router) Route(m *outbox.Message) string {
	if m.Backend != "" || rt == nil {
		return m.Backend
	}
	for _, r := range rt.rules {
		if r.matches(m) {
			return r.Backend
		}
	}
	return ""
}

// matches reports whether every condition of r holds for m.
func (r Rule) matches(m *outbox.Message) bool {
	if r.SenderDomain != "" && !strings.EqualFold(domain(m.From.Addr), r.SenderDomain) {
		return false
	}
	if r.RecipientDomain != "" {
		n := 0
		for _, list := range [][]outbox.Address{m.To, m.Cc, m.Bcc} {
			for _, a := range list {
				if !strings.EqualFold(domain(a.Addr), r.RecipientDomain) {
					return false
				}
				n++
			}
		}
		if n == 0 {
			return false
		}
	}
	return r.Tag == "" || slices.Contains(m.Tags, r.Tag)
}

// domain returns the part of an address after its last "@".
func domain(addr string) string { return addr[strings.LastIndexByte(addr, '@')+1:] }
