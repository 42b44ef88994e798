package torture

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// badRequest is a malformed API request.
type badRequest struct {
	name        string
	path        string // default /v1/messages
	contentType string // default application/json
	body        func(key string) string
}

// badRequests lists the malformed requests, each carrying key where it can
// (so that a wrongly accepted one would be found at the sink).
func badRequests() []badRequest {
	msg := func(fields string) func(string) string {
		return func(key string) string {
			return `{"from":"app@example.com","to":["user@example.net"],"subject":"torture ` + key +
				`","text":"hi","headers":{"X-Torture-Key":"` + key + `"}` + fields + `}`
		}
	}
	fixed := func(s string) func(string) string { return func(string) string { return s } }
	return []badRequest{
		{name: "truncated JSON", body: func(key string) string { return msg("")(key)[:40] }},
		{name: "not JSON", body: fixed("from=app@example.com&to=user@example.net")},
		{name: "array", body: fixed(`[{"from":"app@example.com"}]`)},
		{name: "empty body", body: fixed("")},
		{name: "no recipient", body: fixed(`{"from":"app@example.com","subject":"x","text":"x"}`)},
		{name: "bad sender", body: func(key string) string {
			return strings.Replace(msg("")(key), `"from":"app@example.com"`, `"from":"app@@example..com"`, 1)
		}},
		{name: "bad recipient", body: func(key string) string {
			return strings.Replace(msg("")(key), `"to":["user@example.net"]`, `"to":["user example.net"]`, 1)
		}},
		{name: "recipient not a list", body: func(key string) string {
			return strings.Replace(msg("")(key), `"to":["user@example.net"]`, `"to":{"a":1}`, 1)
		}},
		{name: "header injection in subject", body: func(key string) string {
			return strings.Replace(msg("")(key), `"subject":"torture `, `"subject":"x\r\nBcc: victim@example.org\r\nX: `, 1)
		}},
		{name: "bad header name", body: msg(`,"headers":{"Bad Name":"x"}`)},
		{name: "bad send_at", body: msg(`,"send_at":"tomorrow"`)},
		{name: "bad priority", body: msg(`,"priority":"urgent"`)},
		{name: "bad attachment", body: msg(`,"attachments":[{"filename":"a.txt","content":"%%%not base64"}]`)},
		{name: "bad Message-ID", body: msg(`,"message_id":"no brackets"`)},
		{name: "invalid UTF-8", body: func(key string) string { return msg("")(key)[:60] + "\xff\xfe" + msg("")(key)[60:] }},
		{name: "deep nesting", body: fixed(`{"from":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`)},
		{name: "too large", body: func(key string) string {
			return strings.Replace(msg("")(key), `"text":"hi"`, `"text":"`+strings.Repeat("x", 80<<10)+`"`, 1)
		}},
		{name: "wrong content type", contentType: "text/plain", body: msg("")},
		{name: "raw without envelope", contentType: "message/rfc822", body: func(key string) string {
			return "From: app@example.com\r\nSubject: torture " + key + "\r\nX-Torture-Key: " + key + "\r\n\r\nhi\r\n"
		}},
		{name: "empty batch", path: "/v1/messages/batch", body: fixed(`{"messages":[]}`)},
		{name: "batch of bad items", path: "/v1/messages/batch", body: func(key string) string {
			return `{"messages":[{"from":"x"},` + strings.Replace(msg("")(key), `"to":["user@example.net"]`, `"to":[]`, 1) + `]}`
		}},
	}
}

// badSession is a malformed SMTP session: the commands sent, each
// expected to be refused (4xx/5xx) or to close the connection. None may
// end with a stored message.
type badSession struct {
	name string
	cmds func(key string) []string
}

