package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
)

// FuzzEnqueueJSON feeds arbitrary bodies to POST /v1/messages and
// /v1/messages/batch: the answer is always a receipt or a JSON error of
// the client's making (4xx), never a 500 or a panic.
func FuzzEnqueueJSON(f *testing.F) {
	f.Add([]byte(message("seed")))
	f.Add([]byte(`{"from": {"name": "A", "email": "a@example.com"}, "to": ["b@example.com"], "text": "x", "attachments": [{"filename": "f", "content": "AA=="}]}`))
	f.Add([]byte(`{"messages": [{"to": ["b@example.com"]}, {}]}`))
	f.Add([]byte(`{"from": "a@example.com", "to": [null, 1, {}], "priority": "low", "send_at": "2030-01-02T03:04:05Z"}`))
	f.Add([]byte(`[`))
	client, err := outbox.NewClient(outbox.ClientConfig{Store: &countingStore{}})
	if err != nil {
		f.Fatal(err)
	}
	h := httpapi.New(httpapi.Config{Client: client, MaxBodyBytes: 64 << 10, MaxBatch: 10})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/v1/messages", "/v1/messages/batch"} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			switch w.Code {
			case http.StatusOK, http.StatusAccepted:
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
				var eb struct {
					Error   *httpapi.Error        `json:"error"`
					Results []httpapi.BatchResult `json:"results"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || (eb.Error == nil && len(eb.Results) == 0) {
					t.Fatalf("%s: %d with body %q", path, w.Code, w.Body)
				}
				if eb.Error != nil && (eb.Error.Code == "" || eb.Error.Message == "") {
					t.Fatalf("%s: incomplete error %q", path, w.Body)
				}
			default:
				t.Fatalf("%s %q: status %d %s", path, body, w.Code, w.Body)
			}
		}
	})
}
