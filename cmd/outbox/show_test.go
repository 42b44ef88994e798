package main

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestPrintRecordVia: the attempt log names the backend each leg's answer
// came through, and marks the answers that failed over to the next one
// and those after which the upstream may have taken the message.
func TestPrintRecordVia(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := &outbox.Record{
		ID: 7, Status: outbox.StatusSent, From: "app@example.com", Backend: "default",
		Recipients: []outbox.Recipient{{Addr: "a@example.net", Leg: "0", Status: outbox.RecipientSent}},
		AttemptLog: []outbox.Attempt{{
			At: at, Backend: "default", Duration: 12 * time.Millisecond, Class: outbox.ClassAccepted,
			Recipients: []outbox.RecipientResult{
				{Addr: "a@example.net", Leg: "0", Class: outbox.ClassTemporary, Via: "smtp://primary.example:587",
					FailedOver: true, Reply: outbox.Reply{Code: 421, Text: "busy"}},
				{Addr: "a@example.net", Leg: "0", Class: outbox.ClassAccepted, Via: "smtp://fallback.example:587",
					Reply: outbox.Reply{Code: 250, Text: "ok"}},
			},
		}, {
			At: at, Backend: "default", Duration: time.Second, Class: outbox.ClassTemporary,
			Recipients: []outbox.RecipientResult{
				{Addr: "b@example.net", Class: outbox.ClassTemporary, Via: "smtp://primary.example:587",
					Uncertain: true, Reply: outbox.Reply{Text: "end of data: EOF"}},
			},
		}},
	}
	var out bytes.Buffer
	if err := printRecord(&out, rec); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`a@example\.net\s+temporary\s+\[0\] via smtp://primary\.example:587 failed over 421`,
		`a@example\.net\s+accepted\s+\[0\] via smtp://fallback\.example:587 250`,
		`b@example\.net\s+temporary\s+via smtp://primary\.example:587 uncertain end of data: EOF`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output does not match %s:\n%s", want, out.String())
		}
	}
}
