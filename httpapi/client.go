package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/outboxmail/outbox"
)

// Client is a typed client of the API. Its methods return *Error for every
// answer that is not a success, and wrapped transport errors otherwise. It
// is safe for concurrent use.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// NewClient returns a client of the API at baseURL (e.g.
// "http://127.0.0.1:8025"), sending token as a bearer token when not
// empty. A nil hc means a new http.Client with default settings: the
// context of each call bounds it.
func NewClient(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, hc: hc}
}

// Send enqueues a message. A message with Raw set is sent as
// message/rfc822 with its envelope (From, To), priority, backend, send_at,
// expires_at and tags in the query; Cc, Bcc, Headers and the like are then
// not sent. IdempotencyKey travels in the Idempotency-Key header; a repeat
// returns the first message's receipt with Existing set.
func (c *Client) Send(ctx context.Context, m *outbox.Message) (*outbox.Receipt, error) {
	var (
		req *http.Request
		err error
	)
	if len(m.Raw) > 0 {
		req, err = c.newRequest(ctx, http.MethodPost, "/v1/messages", rawQuery(m), "message/rfc822", m.Raw)
	} else {
		var body []byte
		if body, err = json.Marshal(m); err != nil {
			return nil, fmt.Errorf("encode message: %w", err)
		}
		req, err = c.newRequest(ctx, http.MethodPost, "/v1/messages", nil, "application/json", body)
	}
	if err != nil {
		return nil, err
	}
	if m.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", m.IdempotencyKey)
	}
	var rc Receipt
	status, err := c.do(req, &rc)
	if err != nil {
		return nil, err
	}
	return &outbox.Receipt{ID: rc.ID, MessageID: rc.MessageID, Status: rc.Status,
		Existing: rc.Existing || status == http.StatusOK}, nil
}

// SendRaw enqueues a raw RFC 5322 message with its envelope: from is the
// envelope sender (may be empty), to the envelope recipients.
func (c *Client) SendRaw(ctx context.Context, raw []byte, from string, to []string) (*outbox.Receipt, error) {
	m := &outbox.Message{Raw: raw, From: outbox.Address{Addr: from}}
	for _, addr := range to {
		m.To = append(m.To, outbox.Address{Addr: addr})
	}
	return c.Send(ctx, m)
}

// rawQuery is the envelope of a raw message as query parameters.
func rawQuery(m *outbox.Message) url.Values {
	q := url.Values{"from": {m.From.Addr}}
	for _, a := range m.To {
		q.Add("to", a.Addr)
	}
	if m.Priority != outbox.PriorityNormal {
		q.Set("priority", m.Priority.String())
	}
	if m.Backend != "" {
		q.Set("backend", m.Backend)
	}
	if !m.SendAt.IsZero() {
		q.Set("send_at", m.SendAt.UTC().Format(time.RFC3339))
	}
	if !m.ExpiresAt.IsZero() {
		q.Set("expires_at", m.ExpiresAt.UTC().Format(time.RFC3339))
	}
	for _, t := range m.Tags {
		q.Add("tag", t)
	}
	return q
}

// SendBatch enqueues several messages in one request and commit. It
// returns one result per message, in order; an item refused by the server
// has Err set to an *Error (whose Status is zero: items have none). Each
// message's IdempotencyKey travels as the item's idempotency_key. Raw
// messages cannot be batched: use Send.
func (c *Client) SendBatch(ctx context.Context, msgs []*outbox.Message) ([]outbox.BatchResult, error) {
	type item struct {
		*outbox.Message
		IdempotencyKey string `json:"idempotency_key,omitempty"`
	}
	items := make([]item, len(msgs))
	for i, m := range msgs {
		if len(m.Raw) > 0 {
			return nil, fmt.Errorf("batch item %d: raw messages cannot be batched; use Send", i)
		}
		items[i] = item{Message: m, IdempotencyKey: m.IdempotencyKey}
	}
	body, err := json.Marshal(map[string]any{"messages": items})
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/messages/batch", nil, "application/json", body)
	if err != nil {
		return nil, err
	}
	status, body, err := c.roundTrip(req)
	if err != nil {
		return nil, err
	}
	var resp BatchResponse
	// A batch with no valid item is a 400 that still carries the results.
	if status != http.StatusAccepted && (status != http.StatusBadRequest ||
		json.Unmarshal(body, &resp) != nil || len(resp.Results) == 0) {
		return nil, responseError(status, body)
	}
	if status == http.StatusAccepted {
		if err := json.Unmarshal(body, &resp); err != nil {
			return nil, fmt.Errorf("POST /v1/messages/batch: decode answer: %w", err)
		}
	}
	if len(resp.Results) != len(msgs) {
		return nil, fmt.Errorf("batch: %d results for %d messages", len(resp.Results), len(msgs))
	}
	out := make([]outbox.BatchResult, len(msgs))
	for i, r := range resp.Results {
		switch {
		case r.Error != nil:
			out[i].Err = r.Error
		case r.Receipt != nil:
			out[i].Receipt = &outbox.Receipt{ID: r.ID, MessageID: r.MessageID, Status: r.Status, Existing: r.Existing}
		default:
			return nil, fmt.Errorf("batch: result %d has neither a receipt nor an error", i)
		}
	}
	return out, nil
}

