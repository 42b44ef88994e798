package main

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMessageIDRoundTrip(t *testing.T) {
	for _, phase := range []string{"http-single-outbox", "delivery1000000-outbox", "smtp-peer"} {
		id := messageID(phase, 42)
		got, ok := phaseOf(id)
		if !ok || got != phase {
			t.Errorf("phaseOf(%s) = %q, %v; want %q", id, got, ok, phase)
		}
	}
	for _, id := range []string{"", "<1.x@example.com>", "<nodot@bench.invalid>", "1.x@bench.invalid"} {
		if p, ok := phaseOf(id); ok {
			t.Errorf("phaseOf(%q) = %q, want no phase", id, p)
		}
	}
}

func TestJSONMessageIsValid(t *testing.T) {
	sent := time.Unix(1700000000, 5)
	for _, sendAt := range []time.Time{{}, sent.Add(time.Hour)} {
		b := appendJSONMessage(nil, messageID("p", 1), sent, sendAt)
		var m struct {
			MessageID string            `json:"message_id"`
			Headers   map[string]string `json:"headers"`
			SendAt    string            `json:"send_at"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if m.MessageID != "<1.p@bench.invalid>" || m.Headers["X-Bench-Sent"] != "1700000000000000005" {
			t.Errorf("decoded %+v", m)
		}
		if (m.SendAt != "") != !sendAt.IsZero() {
			t.Errorf("send_at %q for %v", m.SendAt, sendAt)
		}
	}
}

func TestBenchHeaders(t *testing.T) {
	sent := time.Unix(1700000000, 0)
	raw := appendRawMessage(nil, messageID("smtp-outbox", 7), sent)
	raw = append([]byte("Received: from peer\r\n\tby sink; Tue, 1 Jan 2030\r\n"), raw...)
	id, ns := benchHeaders(raw)
	if id != "<7.smtp-outbox@bench.invalid>" || ns != sent.UnixNano() {
		t.Errorf("benchHeaders = %q, %d", id, ns)
	}
}

func TestRenderSpeed(t *testing.T) {
	if d := renderSpeed(); d <= 0 || d > time.Second {
		t.Errorf("renderSpeed = %v, want a positive time per render", d)
	}
}
