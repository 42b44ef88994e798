package backend_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend"
	"github.com/outboxmail/outbox/backend/chaos"
	"github.com/outboxmail/outbox/backend/failover"
	"github.com/outboxmail/outbox/backend/fanout"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backend/null"
	"github.com/outboxmail/outbox/backend/roundrobin"
)

// testSchemes opens memory: and null: for real, and smtp: as a memory
// backend that checks nothing, so that URLs with passwords parse.
func testSchemes() backend.Schemes {
	mem := func(*url.URL) (outbox.Backend, error) { return memory.New(memory.Config{}), nil }
	return backend.Schemes{
		"memory": mem,
		"smtp":   mem,
		"null":   func(u *url.URL) (outbox.Backend, error) { return null.FromURL(u) },
	}
}

func TestParseBuilds(t *testing.T) {
	named := map[string]string{
		"relay": "failover(smtp://u:secret@a.example.com smtp://b.example.com)?cooldown=2m",
		"debug": "memory:",
		"both":  "fanout(relay debug)",
	}
	cases := []struct {
		expr string
		want any
	}{
		{"memory:", &memory.Backend{}},
		{"  null:  ", &null.Backend{}},
		{"debug", &memory.Backend{}},
		{"relay", &failover.Backend{}},
		{"both", &fanout.Backend{}},
		{"fanout(relay debug)?require=all", &fanout.Backend{}},
		{"roundrobin(memory: memory: null:)?weights=3,1,1", &roundrobin.Backend{}},
		{"chaos(relay)?temp=0.2&perm=0.05&latency=1ms&drop_after_data=0.01&seed=1", &chaos.Backend{}},
		{"fanout(failover(memory: null:)\tfanout(debug\nnull:))", &fanout.Backend{}},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			b, err := backend.Parse(tc.expr, named, testSchemes())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			defer b.Close()
			if got, want := typeName(b), typeName(tc.want); got != want {
				t.Errorf("Parse built a %s, want a %s", got, want)
			}
		})
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *memory.Backend:
		return "memory"
	case *null.Backend:
		return "null"
	case *fanout.Backend:
		return "fanout"
	case *failover.Backend:
		return "failover"
	case *roundrobin.Backend:
		return "roundrobin"
	case *chaos.Backend:
		return "chaos"
	}
	return "unknown"
}

func TestParseErrors(t *testing.T) {
	named := map[string]string{
		"relay": "smtp://u:secret@relay.example.com",
		"debug": "memory:",
		"a":     "fanout(b memory:)",
		"b":     "failover(null: c)",
		"c":     "a",
		"self":  "fanout(self)",
		"bad":   "fanout(memory: nope:)",
	}
	cases := []struct {
		expr string
		want []string // parts of the error
	}{
		{"", []string{"empty backend expression"}},
		{"fanout(relay debug", []string{`column 7: unbalanced parentheses: "(" is never closed`}},
		{"fanout(relay (debug))", []string{`column 14: "(" must follow`}},
		{"fanout(relay debug))", []string{`column 20: unbalanced parentheses: ")" has no "("`}},
		{")", []string{`column 1: unexpected ")"`}},
		{"fanout()", []string{"column 1: fanout() has no backend"}},
		{"chaos(relay debug)", []string{"column 1: chaos: chaos wraps exactly one backend, got 2"}},
		{"fanout(relai debug)", []string{`column 8: unknown backend "relai"`, "named backends: a, b, bad, c, debug, relay, self"}},
		{"fanout(debug smtpx://u:secret@x.example.com)", []string{"column 14:", `unknown scheme "smtpx"`, "known: memory, null, smtp", "u:xxxxx@"}},
		{"fanout(debug relay)?requir=all", []string{"column 1: fanout:", `unknown parameter "requir"`}},
		{"fanout(debug relay)?require=most", []string{`require="most" is not primary, all or any`}},
		{"failover(debug relay)?cooldown=soon", []string{`parameter cooldown: "soon"`}},
		{"roundrobin(debug relay)?weights=3", []string{"1 weights for 2 backends"}},
		{"chaos(debug)?temp=2", []string{"not a probability"}},
		{"fanout(debug relay)x", []string{`column 20: expected a blank or ")"`}},
		{"fanout(debug relay)?%zz", []string{"bad query"}},
		{"memory: null:", []string{"column 9: a second backend"}},
		{"fanot(debug)", []string{`column 1: "fanot(": unknown combinator`}},
		{"Relay", []string{`"Relay" is neither a backend name nor a URL`}},
		{"a", []string{"backend cycle: a → b → c → a"}},
		{"self", []string{"backend cycle: self → self"}},
		{"fanout(debug bad)", []string{`backend "bad" = "fanout(memory: nope:)": column 16: backend nope:: unknown scheme "nope"`}},
		{"fanout(smtp://u:secret@relay.example.com debug", []string{`"fanout(smtp://u:xxxxx@relay.example.com debug": column 7`}},
		// An unencoded "(" or ")" cuts the URL inside its password: no
		// piece of the password is shown.
		{"smtp://u:zq(xw@relay.example.com", []string{`"smtp://…(": unknown combinator`, "percent-encoded"}},
		{"fanout(debug smtp://u:zq(xw@relay.example.com)", []string{`"smtp://…(": unknown combinator`}},
		{"smtp://u:zq)xw@relay.example.com", []string{`"smtp://…"`, "percent-encode"}},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			b, err := backend.Parse(tc.expr, named, testSchemes())
			if err == nil {
				b.Close()
				t.Fatalf("Parse(%q) succeeded, want an error", tc.expr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "zq") {
				t.Errorf("error %q shows a password", err)
			}
		})
	}
}

