package memory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

func envelope(id int64) *outbox.Envelope {
	return &outbox.Envelope{
		ID: id, MessageID: fmt.Sprintf("<%d@example.com>", id),
		From: "a@example.com", To: []string{"b@example.com", "c@example.com"},
		Data: []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", id)),
	}
}

func TestSendRecordsAndCopies(t *testing.T) {
	b := New(Config{})
	e := envelope(1)
	res, err := b.Send(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Class != outbox.ClassAccepted || res[1].Addr != "c@example.com" {
		t.Fatalf("results %+v", res)
	}
	// Changing the caller's envelope after Send changes nothing kept.
	e.To[0] = "changed@example.com"
	e.Data[0] = 'X'
	msgs := b.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "b@example.com" || msgs[0].Data[0] != 'S' || msgs[0].ID != 1 || msgs[0].MessageID != "<1@example.com>" {
		t.Fatalf("kept %+v", msgs)
	}
	// Changing what Messages returned changes nothing kept either.
	msgs[0].To[0] = "changed@example.com"
	msgs[0].Data[0] = 'X'
	if again := b.Messages(); again[0].To[0] != "b@example.com" || again[0].Data[0] != 'S' {
		t.Fatalf("Messages shares memory with the backend: %+v", again[0])
	}
	b.Reset()
	if b.Len() != 0 || len(b.Messages()) != 0 {
		t.Fatalf("Reset kept %d messages", b.Len())
	}
}

func TestMax(t *testing.T) {
	b := New(Config{Max: 3})
	for i := range 10 {
		if _, err := b.Send(context.Background(), envelope(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	msgs := b.Messages()
	if len(msgs) != 3 || msgs[0].ID != 7 || msgs[2].ID != 9 {
		t.Fatalf("kept %d messages, first id %d; want the newest 3", len(msgs), msgs[0].ID)
	}
}

func TestConcurrentSendAndWaitFor(t *testing.T) {
	b := New(Config{})
	const goroutines, each = 20, 25
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan []outbox.Envelope)
	go func() {
		msgs, err := b.WaitFor(ctx, goroutines*each)
		if err != nil {
			t.Error(err)
		}
		done <- msgs
	}()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if _, err := b.Send(ctx, envelope(int64(g*each+i))); err != nil {
					t.Error(err)
				}
				_ = b.Messages()
			}
		})
	}
	wg.Wait()
	msgs := <-done
	if len(msgs) != goroutines*each {
		t.Fatalf("WaitFor returned %d messages", len(msgs))
	}
	seen := map[int64]bool{}
	for _, m := range msgs {
		if seen[m.ID] {
			t.Fatalf("message %d kept twice", m.ID)
		}
		seen[m.ID] = true
	}
}

func TestWaitForTimeout(t *testing.T) {
	b := New(Config{})
	b.Send(context.Background(), envelope(1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	msgs, err := b.WaitFor(ctx, 2)
	if !errors.Is(err, context.DeadlineExceeded) || len(msgs) != 1 {
		t.Fatalf("WaitFor = %d messages, %v", len(msgs), err)
	}
}

func TestSendAfterClose(t *testing.T) {
	b := New(Config{})
	b.Send(context.Background(), envelope(1))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(context.Background(), envelope(2)); err == nil {
		t.Fatal("Send after Close succeeded")
	}
	if b.Len() != 1 {
		t.Fatalf("Close dropped the messages")
	}
}

func TestFromURL(t *testing.T) {
	for raw, want := range map[string]int{
		"memory:":             0,
		"memory:?max=10":      10,
		"memory:?max=0":       0,
		"memory:?max=-1":      -1,
		"memory:?max=x":       -1,
		"memory:?max=1&max=2": -1,
		"memory:?size=1":      -1,
		"memory:x":            -1,
		"memory://host":       -1,
		"null:":               -1,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		b, err := FromURL(u)
		if want < 0 {
			if err == nil {
				t.Errorf("FromURL(%q) succeeded", raw)
			}
			continue
		}
		if err != nil || b.max != want {
			t.Errorf("FromURL(%q) = %+v, %v", raw, b, err)
		}
	}
}
