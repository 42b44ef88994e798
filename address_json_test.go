package outbox

import (
	"encoding/json"
	"testing"
)

// TestPlainJSONString: the shortcut takes a JSON string as it is only
// when decoding it would give the same text, and leaves the rest to
// encoding/json.
func TestPlainJSONString(t *testing.T) {
	tests := []struct {
		in    string
		plain bool
	}{
		{`"ann@example.com"`, true},
		{`"Ann Smith <ann@example.com>"`, true},
		{`"Zoë <zoe@example.com>"`, true},
		{`""`, true},
		{`"ann\u0040example.com"`, false},
		{`"Ann \"A\" <ann@example.com>"`, false},
		{`"a\\b@example.com"`, false},
		{"\"tab\there@example.com\"", false},
		{"\"bad\xffutf8@example.com\"", false},
		{`"unterminated`, false},
		{`ann@example.com`, false},
		{`"a"b"`, false},
	}
	for _, tt := range tests {
		got, ok := plainJSONString([]byte(tt.in))
		if ok != tt.plain {
			t.Errorf("plainJSONString(%q): ok %v, want %v", tt.in, ok, tt.plain)
			continue
		}
		if !ok {
			continue
		}
		var want string
		if err := json.Unmarshal([]byte(tt.in), &want); err != nil || got != want {
			t.Errorf("plainJSONString(%q) = %q; encoding/json gives %q (%v)", tt.in, got, want, err)
		}
	}

	// Through UnmarshalJSON, escaped and plain spellings of one address
	// decode alike.
	var a, b Address
	if err := a.UnmarshalJSON([]byte(`"Ann <ann@example.com>"`)); err != nil {
		t.Fatal(err)
	}
	if err := b.UnmarshalJSON([]byte(`"Ann \u003cann@example.com\u003e"`)); err != nil {
		t.Fatal(err)
	}
	if a != b || a.Name != "Ann" || a.Addr != "ann@example.com" {
		t.Errorf("plain %+v, escaped %+v: want both {Ann ann@example.com}", a, b)
	}
}

// TestAddressQuotedLocalPart: net/mail gives a quoted local part without
// its quotes; the string form keeps them, as the object form does, so
// that the address stays valid.
func TestAddressQuotedLocalPart(t *testing.T) {
	for _, tt := range []struct{ in, name, addr string }{
		{`"\"quoted local\"@example.com"`, "", `"quoted local"@example.com`},
		{`"\"john..doe\"@example.com"`, "", `"john..doe"@example.com`},
		{`"Q <\"a b\"@example.com>"`, "Q", `"a b"@example.com`},
		{`"Jörg <jörg@example.com>"`, "Jörg", "jörg@example.com"},
		{`"<user@[192.0.2.1]>"`, "", "user@[192.0.2.1]"},
	} {
		var a Address
		if err := a.UnmarshalJSON([]byte(tt.in)); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if a.Name != tt.name || a.Addr != tt.addr {
			t.Errorf("%s: got {%q %q}, want {%q %q}", tt.in, a.Name, a.Addr, tt.name, tt.addr)
		}
		if err := a.Validate(); err != nil {
			t.Errorf("%s: %v", tt.in, err)
		}
	}
}
