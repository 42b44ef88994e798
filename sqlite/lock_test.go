package sqlite

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

func TestOpenLocksDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := Open(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, Config{Dir: dir})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "in use by another outbox process") {
		t.Errorf("error %q should name the directory and say it is in use", msg)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	again, err := Open(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

func TestClosedStore(t *testing.T) {
	s, err := Open(context.Background(), Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, []*outbox.Record{newTestRecord(1, time.Now())}); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Get(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}
}

func TestOpenRequiresDir(t *testing.T) {
	if _, err := Open(context.Background(), Config{}); err == nil || !strings.Contains(err.Error(), "Dir") {
		t.Errorf("Open without Dir = %v, want an error naming Dir", err)
	}
}

// newTestRecord returns a small valid record due at now.
func newTestRecord(n int, now time.Time) *outbox.Record {
	raw := []byte("Subject: test\r\n\r\nhello\r\n")
	return &outbox.Record{
		MessageID:  "<test@example.com>",
		Status:     outbox.StatusQueued,
		From:       "app@example.com",
		Recipients: []outbox.Recipient{{Addr: "user@example.org", Status: outbox.RecipientPending}},
		Size:       len(raw),
		CreatedAt:  now, UpdatedAt: now, LifetimeStart: now, NextAttemptAt: now,
		Raw:      raw,
		Subject:  "test",
		Metadata: map[string]string{"n": string(rune('0' + n%10))},
	}
}