// badSessions lists the malformed SMTP sessions.
func badSessions() []badSession {
	data := func(key string, extra string) []string {
		return []string{"MAIL FROM:<app@example.com>", "RCPT TO:<user@example.net>", "DATA",
			"From: app@example.com\r\nSubject: torture " + key + "\r\nX-Torture-Key: " + key + "\r\n" + extra + "\r\nhi\r\n."}
	}
	return []badSession{
		{"bad sender", func(string) []string { return []string{"MAIL FROM:<app@@example..com>"} }},
		{"bad recipient", func(string) []string {
			return []string{"MAIL FROM:<app@example.com>", "RCPT TO:<user example.net>"}
		}},
		{"RCPT before MAIL", func(string) []string { return []string{"RCPT TO:<user@example.net>"} }},
		{"DATA before RCPT", func(string) []string { return []string{"MAIL FROM:<app@example.com>", "DATA"} }},
		{"unknown command", func(string) []string { return []string{"HELLO WORLD"} }},
		{"overlong line", func(string) []string { return []string{"MAIL FROM:<" + strings.Repeat("a", 3000) + "@example.com>"} }},
		{"unknown control field", func(key string) []string { return data(key, "X-Outbox-Frobnicate: yes\r\n") }},
		{"bad control field", func(key string) []string { return data(key, "X-Outbox-Priority: urgent\r\n") }},
	}
}

// testBadInputAtVolume sends thousands of malformed API requests and SMTP
// sessions interleaved with good messages: every bad one is refused (HTTP
// 4xx; an SMTP 4xx/5xx reply or a closed connection) and none reaches the
// upstream, a session cut in the middle of its data stores nothing, and
// every good one is delivered.
func (s *suite) testBadInputAtVolume(t *testing.T) {
	rounds := 100 // × len(badRequests()) bad requests, × 5 good ones
	smtpRounds := 40
	if long() {
		rounds, smtpRounds = 1000, 400
	}
	sink := outboxtest.NewSink(t)
	d := s.startDaemon(t, daemonOpts{
		dataDir: filepath.Join(t.TempDir(), "data"),
		backend: "smtp://" + sink.Addr() + "?tls=none&timeout=5s",
		env:     []string{"OUTBOX_MAX_MESSAGE_SIZE=65536"},
	})
	l := newLedger()
	var seq atomic.Int64
	var bad, badSMTP atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			c := httpClient()
			reqs := badRequests()
			for r := w; r < rounds; r += 4 {
				for _, br := range reqs {
					key := fmt.Sprintf("bad%d", seq.Add(1))
					path, ct := br.path, br.contentType
					if path == "" {
						path = "/v1/messages"
					}
					if ct == "" {
						ct = "application/json"
					}
					code, body, err := post(context.Background(), c, d.URL+path, ct, []byte(br.body(key)))
					switch {
					case err != nil:
						t.Errorf("%s: %v", br.name, err)
					case code < 400 || code >= 500:
						t.Errorf("%s: answered %d %s; want a 4xx", br.name, code, body)
					}
					bad.Add(1)
				}
				for range 5 {
					key := fmt.Sprintf("good%d", seq.Add(1))
					rc, code, err := enqueue(context.Background(), c, d.URL, jsonMessage(key))
					if err != nil || code != 202 {
						t.Errorf("good message refused: %d %v", code, err)
						continue
					}
					l.ack(key, rc.MessageID)
				}
			}
		})
	}
	if d.SMTP != "" {
		for w := range 2 {
			wg.Go(func() {
				sessions := badSessions()
				for r := w; r < smtpRounds; r += 2 {
					for _, bs := range sessions {
						key := fmt.Sprintf("bad%d", seq.Add(1))
						if err := runBadSession(d.SMTP, bs.cmds(key)); err != nil {
							t.Errorf("SMTP %s: %v", bs.name, err)
						}
						badSMTP.Add(1)
					}
					if err := cutMidData(d.SMTP, fmt.Sprintf("bad%d", seq.Add(1))); err != nil {
						t.Errorf("SMTP cut mid-data: %v", err)
					}
					badSMTP.Add(1)
					c, err := dialSMTP(d.SMTP)
					if err != nil {
						t.Errorf("SMTP dial: %v", err)
						continue
					}
					for range 3 {
						key := fmt.Sprintf("good%d", seq.Add(1))
						msgID := "<" + key + ".torture@example.com>"
						_, err := submit(c, "app@example.com", []string{"user@example.net"}, rawMessage(key, msgID))
						if acknowledged(err) {
							l.ack(key, msgID)
						}
						if err != nil {
							t.Errorf("good SMTP message: %v", err)
						}
					}
					c.Close()
				}
			})
		}
	} else {
		t.Log("this build of outbox serve has no SMTP listener: only the HTTP API was tested")
	}
	wg.Wait()
	a := l.awaitAll(t, sink, time.Minute, d.logTail)
	// Give a wrongly accepted bad message time to arrive too.
	time.Sleep(500 * time.Millisecond)
	leaked := 0
	for _, m := range sink.Messages() {
		if strings.HasPrefix(header(m.Data, "X-Torture-Key"), "bad") || strings.Contains(string(m.Data), "victim@example.org") {
			leaked++
		}
	}
	if leaked > 0 {
		t.Errorf("%d bad submissions reached the upstream", leaked)
	}
	if !d.Alive() {
		t.Fatalf("outbox serve died: %v\n%s", d.Wait(), d.logTail())
	}
	t.Logf("%d malformed API requests and %d malformed SMTP sessions refused; %d good messages all delivered (%d duplicates)",
		bad.Load(), badSMTP.Load(), l.len(), a.duplicates)
	d.Stop()
}

