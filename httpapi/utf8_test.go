package httpapi

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestUTF8Reader(t *testing.T) {
	valid := `{"subject":"Café ✓ 😀 ß"}`
	for name, src := range map[string]io.Reader{
		"whole":       strings.NewReader(valid),
		"byte a read": iotest.OneByteReader(strings.NewReader(valid)),
		"half a read": iotest.HalfReader(strings.NewReader(valid)),
	} {
		got, err := io.ReadAll(&utf8Reader{r: src})
		if err != nil || string(got) != valid {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	for _, tc := range []struct {
		body string
		at   string
	}{
		{"{\"subject\":\"Caf\xe9\"}", "at byte 15"},
		{"{\"subject\":\"\xff\"}", "at byte 12"},
		{"{\"subject\":\"\xed\xa0\x80\"}", "at byte 12"}, // a surrogate
		{"{\"subject\":\"cut \xe2\x9c", "at byte 16"},    // the body ends in a character
	} {
		for name, src := range map[string]io.Reader{
			"whole":       strings.NewReader(tc.body),
			"byte a read": iotest.OneByteReader(strings.NewReader(tc.body)),
		} {
			_, err := io.ReadAll(&utf8Reader{r: src})
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeMalformedJSON || !strings.Contains(e.Message, tc.at) {
				t.Errorf("%q, %s: %v, want malformed_json %s", tc.body, name, err, tc.at)
			}
		}
	}
}
