package torture

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// httpClient is the tests' HTTP client: bounded, loopback only.
func httpClient() *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 32, DisableCompression: true},
	}
}

// post sends body with a Content-Type and returns the status and the
// response body.
func post(ctx context.Context, c *http.Client, url, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// receipt is the answer to an accepted enqueue.
type receipt struct {
	ID        int64  `json:"id"`
	MessageID string `json:"message_id"`
}

// jsonMessage is a message as the tests post it: key, in the X-Torture-Key
// header, identifies it at the sink.
func jsonMessage(key string, to ...string) []byte {
	if len(to) == 0 {
		to = []string{"user@example.net"}
	}
	b, _ := json.Marshal(map[string]any{
		"from":    "app@example.com",
		"to":      to,
		"subject": "torture " + key,
		"text":    "Your order has shipped. Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
		"headers": map[string]string{"X-Torture-Key": key},
	})
	return b
}

// enqueue posts one JSON message and returns its receipt, or the status
// of a refusal (err is nil then) or a transport error.
func enqueue(ctx context.Context, c *http.Client, base string, body []byte) (receipt, int, error) {
	code, b, err := post(ctx, c, base+"/v1/messages", "application/json", body)
	if err != nil {
		return receipt{}, 0, err
	}
	var rc receipt
	if code == http.StatusAccepted {
		if err := json.Unmarshal(b, &rc); err != nil {
			return receipt{}, code, fmt.Errorf("202 with an unreadable receipt %q: %w", b, err)
		}
	}
	return rc, code, nil
}

// record is the part of GET /v1/messages/{id} the tests check.
type record struct {
	ID         int64  `json:"id"`
	MessageID  string `json:"message_id"`
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	LastError  string `json:"last_error"`
	Recipients []struct {
		Email  string `json:"email"`
		Status string `json:"status"`
	} `json:"recipients"`
	AttemptLog []struct {
		Outcome string `json:"outcome"`
		Reply   struct {
			Code int `json:"code"`
		} `json:"reply"`
	} `json:"attempt_log"`
}

// getRecord fetches a message's record.
func getRecord(t *testing.T, c *http.Client, base string, id int64) record {
	t.Helper()
	resp, err := c.Get(fmt.Sprintf("%s/v1/messages/%d", base, id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r record
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET message %d: %d %s", id, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// outcomes lists the outcome of each attempt in a record's log.
func (r record) outcomes() []string {
	var out []string
	for _, a := range r.AttemptLog {
		out = append(out, a.Outcome)
	}
	return out
}

// waitStatus polls a message until its status is final (not queued,
// sending or deferred) and returns its record; it fails the test after
// timeout.
func waitStatus(t *testing.T, c *http.Client, base string, id int64, timeout time.Duration) record {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := getRecord(t, c, base, id)
		switch r.Status {
		case "queued", "sending", "deferred":
		default:
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d still %s after %v (attempts %d, last error %q)", id, r.Status, timeout, r.Attempts, r.LastError)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