// Get returns a message with its recipients and attempt log (Raw is not
// filled: see Raw).
func (c *Client) Get(ctx context.Context, id int64) (*outbox.Record, error) {
	return c.record(ctx, http.MethodGet, "/v1/messages/"+strconv.FormatInt(id, 10))
}

// Raw returns a message's stored RFC 5322 bytes.
func (c *Client) Raw(ctx context.Context, id int64) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/messages/"+strconv.FormatInt(id, 10)+"/raw", nil, "", nil)
	if err != nil {
		return nil, err
	}
	var raw []byte
	if _, err := c.do(req, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// List returns a page of messages, newest first. Page.Next is the Before
// of the next page, 0 at the end.
func (c *Client) List(ctx context.Context, q outbox.ListQuery) (outbox.Page, error) {
	v := url.Values{}
	if q.Status != "" {
		v.Set("status", string(q.Status))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Before > 0 {
		v.Set("cursor", strconv.FormatInt(q.Before, 10))
	}
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/messages", v, "", nil)
	if err != nil {
		return outbox.Page{}, err
	}
	var resp ListResponse
	if _, err := c.do(req, &resp); err != nil {
		return outbox.Page{}, err
	}
	page := outbox.Page{Records: resp.Messages}
	if resp.NextCursor != "" {
		if page.Next, err = strconv.ParseInt(resp.NextCursor, 10, 64); err != nil {
			return outbox.Page{}, fmt.Errorf("list: invalid next_cursor %q", resp.NextCursor)
		}
	}
	return page, nil
}

// Retry puts a deferred, failed or expired message back in the queue and
// returns it. A message in another status gives an *Error with code conflict.
func (c *Client) Retry(ctx context.Context, id int64) (*outbox.Record, error) {
	return c.record(ctx, http.MethodPost, "/v1/messages/"+strconv.FormatInt(id, 10)+"/retry")
}

// Cancel stops a queued or deferred message and returns it. A message in
// another status gives an *Error with code conflict.
func (c *Client) Cancel(ctx context.Context, id int64) (*outbox.Record, error) {
	return c.record(ctx, http.MethodPost, "/v1/messages/"+strconv.FormatInt(id, 10)+"/cancel")
}

// Stats returns the counts per status and the oldest pending message's age.
func (c *Client) Stats(ctx context.Context) (*StatsResponse, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "/v1/stats", nil, "", nil)
	if err != nil {
		return nil, err
	}
	var st StatsResponse
	if _, err := c.do(req, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Ready returns nil when the server's /readyz answers 200.
func (c *Client) Ready(ctx context.Context) error {
	req, err := c.newRequest(ctx, http.MethodGet, "/readyz", nil, "", nil)
	if err != nil {
		return err
	}
	_, err = c.do(req, nil)
	return err
}

// record sends a bodiless request that answers with a record.
func (c *Client) record(ctx context.Context, method, path string) (*outbox.Record, error) {
	req, err := c.newRequest(ctx, method, path, nil, "", nil)
	if err != nil {
		return nil, err
	}
	var rec outbox.Record
	if _, err := c.do(req, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// newRequest builds a request to the API.
func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, contentType string, body []byte) (*http.Request, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends a request and decodes a successful answer into out: JSON, or
// the bytes themselves when out is a *[]byte. Other answers become *Error.
func (c *Client) do(req *http.Request, out any) (int, error) {
	status, body, err := c.roundTrip(req)
	if err != nil {
		return status, err
	}
	if status < 200 || status > 299 {
		return status, responseError(status, body)
	}
	switch out := out.(type) {
	case nil:
	case *[]byte:
		*out = body
	default:
		if err := json.Unmarshal(body, out); err != nil {
			return status, fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err)
		}
	}
	return status, nil
}

// roundTrip sends a request and reads the whole answer.
func (c *Client) roundTrip(req *http.Request) (int, []byte, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Redacted(), err)
	}
	return resp.StatusCode, body, nil
}

// responseError reads an error answer: the API's error object, or the
// status and the start of the body when something else answered.
func responseError(status int, body []byte) *Error {
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
		eb.Error.Status = status
		return eb.Error
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{Status: status, Code: "http_" + strconv.Itoa(status), Message: msg}
}
