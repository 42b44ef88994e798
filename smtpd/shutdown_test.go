package smtpd

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestShutdownFinishesTransactions checks that Shutdown lets a message
// under way get its 250, closes idle sessions, refuses new connections
// and makes Serve return ErrServerClosed.
func TestShutdownFinishesTransactions(t *testing.T) {
	env := start(t, Config{})
	busy := env.raw(t)
	busy.startData()
	busy.write("From: a@example.com\r\n\r\nfirst half\r\n")

	idle := env.raw(t)
	idle.must("EHLO client.test", 250)

	done := make(chan error, 1)
	go func() { done <- env.srv.Shutdown(context.Background()) }()

	// The idle session is closed at once.
	idle.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := idle.conn.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("idle session: read %d, %v; want end of connection", n, err)
	}
	// New connections are refused.
	if c, err := net.Dial("tcp", env.addr); err == nil {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if got := readAll(c); strings.HasPrefix(got, "220") {
			t.Errorf("new connection during shutdown greeted: %q", got)
		}
		c.Close()
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a transaction under way", err)
	case <-time.After(100 * time.Millisecond):
	}

	// The message under way completes and is acknowledged.
	busy.write("second half\r\n.\r\n")
	text := busy.expect(250)
	id, err := queuedID(text)
	if err != nil {
		t.Fatal(err)
	}
	if rec := env.stored(t, id); !strings.HasSuffix(string(rec.Raw), "first half\r\nsecond half\r\n") {
		t.Errorf("stored %q", rec.Raw)
	}
	// After it, the session ends.
	if got := readAll(busy.conn); got != "" {
		t.Errorf("after the last reply got %q, want the connection closed", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if err := <-env.done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	if err := env.srv.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if err := env.srv.Close(); err != nil {
		t.Errorf("Close after Shutdown: %v", err)
	}
}

func TestShutdownGivesUpAtDeadline(t *testing.T) {
	env := start(t, Config{})
	busy := env.raw(t)
	busy.must("EHLO client.test", 250)
	busy.must("MAIL FROM:<a@example.com>", 250)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := env.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want deadline exceeded", err)
	}
	env.srv.Close()
	busy.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got := readAll(busy.conn); got != "" {
		t.Errorf("after Close got %q", got)
	}
	if n := env.count(t); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

func TestServeAfterClose(t *testing.T) {
	env := start(t, Config{})
	env.srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.srv.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
}

// isReset reports a connection reset by the peer.
func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
