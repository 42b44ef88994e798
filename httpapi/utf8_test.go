package httpapi

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestUTF8Reader(t *testing.T) {
	for _, valid := range []string{
		`{"subject":"Café ✓ 😀 ß"}`,
		// A whole pair, escaped backslashes (\\ud800 is no escape),
		// other escapes, and escapes outside the surrogates.
		`{"subject":"\uD83D\uDE00 \\ud800 \\\u0041 \n\"\\ \uFFFD \uE000"}`,
	} {
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
	}
	for _, tc := range []struct {
		body string
		at   string
	}{
		{"{\"subject\":\"Caf\xe9\"}", "at byte 15"},
		{"{\"subject\":\"\xff\"}", "at byte 12"},
		{"{\"subject\":\"\xed\xa0\x80\"}", "at byte 12"}, // a surrogate
		{"{\"subject\":\"cut \xe2\x9c", "at byte 16"},    // the body ends in a character
		// Escapes of half a surrogate pair, which encoding/json would
		// turn into U+FFFD.
		{`{"subject":"\ud800 lone"}`, `\uD800 (at byte 12)`},
		{`{"subject":"ok \udc00"}`, `\uDC00 (at byte 15)`},
		{`{"subject":"\uD83D\u0041"}`, `\uD83D (at byte 12)`},
		{`{"subject":"\uD83D\n"}`, `\uD83D (at byte 12)`},
		{`{"subject":"\uD83D\uD83D\uDE00"}`, `\uD83D (at byte 12)`},
		{`{"subject":"\uD83D"}`, `\uD83D (at byte 12)`},
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
