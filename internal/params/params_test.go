package params

import (
	"net/url"
	"testing"
)

func TestSingle(t *testing.T) {
	got, err := Single(url.Values{"a": {"1"}, "b": {""}})
	if err != nil || len(got) != 2 || got["a"] != "1" || got["b"] != "" {
		t.Errorf("Single = %v, %v", got, err)
	}
	if _, err := Single(url.Values{"raw": {"true", "false"}}); err == nil || err.Error() != "parameter raw given 2 times" {
		t.Errorf("a repeated parameter gave %v", err)
	}
}

func TestAddressless(t *testing.T) {
	parse := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	got, err := Addressless(parse("memory:?max=10"), "memory", `"memory:"`)
	if err != nil || got["max"] != "10" {
		t.Errorf("memory:?max=10 = %v, %v", got, err)
	}
	for in, want := range map[string]string{
		"console:":            `scheme "console" is not memory`,
		"memory://host":       `a memory URL has no address or path: write "memory:"`,
		"memory:/var/x":       `a memory URL has no address or path: write "memory:"`,
		"memory:?max=1&max=2": "parameter max given 2 times",
	} {
		if _, err := Addressless(parse(in), "memory", `"memory:"`); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}