func TestParseErrorTypes(t *testing.T) {
	_, err := backend.Parse("fanout(memory: x)", nil, testSchemes())
	var pe *backend.ParseError
	if !errors.As(err, &pe) || pe.Column != 16 || pe.Expr != "fanout(memory: x)" || pe.Name != "" {
		t.Errorf("error %#v, want a ParseError at column 16", err)
	}
	if !strings.Contains(err.Error(), "no backend is named") {
		t.Errorf("error %q does not say that no backend is named", err)
	}
	_, err = backend.Parse("a", map[string]string{"a": "b", "b": "a"}, testSchemes())
	var ce *backend.CycleError
	if !errors.As(err, &ce) || strings.Join(ce.Names, " ") != "a b a" {
		t.Errorf("error %#v, want a CycleError a b a", err)
	}
	for _, name := range []string{"Relay", "fanout", "9lives", "a b"} {
		if _, err := backend.Parse("memory:", map[string]string{name: "memory:"}, testSchemes()); err == nil {
			t.Errorf("the name %q was accepted", name)
		}
	}
}

func TestSetSharesNamedBackends(t *testing.T) {
	var opened int
	schemes := backend.Schemes{"memory": func(*url.URL) (outbox.Backend, error) {
		opened++
		return memory.New(memory.Config{}), nil
	}}
	var wrapped []string
	set, err := backend.NewSet(backend.SetConfig{
		Named: map[string]string{
			"default": "fanout(relay debug)",
			"relay":   "memory:",
			"debug":   "memory:",
			"archive": "failover(relay debug)",
		},
		Schemes: schemes,
		Wrap: func(name string, b outbox.Backend) (outbox.Backend, error) {
			wrapped = append(wrapped, name)
			return b, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if opened != 2 || len(wrapped) != 4 {
		t.Errorf("opened %d URLs and wrapped %v, want 2 URLs and 4 names", opened, wrapped)
	}
	relay, _ := set.Backend("relay")
	def, err := set.Backend("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := def.Send(context.Background(), &outbox.Envelope{From: "a@example.com", To: []string{"b@example.com"}, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if n := relay.(*memory.Backend).Len(); n != 1 {
		t.Errorf("the default fanout sent %d messages to the shared relay, want 1", n)
	}
	if !set.Has("") || !set.Has("archive") || set.Has("nope") {
		t.Error("Has is wrong")
	}
	if _, err := set.Backend("gone"); err == nil || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("Backend(gone) = %v, want an error naming it", err)
	}
	if strings.Join(set.Names(), ",") != "archive,debug,default,relay" {
		t.Errorf("Names() = %v", set.Names())
	}
	if err := set.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestSetErrors(t *testing.T) {
	_, err := backend.NewSet(backend.SetConfig{Named: map[string]string{"relay": "memory:"}, Schemes: testSchemes()})
	if err == nil || !strings.Contains(err.Error(), `no "default" backend`) {
		t.Errorf("no default: %v", err)
	}
	_, err = backend.NewSet(backend.SetConfig{Named: map[string]string{
		"default": "fanout(relay broken)",
		"relay":   "smtp://u:secret@relay.example.com",
		"broken":  "fanout(memory:",
		"other":   "nope:",
	}, Schemes: testSchemes()})
	if err == nil {
		t.Fatal("NewSet succeeded")
	}
	for _, w := range []string{`backend "broken" = "fanout(memory:": column 7: unbalanced`, `backend "other" = "nope:": column 1`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if strings.Count(err.Error(), "unbalanced") != 1 {
		t.Errorf("error %q reports the broken backend more than once", err)
	}
}
