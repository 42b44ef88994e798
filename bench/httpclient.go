package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// httpClient is the load generator's HTTP/1.1 client, as lean as wrk's:
// each request in flight has a keep-alive connection of its own, goes out
// in one write, and its answer is read by one parser with no goroutine
// of its own (net/http's client, which the bench used before, runs two
// per connection and cost about a third of the bench's CPU). It speaks
// only what the bench needs: POST, and answers with Content-Length or a
// chunked body.
type httpClient struct {
	addr, host string
	idle       chan *httpConn
}

// httpConn is one connection and its buffers.
type httpConn struct {
	net.Conn
	r   *bufio.Reader
	req []byte
}

// requestTimeout bounds one request, as the bench's client always did.
const requestTimeout = time.Minute

// newHTTPClient returns a client of the server at base (http://host:port)
// keeping up to idle connections alive between requests.
func newHTTPClient(base string, idle int) (*httpClient, error) {
	host, ok := bytes.CutPrefix([]byte(base), []byte("http://"))
	if !ok || len(host) == 0 || bytes.ContainsAny(host, "/?#") {
		return nil, fmt.Errorf("bench HTTP client: %q is not http://host:port", base)
	}
	return &httpClient{addr: string(host), host: string(host), idle: make(chan *httpConn, idle)}, nil
}

// post sends body to path and returns the status and the response body.
func (h *httpClient) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	c, err := h.conn(ctx)
	if err != nil {
		return 0, nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	c.SetDeadline(time.Now().Add(requestTimeout))
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, h.host...)
	c.req = append(c.req, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	_, err = c.Write(c.req)
	var (
		status int
		resp   []byte
		keep   bool
	)
	if err == nil {
		status, resp, keep, err = readResponse(c.r)
	}
	// Once stop returns true the deadline can no longer be cut short, so
	// the connection is safe to hand to the next request.
	if !stop() && err == nil {
		err = ctx.Err()
	}
	switch {
	case err != nil:
		c.Close()
		return 0, nil, err
	case keep:
		h.release(c)
	default:
		c.Close()
	}
	return status, resp, nil
}

// conn returns an idle connection, or a new one.
func (h *httpClient) conn(ctx context.Context) (*httpConn, error) {
	select {
	case c := <-h.idle:
		return c, nil
	default:
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return nil, err
	}
	return &httpConn{Conn: nc, r: bufio.NewReaderSize(nc, 16<<10)}, nil
}

// release keeps c for the next request, or closes it when enough are
// kept.
func (h *httpClient) release(c *httpConn) {
	select {
	case h.idle <- c:
	default:
		c.Close()
	}
}

// closeIdle closes the connections kept.
func (h *httpClient) closeIdle() {
	for {
		select {
		case c := <-h.idle:
			c.Close()
		default:
			return
		}
	}
}

// errResponse marks an answer the client cannot read.
var errResponse = errors.New("bench HTTP client: malformed response")

// readResponse reads one answer: its status, its body and whether the
// connection may carry another request.
func readResponse(r *bufio.Reader) (status int, body []byte, keep bool, err error) {
	line, err := readLine(r)
	if err != nil {
		return 0, nil, false, err
	}
	proto, rest, _ := bytes.Cut(line, []byte(" "))
	code, _, _ := bytes.Cut(rest, []byte(" "))
	status, err = strconv.Atoi(string(code))
	if err != nil || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || status < 100 {
		return 0, nil, false, fmt.Errorf("%w: status line %q", errResponse, line)
	}
	length, chunked, keep := -1, false, string(proto) == "HTTP/1.1"
	for {
		line, err := readLine(r)
		if err != nil {
			return 0, nil, false, err
		}
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, nil, false, fmt.Errorf("%w: header line %q", errResponse, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, nil, false, fmt.Errorf("%w: Content-Length %q", errResponse, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = keep && !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		body, err = readChunked(r)
	case length >= 0:
		body = make([]byte, length)
		_, err = io.ReadFull(r, body)
	default: // the body runs to the connection's end
		body, err = io.ReadAll(r)
		keep = false
	}
	if err != nil {
		return 0, nil, false, err
	}
	return status, body, keep, nil
}

// readChunked reads a chunked body and its (ignored) trailer.
func readChunked(r *bufio.Reader) ([]byte, error) {
	var body []byte
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 31)
		if err != nil {
			return nil, fmt.Errorf("%w: chunk size %q", errResponse, line)
		}
		if n == 0 {
			for { // trailer, to its blank line
				line, err := readLine(r)
				if err != nil || len(line) == 0 {
					return body, err
				}
			}
		}
		start := len(body)
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(r, body[start:]); err != nil {
			return nil, err
		}
		if line, err := readLine(r); err != nil || len(line) != 0 {
			return nil, fmt.Errorf("%w: no CRLF after a chunk", errResponse)
		}
	}
}

// readLine reads a line of the head, without its CRLF.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line too long", errResponse)
		}
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}
