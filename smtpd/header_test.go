package smtpd

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

func TestStripHeader(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		fields         []headerField
	}{{
		name: "nothing to remove",
		in:   "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
		want: "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n",
	}, {
		name: "folded Bcc in the middle",
		in:   "From: a\r\nBcc: x@example.com,\r\n y@example.com,\r\n\tz@example.com\r\nTo: b\r\n\r\nbody\r\n",
		want: "From: a\r\nTo: b\r\n\r\nbody\r\n",
	}, {
		name: "Bcc first and last, any case, Resent-Bcc",
		in:   "BCC: x\r\nFrom: a\r\nResent-Bcc: r\r\nTo: b\r\nbcc: y\r\n\r\nBcc: body\r\n",
		want: "From: a\r\nTo: b\r\n\r\nBcc: body\r\n",
	}, {
		name:   "obsolete blank before colon",
		in:     "From: a\r\nBcc  : x\r\nX-Outbox-Priority\t: high\r\n\r\n",
		want:   "From: a\r\n\r\n",
		fields: []headerField{{"X-Outbox-Priority", "high"}},
	}, {
		name:   "bare LF line endings",
		in:     "From: a\nX-Outbox-Tags: a,\n b\nBcc: x\nTo: b\n\nX-Outbox-Tags: body\n",
		want:   "From: a\nTo: b\n\nX-Outbox-Tags: body\n",
		fields: []headerField{{"X-Outbox-Tags", "a, b"}},
	}, {
		name: "control fields unfolded and trimmed",
		in:   "X-Outbox-Send-At:  2030-01-02T03:04:05Z \r\nx-outbox-idempotency-key: k\r\n  1\r\nSubject: s\r\n\r\n",
		want: "Subject: s\r\n\r\n",
		fields: []headerField{
			{"X-Outbox-Send-At", "2030-01-02T03:04:05Z"},
			{"x-outbox-idempotency-key", "k  1"},
		},
	}, {
		name: "no empty line: the header runs to the end",
		in:   "From: a\r\nBcc: x",
		want: "From: a\r\n",
	}, {
		name: "a non-field line ends the header",
		in:   "From: a\r\nthis is body\r\nBcc: kept@example.com\r\n",
		want: "From: a\r\nthis is body\r\nBcc: kept@example.com\r\n",
	}, {
		name: "mbox From line is not a field",
		in:   "From a@example.com Mon Jan  2 15:04:05 2006\r\nBcc: x\r\n",
		want: "From a@example.com Mon Jan  2 15:04:05 2006\r\nBcc: x\r\n",
	}, {
		name: "continuation without a field is body",
		in:   " leading blank\r\nBcc: x\r\n",
		want: " leading blank\r\nBcc: x\r\n",
	}, {
		name: "empty field name",
		in:   ": no name\r\nBcc: x\r\n",
		want: ": no name\r\nBcc: x\r\n",
	}, {
		name: "empty message",
		in:   "",
		want: "",
	}, {
		name: "CR alone does not end a line",
		in:   "Subject: a\rBcc: x\r\nFrom: b\r\n\r\n",
		want: "Subject: a\rBcc: x\r\nFrom: b\r\n\r\n",
	}, {
		name:   "the redirect's list of original recipients is kept",
		in:     "X-Outbox-Original-Recipients: a@example.org,\r\n b@example.org\r\nx-outbox-tags: t\r\n\r\n",
		want:   "X-Outbox-Original-Recipients: a@example.org,\r\n b@example.org\r\n\r\n",
		fields: []headerField{{"x-outbox-tags", "t"}},
	}, {
		name: "prefix without the dash is an ordinary field",
		in:   "X-Outboxed: yes\r\nX-Outbox: no\r\n\r\n",
		want: "X-Outboxed: yes\r\nX-Outbox: no\r\n\r\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, fields := stripHeader([]byte("PREFIX\r\n"), []byte(tc.in))
			if want := "PREFIX\r\n" + tc.want; string(got) != want {
				t.Errorf("got\n%q\nwant\n%q", got, want)
			}
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("fields %q, want %q", fields, tc.fields)
			}
		})
	}
}