// runBadSession greets the server, sends each command and checks that it
// is refused with a 4xx/5xx reply or that the server closes the
// connection.
func runBadSession(addr string, cmds []string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if code, err := readReply(r); err != nil || code != 220 {
		return fmt.Errorf("greeting %d %v", code, err)
	}
	send := func(line string) (int, error) {
		if _, err := fmt.Fprintf(conn, "%s\r\n", line); err != nil {
			return 0, err
		}
		return readReply(r)
	}
	if code, err := send("EHLO app.example.com"); err != nil || code != 250 {
		return fmt.Errorf("EHLO: %d %v", code, err)
	}
	for i, cmd := range cmds {
		code, err := send(cmd)
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			return fmt.Errorf("%.40q: no answer within 10 s", cmd)
		}
		if err != nil {
			return nil // the server closed the connection: refused
		}
		last := i == len(cmds)-1
		switch {
		case code >= 400:
			return nil
		case last:
			return fmt.Errorf("%.40q answered %d; want a refusal", cmd, code)
		case code == 354 && !strings.HasPrefix(cmds[i+1], "From:"):
			return fmt.Errorf("DATA accepted (354) before the message")
		}
	}
	return nil
}

// cutMidData starts a good transaction and closes the connection in the
// middle of the message data: nothing may be stored.
func cutMidData(addr, key string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if _, err := readReply(r); err != nil {
		return err
	}
	for _, cmd := range []string{"EHLO app.example.com", "MAIL FROM:<app@example.com>", "RCPT TO:<user@example.net>", "DATA"} {
		fmt.Fprintf(conn, "%s\r\n", cmd)
		if _, err := readReply(r); err != nil {
			return fmt.Errorf("%s: %v", cmd, err)
		}
	}
	fmt.Fprintf(conn, "From: app@example.com\r\nSubject: torture %s\r\nX-Torture-Key: %s\r\n\r\nthe first half of", key, key)
	return nil
}

// readReply reads a (possibly multi-line) SMTP reply and returns its code.
func readReply(r *bufio.Reader) (int, error) {
	for range 100 {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		if len(line) < 4 {
			return 0, fmt.Errorf("short reply line %q", line)
		}
		var code int
		if _, err := fmt.Sscanf(line[:3], "%d", &code); err != nil {
			return 0, fmt.Errorf("bad reply line %q", line)
		}
		if line[3] != '-' {
			return code, nil
		}
	}
	return 0, fmt.Errorf("reply of more than 100 lines")
}
