package backend_test

import (
	"strings"
	"testing"

	"github.com/outboxmail/outbox/backend"
)

// FuzzParse: no expression makes Parse panic, and a password written in a
// URL's user information never shows in an error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"memory:",
		"fanout(relay debug)",
		"fanout(failover(smtp://u:hunter22@a smtp://b) memory:)?require=all",
		"roundrobin(memory: null:)?weights=3,1",
		"chaos(relay)?temp=0.2&perm=0.05&latency=200ms&drop_after_data=0.01",
		"fanout(relay debug",
		"fanout(relay debug))",
		"a",
		"fanout()",
		"smtp://u:hunter22@[::1",
	} {
		f.Add(s)
	}
	named := map[string]string{
		"relay": "smtp://u:hunter22@relay.example.com",
		"debug": "memory:",
		"a":     "fanout(b)",
		"b":     "a",
	}
	f.Fuzz(func(t *testing.T, expr string) {
		b, err := backend.Parse(expr, named, testSchemes())
		if err != nil {
			if b != nil {
				t.Errorf("Parse(%q) returned a backend with its error", expr)
			}
			// The password of the named relay, and any password in expr
			// that appears nowhere else in it.
			msg := err.Error()
			if strings.Contains(msg, "hunter22") && !strings.Contains(strings.ReplaceAll(expr, "://u:hunter22@", ""), "hunter22") {
				t.Errorf("Parse(%q): error %q shows a password", expr, msg)
			}
			return
		}
		b.Close()
	})
}
