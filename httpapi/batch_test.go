package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/outboxmail/outbox/httpapi"
)

// The batch body is decoded in one pass: an item that does not fit its
// type is that item's error, and the items after it are still read.
func TestBatchItemErrorsDoNotStopTheRest(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.MaxBatch = 10 })
	r := f.post("/v1/messages/batch", `{"messages": [
		{"from": "alice@example.com", "to": ["bob@example.com"], "subject": 7, "text": "x"},
		`+message("after a type error")+`,
		{"from": "alice@example.com", "to": ["bob@example.com"], "text": "x", "colour": "red"},
		42,
		{"from": "alice@example.com", "to": [{"email": "bob@example.com", "nick": "b"}], "text": "x"},
		`+message("last")+`
	]}`)
	results := batchResults(t, r, 6)
	wantItemError := map[int][2]string{
		0: {"invalid_field", "subject"},
		2: {"invalid_field", "colour"},
		3: {"malformed_json", ""},
		4: {"invalid_field", "to[0].nick"},
	}
	for i, res := range results {
		want, bad := wantItemError[i]
		switch {
		case bad && (res.Error == nil || res.Error.Code != want[0] || res.Error.Field != want[1] || res.Receipt != nil):
			t.Errorf("item %d: want error %s on %q: %+v", i, want[0], want[1], res)
		case !bad && (res.Receipt == nil || res.Error != nil):
			t.Errorf("item %d: want a receipt: %+v", i, res)
		}
	}
	if n := f.stored(t); n != 2 {
		t.Errorf("%d messages stored, want the 2 valid ones", n)
	}
}

func TestBatchBodyErrors(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.MaxBatch = 3 })
	tests := []struct {
		name, body  string
		status      int
		code, field string
		message     string // part of the error's message, when set
	}{
		{"not an object", `[` + message("x") + `]`, http.StatusBadRequest, "malformed_json", "", ""},
		{"messages not an array", `{"messages": {"to": "bob@example.com"}}`, http.StatusBadRequest, "invalid_field", "messages", ""},
		{"messages null", `{"messages": null}`, http.StatusBadRequest, "invalid_field", "messages", ""},
		{"no messages field", `{}`, http.StatusBadRequest, "invalid_field", "messages", ""},
		{"messages twice", `{"messages": [` + message("x") + `], "Messages": [` + message("y") + `]}`, http.StatusBadRequest, "invalid_field", "Messages", "twice"},
		{"unknown field after messages", `{"messages": [` + message("x") + `], "dry_run": true}`, http.StatusBadRequest, "invalid_field", "dry_run", ""},
		{"data after the object", `{"messages": [` + message("x") + `]} {}`, http.StatusBadRequest, "malformed_json", "", ""},
		{"empty", ``, http.StatusBadRequest, "malformed_json", "", "empty body"},
		{"null", `null`, http.StatusBadRequest, "malformed_json", "", "expected an object"},
		{"key of another case", `{"Messages": [` + message("x") + `], "dry_run": 1}`, http.StatusBadRequest, "invalid_field", "dry_run", ""},
		{"cut short after the brace", `{`, http.StatusBadRequest, "malformed_json", "", "unexpected end"},
		{"cut short after the key", `{"messages":`, http.StatusBadRequest, "malformed_json", "", "unexpected end"},
		{"cut short after the bracket", `{"messages": [`, http.StatusBadRequest, "malformed_json", "", "unexpected end"},
		{"cut short in an item", `{"messages": [` + message("x")[:20], http.StatusBadRequest, "malformed_json", "", "unexpected end"},
		{"cut short after an item", `{"messages": [` + message("x"), http.StatusBadRequest, "malformed_json", "", "unexpected end"},
		{"cut short after the array", `{"messages": [` + message("x") + `]`, http.StatusBadRequest, "malformed_json", "", "unexpected end"},
		{"not UTF-8 in a later item", `{"messages": [` + message("x") + ", {\"subject\": \"Caf\xe9\"}]}", http.StatusBadRequest, "malformed_json", "", "not valid UTF-8"},
		{"syntax error in a later item", `{"messages": [` + message("x") + `, {"to": }]}`, http.StatusBadRequest, "malformed_json", "", ""},
		{"over the limit", `{"messages": [` + strings.Repeat(message("x")+`,`, 4) + message("x") + `]}`, http.StatusRequestEntityTooLarge, "too_large", "messages", "more than 3 messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := wantError(t, f.post("/v1/messages/batch", tt.body), tt.status, tt.code, tt.field)
			if tt.message != "" && !strings.Contains(e.Message, tt.message) {
				t.Errorf("message %q does not say %q", e.Message, tt.message)
			}
		})
	}
	if n := f.stored(t); n != 0 {
		t.Errorf("%d messages stored from refused requests", n)
	}
}

// stored counts the messages in the fixture's store.
func (f *fixture) stored(t testing.TB) int64 {
	t.Helper()
	st, err := f.store.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st.Total()
}

// TestBatchOverTheLimitNotRead: a batch over the limit is refused at the
// first item past it, without reading (or keeping) the rest of a large
// body.
func TestBatchOverTheLimitNotRead(t *testing.T) {
	f := newFixture(t, nil)
	body := `{"messages":[` + strings.Repeat("0,", 1<<20) + `0]}`
	h := httpapi.New(httpapi.Config{Client: f.client})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/messages/batch", strings.NewReader(body)))
	runtime.ReadMemStats(&after)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > uint64(len(body)) {
		t.Errorf("allocated %d KiB to refuse a %d KiB body", n>>10, len(body)>>10)
	}
}
