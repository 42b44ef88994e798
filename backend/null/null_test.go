package null

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/outboxmail/outbox"
)

func TestSendAcceptsEveryRecipient(t *testing.T) {
	b := New()
	e := &outbox.Envelope{ID: 1, From: "a@example.com", To: []string{"b@example.com", "c@example.com"}, Data: []byte("x")}
	res, err := b.Send(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Addr != "b@example.com" || res[1].Addr != "c@example.com" {
		t.Fatalf("results %+v", res)
	}
	for _, r := range res {
		if r.Class != outbox.ClassAccepted || r.Reply.Code != 250 {
			t.Errorf("result %+v", r)
		}
	}
}

func TestSendConcurrent(t *testing.T) {
	b := New()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 50 {
				if _, err := b.Send(context.Background(), &outbox.Envelope{To: []string{"a@b.c"}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func TestSendAfterClose(t *testing.T) {
	b := New()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := b.Send(context.Background(), &outbox.Envelope{To: []string{"a@b.c"}}); err == nil {
		t.Fatal("Send after Close succeeded")
	}
}

func TestSendCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New().Send(ctx, &outbox.Envelope{To: []string{"a@b.c"}}); err == nil {
		t.Fatal("Send with a cancelled context succeeded")
	}
}

func TestFromURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"null:":         true,
		"null://":       true,
		"null:x":        false,
		"null://host":   false,
		"null:?a=b":     false,
		"console:":      false,
		"null:///a/b/c": false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		b, err := FromURL(u)
		if ok != (err == nil) || ok != (b != nil) {
			t.Errorf("FromURL(%q) = %v, %v", raw, b, err)
		}
	}
}
