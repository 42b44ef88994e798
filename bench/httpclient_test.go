package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestHTTPClient posts to a net/http server: answers with a length, a
// chunked one and one that closes the connection are each read whole,
// and sequential requests share one connection until the server closes
// it.
func TestHTTPClient(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/chunked":
			w.WriteHeader(http.StatusAccepted)
			w.Write(b[:3])
			w.(http.Flusher).Flush()
			w.Write(b[3:])
		case "/close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(b)
		default:
			w.WriteHeader(http.StatusAccepted)
			w.Write(b)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := newHTTPClient(srv.URL, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer c.closeIdle()
	ctx := context.Background()
	for _, tc := range []struct {
		path  string
		body  string
		code  int
		conns int64
	}{
		{"/", `{"n":1}`, 202, 1},
		{"/", `{"n":2}`, 202, 1},
		{"/chunked", `{"long":"` + strings.Repeat("x", 5000) + `"}`, 202, 1},
		{"/close", `{"n":3}`, 503, 1},
		{"/", `{"n":4}`, 202, 2},
	} {
		code, body, err := c.post(ctx, tc.path, []byte(tc.body))
		if err != nil || code != tc.code || string(body) != tc.body {
			t.Errorf("POST %s: %d %.40q %v; want %d and the body back", tc.path, code, body, err, tc.code)
		}
		if n := conns.Load(); n != tc.conns {
			t.Errorf("after POST %s: %d connections, want %d", tc.path, n, tc.conns)
		}
	}
}

// TestHTTPClientMalformed: an answer that is not HTTP is an error, and
// the connection is not kept.
func TestHTTPClientMalformed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf)
			io.WriteString(c, "SMTP? 220 hello\r\n\r\n")
			c.Close()
		}
	}()
	c, err := newHTTPClient("http://"+ln.Addr().String(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, err := c.post(context.Background(), "/", []byte("{}")); err == nil {
		t.Errorf("got %d and no error from a server that does not speak HTTP", code)
	}
	if len(c.idle) != 0 {
		t.Error("the connection was kept after a malformed answer")
	}
	if _, err := newHTTPClient("https://example.com/x", 1); err == nil {
		t.Error("newHTTPClient accepted a base that is not http://host:port")
	}
}
