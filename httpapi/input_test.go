package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/outboxmail/outbox/httpapi"
)

func TestEnqueueRefusesBadInput(t *testing.T) {
	f := newFixture(t, nil)
	const ok = `"from": "alice@example.com", "to": ["bob@example.com"], "text": "hi"`
	tests := []struct {
		name, body string
		code       string
		field      string
		inMessage  string
	}{
		{"malformed", `{"from": "alice@example.com",, }`, "malformed_json", "", "at byte"},
		{"truncated", `{"from": "alice@example.com"`, "malformed_json", "", "end of JSON"},
		{"empty body", ``, "malformed_json", "", "empty body"},
		{"not an object", `[1, 2]`, "malformed_json", "", "object"},
		{"trailing data", `{` + ok + `} {}`, "malformed_json", "", "after the JSON value"},
		{"missing to", `{"from": "alice@example.com", "text": "hi"}`, "invalid_field", "to", "recipient"},
		{"missing from", `{"to": ["bob@example.com"], "text": "hi"}`, "invalid_field", "from", ""},
		{"missing body", `{"from": "alice@example.com", "to": ["bob@example.com"]}`, "invalid_field", "text", ""},
		{"invalid address", `{"from": "alice@example.com", "to": ["bob@example.com", "not an address"], "text": "hi"}`, "invalid_field", "to[1]", ""},
		{"invalid address object", `{"from": "alice@example.com", "to": [{"email": "bob@@example.com"}], "text": "hi"}`, "invalid_field", "to[0]", ""},
		{"unknown field in address", `{"from": {"emial": "alice@example.com"}, "to": ["bob@example.com"], "text": "hi"}`, "invalid_field", "from.emial", "unknown field"},
		{"unknown field in a listed address", `{"from": "alice@example.com", "to": ["bob@example.com", {"email": "c@example.com", "nme": "C"}], "text": "hi"}`, "invalid_field", "to[1].nme", "unknown field"},
		{"address of the wrong type", `{"from": "alice@example.com", "to": ["bob@example.com", 42], "text": "hi"}`, "invalid_field", "to[1]", "address"},
		{"list of the wrong type", `{"from": "alice@example.com", "to": "bob@example.com", "text": "hi"}`, "invalid_field", "to", "array"},
		{"cc address of the wrong type", `{` + ok + `, "cc": [true]}`, "invalid_field", "cc[0]", "address"},
		{"unknown field in an attachment", `{` + ok + `, "attachments": [{"filename": "a.txt", "content": "", "colour": "red"}]}`, "invalid_field", "attachments[0].colour", "unknown field"},
		{"attachment field of the wrong type", `{` + ok + `, "attachments": [{"filename": "a.txt"}, {"filename": 5}]}`, "invalid_field", "attachments[1].filename", "string"},
		{"attachment of the wrong type", `{` + ok + `, "attachments": ["a.txt"]}`, "invalid_field", "attachments[0]", "object"},
		{"tag of the wrong type", `{` + ok + `, "tags": ["a", 5]}`, "invalid_field", "tags[1]", "string"},
		{"CR LF in subject", `{` + ok + `, "subject": "Hi\r\nBcc: victim@example.com"}`, "invalid_field", "subject", ""},
		{"LF in display name", `{"from": {"name": "A\nB", "email": "alice@example.com"}, "to": ["bob@example.com"], "text": "hi"}`, "invalid_field", "from", ""},
		{"unknown field", `{` + ok + `, "subjet": "typo"}`, "invalid_field", "subjet", `unknown field "subjet"`},
		{"raw is not a JSON field", `{` + ok + `, "raw": "x"}`, "invalid_field", "raw", "unknown field"},
		{"wrong type", `{` + ok + `, "subject": 42}`, "invalid_field", "subject", "string"},
		{"wrong type in list", `{` + ok + `, "tags": "one"}`, "invalid_field", "tags", "array"},
		{"bad priority", `{` + ok + `, "priority": "urgent"}`, "invalid_field", "priority", "urgent"},
		{"bad send_at", `{` + ok + `, "send_at": "tomorrow"}`, "invalid_field", "send_at", "RFC 3339"},
		{"bad expires_at", `{` + ok + `, "expires_at": "2030-01-02"}`, "invalid_field", "expires_at", "RFC 3339"},
		{"past expires_at", `{` + ok + `, "expires_at": "2001-01-01T00:00:00Z"}`, "invalid_field", "expires_at", "past"},
		{"expires_at before send_at", `{` + ok + `, "send_at": "2099-01-02T00:00:00Z", "expires_at": "2099-01-01T00:00:00Z"}`, "invalid_field", "expires_at", "expire before it is sent"},
		{"two addresses in one string", `{"from": "alice@example.com", "to": ["bob@example.com, carol@example.com"], "text": "hi"}`, "invalid_field", "to[0]", "comma"},
		{"bad base64", `{` + ok + `, "attachments": [{"filename": "a.txt", "content": "%%%"}]}`, "invalid_field", "attachments[0].content", "base64"},
		{"unknown backend", `{` + ok + `, "backend": "nope"}`, "invalid_field", "backend", "nope"},
		{"header injection", `{` + ok + `, "headers": {"X-Campaign": "a\r\nBcc: victim@example.com"}}`, "invalid_field", "headers.X-Campaign", ""},
		{"not UTF-8", "{" + ok + ", \"subject\": \"Caf\xe9\"}", "malformed_json", "", "not valid UTF-8"},
		{"half a surrogate pair", `{` + ok + `, "subject": "\ud800 lone"}`, "malformed_json", "", "surrogate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := wantError(t, f.post("/v1/messages", tt.body), http.StatusBadRequest, tt.code, tt.field)
			if tt.inMessage != "" {
				mustContain(t, e.Message, tt.inMessage)
			}
		})
	}
	// Nothing was stored.
	var page httpapi.ListResponse
	f.get("/v1/messages").json(t, &page)
	if len(page.Messages) != 0 {
		t.Errorf("%d messages stored from bad input", len(page.Messages))
	}
	// A known backend is accepted.
	if r := f.post("/v1/messages", `{`+ok+`, "backend": "backup"}`); r.status != http.StatusAccepted {
		t.Errorf("known backend: %d %s", r.status, r.body)
	}
}

