package outbox

import (
	"net/mail"
	"testing"
)

func TestSplitSimple(t *testing.T) {
	tests := []struct {
		in, name, addr string
		ok             bool
	}{
		{"ann@example.com", "", "ann@example.com", true},
		{"Ann Smith <ann.smith+tag@mail.example-shop.com>", "Ann Smith", "ann.smith+tag@mail.example-shop.com", true},
		{"o'brien@example.ie", "", "o'brien@example.ie", true},
		{"Shop <shop@example.com>", "Shop", "shop@example.com", true},
		// For net/mail.
		{"<ann@example.com>", "", "", false},
		{"Ann  Smith <ann@example.com>", "", "", false},
		{`"Ann, B." <ann@example.com>`, "", "", false},
		{"=?utf-8?q?J=C3=B6rg?= <j@example.com>", "", "", false},
		{"Dr. Ann <ann@example.com>", "", "", false},
		{"ann..b@example.com", "", "", false},
		{".ann@example.com", "", "", false},
		{"ann@example..com", "", "", false},
		{"ann@example.com.", "", "", false},
		{"ann@[192.0.2.1]", "", "", false},
		{`"john doe"@example.com`, "", "", false},
		{"用户@例子.广告", "", "", false},
		{"ann@exa_mple.com", "", "", false},
		{"ann@", "", "", false},
		{"@example.com", "", "", false},
		{"a@b@c", "", "", false},
		{"ann@example.com (Ann)", "", "", false},
	}
	for _, tt := range tests {
		name, addr, ok := splitSimple(tt.in)
		if name != tt.name || addr != tt.addr || ok != tt.ok {
			t.Errorf("splitSimple(%q) = %q, %q, %v; want %q, %q, %v", tt.in, name, addr, ok, tt.name, tt.addr, tt.ok)
		}
	}
}

// FuzzSplitSimple checks that what splitSimple accepts, net/mail parses
// to the same name and address, and ValidateAddr's general path accepts.
func FuzzSplitSimple(f *testing.F) {
	for _, s := range []string{"ann@example.com", "Ann Smith <ann@example.com>", "a.b-c@d-e.f",
		"x y <a@b>", "=?x <a@b>", "a?=@b", "{}|~@z9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, addr, ok := splitSimple(s)
		if !ok {
			return
		}
		p, err := mail.ParseAddress(s)
		if err != nil {
			t.Fatalf("splitSimple(%q) accepts what net/mail refuses: %v", s, err)
		}
		if p.Name != name || p.Address != addr {
			t.Fatalf("splitSimple(%q) = %q, %q; net/mail: %q, %q", s, name, addr, p.Name, p.Address)
		}
		if err := validateAddrSpec(addr); err != nil {
			t.Fatalf("splitSimple(%q) accepts an addr-spec the general check refuses: %v", s, err)
		}
	})
}