func TestApplyControls(t *testing.T) {
	var m outbox.Message
	err := applyControls(&m, []headerField{
		{"x-outbox-priority", "LOW"},
		{"X-Outbox-Send-At", "2030-01-02T03:04:05+02:00"},
		{"X-Outbox-Tags", " a ,, b"},
		{"X-OUTBOX-TAGS", "c"},
		{"X-Outbox-Backend", "relay"},
		{"X-Outbox-Idempotency-Key", "key 1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := outbox.Message{
		Priority:       outbox.PriorityLow,
		SendAt:         time.Date(2030, 1, 2, 1, 4, 5, 0, time.UTC),
		Tags:           []string{"a", "b", "c"},
		Backend:        "relay",
		IdempotencyKey: "key 1",
	}
	if m.Priority != want.Priority || !m.SendAt.Equal(want.SendAt) || !slices.Equal(m.Tags, want.Tags) ||
		m.Backend != want.Backend || m.IdempotencyKey != want.IdempotencyKey {
		t.Errorf("got %+v\nwant %+v", m, want)
	}

	for _, tc := range []struct {
		fields []headerField
		want   string
	}{
		{[]headerField{{"X-Outbox-Priority", "urgent"}}, "X-Outbox-Priority: unknown priority"},
		{[]headerField{{"X-Outbox-Send-At", "2030-01-02"}}, "X-Outbox-Send-At: \"2030-01-02\" is not an RFC 3339 time"},
		{[]headerField{{"X-Outbox-Backend", ""}}, "X-Outbox-Backend: empty value"},
		{[]headerField{{"X-Outbox-Backend", "a"}, {"x-outbox-backend", "b"}}, "X-Outbox-Backend: appears more than once"},
		{[]headerField{{"X-Outbox-Retries", "3"}}, "X-Outbox-Retries: unknown control field"},
		{[]headerField{{"X-Outbox-Idempotency-Key", "a\rb"}}, "X-Outbox-Idempotency-Key: value holds a control character"},
	} {
		err := applyControls(&outbox.Message{}, tc.fields)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q…", tc.fields, err, tc.want)
		}
	}
}

// FuzzHeaderRewrite checks stripHeader on any input: it removes whole
// lines only, leaves the body alone, leaves nothing it should have
// removed, and changes nothing when there is nothing to remove.
func FuzzHeaderRewrite(f *testing.F) {
	f.Add([]byte("From: a\r\nBcc: b,\r\n c\r\n\r\nbody\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		in := bytes.Clone(msg)
		out, fields := stripHeader(nil, msg)
		if !bytes.Equal(in, msg) {
			t.Fatal("input modified")
		}

		// Whole lines only, in order.
		inLines, outLines := splitLines(msg), splitLines(out)
		j := 0
		for _, l := range outLines {
			for j < len(inLines) && !bytes.Equal(inLines[j], l) {
				if !removable(inLines[j]) {
					t.Fatalf("line %q was removed", inLines[j])
				}
				j++
			}
			if j == len(inLines) {
				t.Fatalf("output line %q is not from the input", l)
			}
			j++
		}

		// In place, the same result.
		buf := append([]byte("Received: x\r\n"), msg...)
		inPlace, inPlaceFields := stripHeader(buf[:13], buf[13:])
		if !bytes.Equal(inPlace[13:], out) || !slices.Equal(inPlaceFields, fields) {
			t.Fatalf("in place: %q %q, want %q %q", inPlace[13:], inPlaceFields, out, fields)
		}

		// Nothing left to remove: a second pass is a no-op.
		again, more := stripHeader(nil, out)
		if !bytes.Equal(again, out) || len(more) != 0 {
			t.Fatalf("second pass removed %q more", more)
		}

		// No removal, no change; and the body is never touched.
		if len(out) == len(msg) && !bytes.Equal(out, msg) {
			t.Fatal("same length but different bytes")
		}
		if len(fields) > 0 && len(out) == len(msg) {
			t.Fatal("fields reported but nothing removed")
		}
		for _, f := range fields {
			if !strings.HasPrefix(strings.ToLower(f.Name), controlPrefix) {
				t.Fatalf("non-control field %q returned", f.Name)
			}
			if strings.Contains(f.Value, "\n") {
				t.Fatalf("value %q not unfolded", f.Value)
			}
		}
		if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
			body := msg[i+4:]
			if !bytes.HasSuffix(out, body) {
				t.Fatal("body changed")
			}
		}
	})
}

// splitLines splits b after each LF.
func splitLines(b []byte) [][]byte {
	l := bytes.SplitAfter(b, []byte("\n"))
	if len(l[len(l)-1]) == 0 {
		l = l[:len(l)-1]
	}
	return l
}

// removable reports whether a line could be one stripHeader removes: a
// Bcc or control field, or a continuation line.
func removable(line []byte) bool {
	if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		return true
	}
	name, _, ok := splitField(trimEOL(line))
	lower := strings.ToLower(name)
	return ok && (lower == "bcc" || lower == "resent-bcc" || strings.HasPrefix(lower, controlPrefix))
}