func TestEnqueueContentType(t *testing.T) {
	f := newFixture(t, nil)
	body := []byte(message("typed"))
	for _, ct := range []string{"", "application/json", "application/json; charset=utf-8", "Application/JSON"} {
		if r := f.do(http.MethodPost, "/v1/messages", ct, body); r.status != http.StatusAccepted {
			t.Errorf("Content-Type %q: %d %s", ct, r.status, r.body)
		}
	}
	e := wantError(t, f.do(http.MethodPost, "/v1/messages", "application/x-www-form-urlencoded", body),
		http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	mustContain(t, e.Message, "application/json", "message/rfc822")
	wantError(t, f.do(http.MethodPost, "/v1/messages/batch", "message/rfc822", body),
		http.StatusUnsupportedMediaType, "unsupported_media_type", "")
}

func TestOversizeBody(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.MaxBodyBytes = 2048 })
	big := `{"from": "alice@example.com", "to": ["bob@example.com"], "text": "` + strings.Repeat("x", 4096) + `"}`
	e := wantError(t, f.post("/v1/messages", big), http.StatusRequestEntityTooLarge, "too_large", "")
	mustContain(t, e.Message, "2048")

	// Without a Content-Length (chunked), the limit still applies while reading.
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/messages", io.MultiReader(strings.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if req.ContentLength != 0 && req.ContentLength != -1 {
		t.Fatalf("request has a Content-Length %d", req.ContentLength)
	}
	wantError(t, response{status: resp.StatusCode, header: resp.Header, body: b}, http.StatusRequestEntityTooLarge, "too_large", "")

	raw := "From: a@example.com\r\nSubject: big\r\n\r\n" + strings.Repeat("y", 4096)
	wantError(t, f.do(http.MethodPost, "/v1/messages?to=b@example.com", "message/rfc822", []byte(raw)),
		http.StatusRequestEntityTooLarge, "too_large", "")
	wantError(t, f.post("/v1/messages/batch", `{"messages": [`+big+`]}`), http.StatusRequestEntityTooLarge, "too_large", "")

	// A message under the limit passes.
	if r := f.post("/v1/messages", message("small")); r.status != http.StatusAccepted {
		t.Errorf("small message: %d %s", r.status, r.body)
	}
}

// TestRawBodyShorterThanDeclared: a raw body that ends before its
// declared Content-Length is refused, and its buffer grows with what
// came, not with what was declared.
func TestRawBodyShorterThanDeclared(t *testing.T) {
	f := newFixture(t, nil)
	h := httpapi.New(httpapi.Config{Client: f.client})
	req := httptest.NewRequest(http.MethodPost, "/v1/messages?to=b@example.com", strings.NewReader("Subject: x\r\n\r\nshort\r\n"))
	req.Header.Set("Content-Type", "message/rfc822")
	req.ContentLength = 20 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	runtime.ReadMemStats(&after)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "cannot read the body") {
		t.Errorf("%d %s, want 400 naming the body", w.Code, w.Body)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Errorf("allocated %d MiB for a body of 22 bytes declared as 20 MiB", n>>20)
	}
}
