package backend_test

import (
	"strings"
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend"
)

func TestRouter(t *testing.T) {
	known := func(n string) bool { return n == "bulk" || n == "internal" || n == "billing" }
	rt, err := backend.NewRouter([]backend.Rule{
		{Tag: "newsletter", Backend: "bulk"},
		{RecipientDomain: "corp.example.com", Backend: "internal"},
		{SenderDomain: "billing.example.com", Backend: "billing"},
	}, known)
	if err != nil {
		t.Fatal(err)
	}
	addr := func(s ...string) []outbox.Address {
		var out []outbox.Address
		for _, a := range s {
			out = append(out, outbox.Address{Addr: a})
		}
		return out
	}
	cases := []struct {
		name string
		m    outbox.Message
		want string
	}{
		{"explicit wins", outbox.Message{Backend: "billing", Tags: []string{"newsletter"}}, "billing"},
		{"tag, first match", outbox.Message{Tags: []string{"newsletter"}, To: addr("a@corp.example.com")}, "bulk"},
		{"all recipients internal", outbox.Message{To: addr("a@corp.example.com"), Bcc: addr("b@CORP.example.com")}, "internal"},
		{"one external recipient", outbox.Message{To: addr("a@corp.example.com"), Cc: addr("c@example.org")}, ""},
		{"sender domain", outbox.Message{From: outbox.Address{Addr: "x@Billing.Example.com"}, To: addr("c@example.org")}, "billing"},
		{"default", outbox.Message{From: outbox.Address{Addr: "x@example.com"}, To: addr("c@example.org")}, ""},
	}
	for _, tc := range cases {
		if got := rt.Route(&tc.m); got != tc.want {
			t.Errorf("%s: Route = %q, want %q", tc.name, got, tc.want)
		}
	}
	_, err = backend.NewRouter([]backend.Rule{{Backend: "bulk"}, {Tag: "x", Backend: "nope"}, {Tag: "y"}}, known)
	for _, w := range []string{"route 1: no condition", `route 2: unknown backend "nope"`, "route 3: no backend"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not say %q", err, w)
		}
	}
}

// A rule's domain may be written as allow lists take it, "@example.com";
// an address where a domain belongs is refused rather than never matching.
func TestRouterDomainForms(t *testing.T) {
	known := func(n string) bool { return n == "bulk" }
	rt, err := backend.NewRouter([]backend.Rule{
		{SenderDomain: "@news.example.com", Backend: "bulk"},
		{RecipientDomain: "@example.org", Tag: "t", Backend: "bulk"},
	}, known)
	if err != nil {
		t.Fatal(err)
	}
	m := outbox.Message{From: outbox.Address{Addr: "x@news.example.com"}}
	if got := rt.Route(&m); got != "bulk" {
		t.Errorf("sender_domain @news.example.com: Route = %q, want bulk", got)
	}
	m = outbox.Message{To: []outbox.Address{{Addr: "a@example.org"}}, Tags: []string{"t"}}
	if got := rt.Route(&m); got != "bulk" {
		t.Errorf("recipient_domain @example.org: Route = %q, want bulk", got)
	}
	_, err = backend.NewRouter([]backend.Rule{
		{SenderDomain: "news@example.com", Backend: "bulk"},
		{RecipientDomain: "@", Backend: "bulk"},
		{RecipientDomain: "@@example.org", Backend: "bulk"},
	}, known)
	for _, w := range []string{`route 1: sender_domain "news@example.com": want a domain`,
		`route 2: recipient_domain "@": want a domain`, `route 3: recipient_domain "@@example.org": want a domain`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not say %q", err, w)
		}
	}
}
