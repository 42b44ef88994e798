package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
	"github.com/outboxmail/outbox/sqlite"
)

// fixture is the API served over HTTP by httptest, backed by a real
// SQLite store in a temporary directory.
type fixture struct {
	t      testing.TB
	store  *sqlite.Store
	client *outbox.Client
	srv    *httptest.Server
	clock  *clock
}

// clock is a settable clock shared by the client and the handler.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newFixture starts the API; edit adjusts its config.
func newFixture(t testing.TB, edit func(*httpapi.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	clk := &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	client, err := outbox.NewClient(outbox.ClientConfig{
		Store:        st,
		Now:          clk.Now,
		KnownBackend: func(name string) bool { return name == "" || name == "backup" },
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{Client: client, Now: clk.Now}
	if edit != nil {
		edit(&cfg)
	}
	srv := httptest.NewServer(httpapi.New(cfg))
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return &fixture{t: t, store: st, client: client, srv: srv, clock: clk}
}

// response is an HTTP answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v.
func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiError decodes the body as an error answer.
func (r response) apiError(t testing.TB) httpapi.Error {
	t.Helper()
	var eb struct {
		Error *httpapi.Error `json:"error"`
	}
	r.json(t, &eb)
	if eb.Error == nil {
		t.Fatalf("no error object in %s", r.body)
	}
	return *eb.Error
}

// do sends a request with optional headers ("Name", "value", …).
func (f *fixture) do(method, path, contentType string, body []byte, headers ...string) response {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// post sends a JSON body.
func (f *fixture) post(path, body string, headers ...string) response {
	f.t.Helper()
	return f.do(http.MethodPost, path, "application/json", []byte(body), headers...)
}

// get sends a GET.
func (f *fixture) get(path string, headers ...string) response {
	f.t.Helper()
	return f.do(http.MethodGet, path, "", nil, headers...)
}

// enqueue posts a valid message and returns its id.
func (f *fixture) enqueue(subject string) int64 {
	f.t.Helper()
	r := f.post("/v1/messages", message(subject))
	if r.status != http.StatusAccepted {
		f.t.Fatalf("enqueue: %d %s", r.status, r.body)
	}
	var rc httpapi.Receipt
	r.json(f.t, &rc)
	return rc.ID
}

// message is a valid JSON message with the given subject.
func message(subject string) string {
	b, _ := json.Marshal(map[string]any{
		"from":    "Alice <alice@example.com>",
		"to":      []any{"bob@example.com", map[string]string{"name": "Carol", "email": "carol@example.com"}},
		"subject": subject,
		"text":    "Hello",
	})
	return string(b)
}

// wantError checks an error answer's status, code and field.
func wantError(t testing.TB, r response, status int, code, field string) httpapi.Error {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	e := r.apiError(t)
	if e.Code != code || e.Field != field {
		t.Fatalf("error code %q field %q, want %q %q: %s", e.Code, e.Field, code, field, r.body)
	}
	if e.Message == "" {
		t.Errorf("error without a message: %s", r.body)
	}
	return e
}

// batchResults checks that a batch was answered 202 with n results and
// returns them.
func batchResults(t testing.TB, r response, n int) []httpapi.BatchResult {
	t.Helper()
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", r.status, r.body)
	}
	var resp httpapi.BatchResponse
	r.json(t, &resp)
	if len(resp.Results) != n {
		t.Fatalf("%d results, want %d: %s", len(resp.Results), n, r.body)
	}
	return resp.Results
}

// mustContain fails unless s contains every part.
func mustContain(t testing.TB, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%q does not contain %q", s, p)
		}
	}
}
