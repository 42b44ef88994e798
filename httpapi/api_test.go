package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
)

func TestEnqueueThenGet(t *testing.T) {
	f := newFixture(t, nil)
	r := f.post("/v1/messages", `{
		"from": {"name": "Alice", "email": "alice@example.com"},
		"to": ["Bob <bob@example.com>"],
		"cc": ["carol@example.com"],
		"subject": "Ticket #42",
		"text": "Hello Bob",
		"priority": "high",
		"tags": ["ticket"],
		"metadata": {"ticket": "42"},
		"send_at": "2030-01-02T04:00:00+01:00",
		"attachments": [{"filename": "a.txt", "content_type": "text/plain", "content": "aGVsbG8="}]
	}`)
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var rc httpapi.Receipt
	r.json(t, &rc)
	if rc.ID <= 0 || rc.Status != outbox.StatusQueued || !strings.HasPrefix(rc.MessageID, "<") || rc.Existing {
		t.Fatalf("receipt %+v", rc)
	}

	r = f.get("/v1/messages/" + strconv.FormatInt(rc.ID, 10))
	if r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	var rec outbox.Record
	r.json(t, &rec)
	if rec.ID != rc.ID || rec.MessageID != rc.MessageID || rec.Status != outbox.StatusQueued ||
		rec.From != "alice@example.com" || rec.Subject != "Ticket #42" || rec.Priority != outbox.PriorityHigh {
		t.Errorf("record %+v", rec)
	}
	if len(rec.Recipients) != 2 || rec.Recipients[0].Addr != "bob@example.com" ||
		rec.Recipients[1].Addr != "carol@example.com" || rec.Recipients[0].Status != outbox.RecipientPending {
		t.Errorf("recipients %+v", rec.Recipients)
	}
	if rec.Metadata["ticket"] != "42" || len(rec.Tags) != 1 || rec.Tags[0] != "ticket" {
		t.Errorf("tags %v metadata %v", rec.Tags, rec.Metadata)
	}
	// Times are written in UTC.
	body := string(r.body)
	mustContain(t, body, `"created_at":"2030-01-02T03:04:05Z"`, `"send_at":"2030-01-02T03:00:00Z"`,
		`"status":"pending"`, `"priority":"high"`)

	r = f.get(fmt.Sprintf("/v1/messages/%d/raw", rc.ID))
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "message/rfc822" {
		t.Fatalf("raw: %d %q", r.status, r.header.Get("Content-Type"))
	}
	mustContain(t, string(r.body), "Subject: Ticket #42\r\n", "Message-ID: "+rc.MessageID, "a.txt")
	if strings.Contains(string(r.body), "carol@example.com") == false {
		t.Errorf("Cc missing from the raw message")
	}
}

func TestGetErrors(t *testing.T) {
	f := newFixture(t, nil)
	wantError(t, f.get("/v1/messages/999"), http.StatusNotFound, "not_found", "")
	wantError(t, f.get("/v1/messages/abc"), http.StatusBadRequest, "invalid_field", "id")
	wantError(t, f.get("/v1/messages/-3"), http.StatusBadRequest, "invalid_field", "id")
	wantError(t, f.get("/v1/messages/999/raw"), http.StatusNotFound, "not_found", "")
}

func TestIdempotencyKey(t *testing.T) {
	f := newFixture(t, nil)
	first := f.post("/v1/messages", message("once"), "Idempotency-Key", "ticket-42")
	if first.status != http.StatusAccepted {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	again := f.post("/v1/messages", message("once"), "Idempotency-Key", "ticket-42")
	if again.status != http.StatusOK {
		t.Fatalf("repeat: %d %s, want 200", again.status, again.body)
	}
	var a, b httpapi.Receipt
	first.json(t, &a)
	again.json(t, &b)
	if a.ID != b.ID || a.MessageID != b.MessageID || !b.Existing {
		t.Fatalf("first %+v, repeat %+v: want the same message", a, b)
	}
	other := f.post("/v1/messages", message("once"), "Idempotency-Key", "ticket-43")
	var c httpapi.Receipt
	other.json(t, &c)
	if other.status != http.StatusAccepted || c.ID == a.ID {
		t.Fatalf("another key: %d %+v", other.status, c)
	}
	// The body's key must agree with the header's.
	wantError(t, f.post("/v1/messages", strings.Replace(message("x"), `{`, `{"idempotency_key":"k1",`, 1),
		"Idempotency-Key", "k2"), http.StatusBadRequest, "invalid_field", "idempotency_key")

	// A repeat answers with the first message even when the message would
	// be refused now: its expires_at has passed since.
	expiring := strings.Replace(message("expiring"), `{`, `{"expires_at":"`+f.clock.Now().Add(time.Hour).Format(time.RFC3339)+`",`, 1)
	var d, e httpapi.Receipt
	f.post("/v1/messages", expiring, "Idempotency-Key", "ticket-44").json(t, &d)
	f.clock.Add(2 * time.Hour)
	late := f.post("/v1/messages", expiring, "Idempotency-Key", "ticket-44")
	if late.status != http.StatusOK {
		t.Fatalf("repeat after expires_at: %d %s, want 200", late.status, late.body)
	}
	if late.json(t, &e); e.ID != d.ID || !e.Existing {
		t.Errorf("repeat after expires_at: %+v, want message %d", e, d.ID)
	}
	// Without the key, or with a new one, the message is refused.
	wantError(t, f.post("/v1/messages", expiring, "Idempotency-Key", "ticket-45"), http.StatusBadRequest, "invalid_field", "expires_at")

	var page httpapi.ListResponse
	f.get("/v1/messages").json(t, &page)
	if len(page.Messages) != 3 {
		t.Fatalf("%d messages stored, want 3", len(page.Messages))
	}
}

func TestRawSubmission(t *testing.T) {
	f := newFixture(t, nil)
	raw := "Date: Wed, 02 Jan 2030 03:04:05 +0000\r\n" +
		"Message-ID: <raw-1@example.com>\r\n" +
		"From: Alice <alice@example.com>\r\n" +
		"To: bob@example.com\r\n" +
		"Subject: Raw one\r\n" +
		"\r\n" +
		"Exactly these bytes.\r\n"
	q := url.Values{"from": {"bounces@example.com"}, "to": {"bob@example.com", "dave@example.com"},
		"priority": {"low"}, "tag": {"raw", "test"}}
	r := f.do(http.MethodPost, "/v1/messages?"+q.Encode(), "message/rfc822", []byte(raw))
	if r.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var rc httpapi.Receipt
	r.json(t, &rc)
	if rc.MessageID != "<raw-1@example.com>" {
		t.Errorf("message id %q", rc.MessageID)
	}
	got := f.get(fmt.Sprintf("/v1/messages/%d/raw", rc.ID))
	if string(got.body) != raw {
		t.Errorf("stored bytes differ:\n%q\nwant\n%q", got.body, raw)
	}
	var rec outbox.Record
	f.get(fmt.Sprintf("/v1/messages/%d", rc.ID)).json(t, &rec)
	if rec.From != "bounces@example.com" || len(rec.Recipients) != 2 || rec.Recipients[1].Addr != "dave@example.com" ||
		rec.Priority != outbox.PriorityLow || len(rec.Tags) != 2 || rec.Subject != "Raw one" {
		t.Errorf("record %+v", rec)
	}

	// An empty envelope sender (a bounce) is allowed, written empty or
	// as SMTP writes it, <>.
	for _, from := range []string{"", "%3C%3E"} {
		r = f.do(http.MethodPost, "/v1/messages?from="+from+"&to=bob@example.com", "message/rfc822", []byte(raw))
		if r.status != http.StatusAccepted {
			t.Errorf("null sender from=%s: %d %s", from, r.status, r.body)
			continue
		}
		r.json(t, &rc)
		f.get(fmt.Sprintf("/v1/messages/%d", rc.ID)).json(t, &rec)
		if rec.From != "" {
			t.Errorf("null sender from=%s stored as %q", from, rec.From)
		}
	}
	wantError(t, f.do(http.MethodPost, "/v1/messages?from=a@example.com", "message/rfc822", []byte(raw)),
		http.StatusBadRequest, "invalid_field", "to")
	wantError(t, f.do(http.MethodPost, "/v1/messages?to=b@example.com&subject=x", "message/rfc822", []byte(raw)),
		http.StatusBadRequest, "invalid_field", "subject")
	wantError(t, f.do(http.MethodPost, "/v1/messages?to=b@example.com", "message/rfc822", nil),
		http.StatusBadRequest, "invalid_field", "body")
	wantError(t, f.do(http.MethodPost, "/v1/messages?to=not-an-address", "message/rfc822", []byte(raw)),
		http.StatusBadRequest, "invalid_field", "to[0]")
	wantError(t, f.do(http.MethodPost, "/v1/messages?to=b@example.com&send_at=tomorrow", "message/rfc822", []byte(raw)),
		http.StatusBadRequest, "invalid_field", "send_at")
	// A pair that does not decode refuses the request rather than losing
	// a recipient or the sender.
	for _, q := range []string{"from=a@example.com&to=bob@example.com&to=carol%ZZ@example.com",
		"from=b%ZZ@example.com&to=bob@example.com", "to=bob@example.com;to=carol@example.com"} {
		wantError(t, f.do(http.MethodPost, "/v1/messages?"+q, "message/rfc822", []byte(raw)),
			http.StatusBadRequest, "invalid_field", "query")
	}
}

func TestBatch(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.MaxBatch = 3 })
	r := f.post("/v1/messages/batch", `{"messages": [`+message("one")+`,
		{"from": "alice@example.com", "subject": "no recipient", "text": "x"},
		`+message("three")+`,
	]}`)
	wantError(t, r, http.StatusBadRequest, "malformed_json", "") // the trailing comma

	r = f.post("/v1/messages/batch", `{"messages": [`+message("one")+`,
		{"from": "alice@example.com", "subject": "no recipient", "text": "x"},
		{"from": "alice@example.com", "to": ["bob@example.com"], "text": "x", "priority": "urgent"}
	]}`)
	results := batchResults(t, r, 3)
	if results[0].Receipt == nil || results[0].ID <= 0 || results[0].Error != nil {
		t.Errorf("item 0: %s", r.body)
	}
	for i, field := range map[int]string{1: "to", 2: "priority"} {
		if e := results[i].Error; e == nil || e.Code != "invalid_field" || e.Field != field || results[i].Receipt != nil {
			t.Errorf("item %d: want an invalid_field error on %q: %s", i, field, r.body)
		}
	}
	var rec outbox.Record
	if g := f.get(fmt.Sprintf("/v1/messages/%d", results[0].ID)); g.status != http.StatusOK {
		t.Errorf("the valid item was not stored: %d", g.status)
	} else if g.json(t, &rec); rec.Subject != "one" {
		t.Errorf("stored %q", rec.Subject)
	}

	r = f.post("/v1/messages/batch", `{"messages": [{"to": ["bob@example.com"]}, {"bogus": 1}]}`)
	if r.status != http.StatusBadRequest {
		t.Fatalf("all invalid: %d %s", r.status, r.body)
	}
	var resp httpapi.BatchResponse
	r.json(t, &resp)
	if len(resp.Results) != 2 || resp.Results[0].Error == nil || resp.Results[1].Error == nil ||
		resp.Results[1].Error.Field != "bogus" {
		t.Errorf("all invalid: %s", r.body)
	}

	wantError(t, f.post("/v1/messages/batch", `{"messages": []}`), http.StatusBadRequest, "invalid_field", "messages")
	wantError(t, f.post("/v1/messages/batch", `{"messages": [{},{},{},{}]}`), http.StatusRequestEntityTooLarge, "too_large", "messages")
	wantError(t, f.post("/v1/messages/batch", `{"msgs": []}`), http.StatusBadRequest, "invalid_field", "msgs")

	// A key for the whole batch is refused: it would be ignored.
	wantError(t, f.post("/v1/messages/batch", `{"messages": [`+message("x")+`]}`, "Idempotency-Key", "b-1"),
		http.StatusBadRequest, "invalid_field", "Idempotency-Key")

	// Idempotency keys work per item.
	item := strings.Replace(message("keyed"), `{`, `{"idempotency_key":"k-1",`, 1)
	var a, b httpapi.BatchResponse
	f.post("/v1/messages/batch", `{"messages": [`+item+`]}`).json(t, &a)
	f.post("/v1/messages/batch", `{"messages": [`+item+`]}`).json(t, &b)
	if a.Results[0].Receipt == nil || b.Results[0].Receipt == nil || a.Results[0].ID != b.Results[0].ID || !b.Results[0].Existing {
		t.Errorf("batch idempotency: %+v then %+v", a.Results[0].Receipt, b.Results[0].Receipt)
	}
}

func TestListPagination(t *testing.T) {
	f := newFixture(t, nil)
	var ids []int64
	for i := range 5 {
		ids = append(ids, f.enqueue(fmt.Sprintf("m%d", i)))
	}
	var seen []int64
	cursor := ""
	pages := 0
	for {
		path := "/v1/messages?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := f.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		var page httpapi.ListResponse
		r.json(t, &page)
		pages++
		for _, m := range page.Messages {
			seen = append(seen, m.ID)
			if len(m.Recipients) != 2 {
				t.Errorf("listed message %d has %d recipients", m.ID, len(m.Recipients))
			}
		}
		if page.NextCursor == "" {
			if strings.Contains(string(r.body), "next_cursor") {
				t.Errorf("next_cursor present at the end: %s", r.body)
			}
			break
		}
		cursor = page.NextCursor
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	want := []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if fmt.Sprint(seen) != fmt.Sprint(want) || pages != 3 {
		t.Errorf("pages %d, ids %v, want %v newest first in 3 pages", pages, seen, want)
	}

	if _, err := f.client.Cancel(context.Background(), ids[0]); err != nil {
		t.Fatal(err)
	}
	var page httpapi.ListResponse
	f.get("/v1/messages?status=cancelled").json(t, &page)
	if len(page.Messages) != 1 || page.Messages[0].ID != ids[0] {
		t.Errorf("status filter: %+v", page.Messages)
	}
	r := f.get("/v1/messages?status=failed")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"messages":[]`) {
		t.Errorf("empty page: %d %s", r.status, r.body)
	}

	wantError(t, f.get("/v1/messages?status=lost"), http.StatusBadRequest, "invalid_field", "status")
	wantError(t, f.get("/v1/messages?limit=0"), http.StatusBadRequest, "invalid_field", "limit")
	wantError(t, f.get("/v1/messages?limit=ten"), http.StatusBadRequest, "invalid_field", "limit")
	wantError(t, f.get("/v1/messages?limit=100000"), http.StatusBadRequest, "invalid_field", "limit")
	wantError(t, f.get("/v1/messages?cursor=x"), http.StatusBadRequest, "invalid_field", "cursor")
	wantError(t, f.get("/v1/messages?state=queued"), http.StatusBadRequest, "invalid_field", "state")
	// A filter that does not decode is refused, not dropped.
	wantError(t, f.get("/v1/messages?status=cancelled%ZZ"), http.StatusBadRequest, "invalid_field", "query")
	// Empty parameters, as in the README's ?status=&limit=&cursor=, are
	// the defaults.
	f.get("/v1/messages?status=&limit=&cursor=").json(t, &page)
	if len(page.Messages) != len(ids) {
		t.Errorf("empty parameters: %d messages, want %d", len(page.Messages), len(ids))
	}
}

func TestRetryAndCancel(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	id := f.enqueue("to cancel")

	r := f.post(fmt.Sprintf("/v1/messages/%d/cancel", id), "")
	if r.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	var rec outbox.Record
	r.json(t, &rec)
	if rec.ID != id || rec.Status != outbox.StatusCancelled {
		t.Errorf("after cancel: %+v", rec)
	}
	wantError(t, f.post(fmt.Sprintf("/v1/messages/%d/cancel", id), ""), http.StatusConflict, "conflict", "")
	wantError(t, f.post(fmt.Sprintf("/v1/messages/%d/retry", id), ""), http.StatusConflict, "conflict", "")
	wantError(t, f.post("/v1/messages/12345/retry", ""), http.StatusNotFound, "not_found", "")
	wantError(t, f.post("/v1/messages/12345/cancel", ""), http.StatusNotFound, "not_found", "")
	wantError(t, f.post("/v1/messages/x/cancel", ""), http.StatusBadRequest, "invalid_field", "id")

	// A failed message can be retried.
	id = f.enqueue("to fail")
	now := f.clock.Now()
	claimed, err := f.store.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: time.Minute, Limit: 10})
	if err != nil || len(claimed) != 1 || claimed[0].ID != id {
		t.Fatalf("claim: %v %d", err, len(claimed))
	}
	c := claimed[0]
	var rcpts []outbox.Recipient
	for _, rc := range c.Recipients {
		rc.Status = outbox.RecipientFailed
		rc.Reply = outbox.Reply{Code: 550, Enhanced: "5.1.1", Text: "no such user"}
		rcpts = append(rcpts, rc)
	}
	err = f.store.Complete(ctx, outbox.Outcome{ID: id, Lease: c.Lease, Now: now, Status: outbox.StatusFailed,
		Attempts: 1, LastError: "550 5.1.1 no such user", Recipients: rcpts,
		Attempt: &outbox.Attempt{At: now, Backend: "test", Class: outbox.ClassPermanent,
			Reply: outbox.Reply{Code: 550, Enhanced: "5.1.1", Text: "no such user"}}})
	if err != nil {
		t.Fatal(err)
	}
	var failed outbox.Record
	f.get(fmt.Sprintf("/v1/messages/%d", id)).json(t, &failed)
	if failed.Status != outbox.StatusFailed || len(failed.AttemptLog) != 1 || failed.AttemptLog[0].Reply.Code != 550 ||
		failed.Recipients[0].Status != outbox.RecipientFailed {
		t.Errorf("failed record: %+v", failed)
	}
	r = f.post(fmt.Sprintf("/v1/messages/%d/retry", id), "")
	if r.status != http.StatusOK {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	rec = outbox.Record{}
	r.json(t, &rec)
	if rec.Status != outbox.StatusQueued {
		t.Errorf("after retry: %s", rec.Status)
	}
}

func TestStats(t *testing.T) {
	f := newFixture(t, nil)
	r := f.get("/v1/stats")
	var st httpapi.StatsResponse
	r.json(t, &st)
	if r.status != http.StatusOK || len(st.Counts) != len(outbox.Statuses) || st.Counts[outbox.StatusQueued] != 0 ||
		!st.OldestPendingAt.IsZero() || strings.Contains(string(r.body), "oldest_pending_at") {
		t.Fatalf("empty stats: %d %s", r.status, r.body)
	}
	f.enqueue("a")
	f.clock.Add(time.Minute)
	id := f.enqueue("b")
	f.enqueue("c")
	if _, err := f.client.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(90 * time.Second)
	st = httpapi.StatsResponse{}
	f.get("/v1/stats").json(t, &st)
	if st.Counts[outbox.StatusQueued] != 2 || st.Counts[outbox.StatusCancelled] != 1 {
		t.Errorf("counts %v", st.Counts)
	}
	if !st.OldestPendingAt.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) || st.OldestPendingAgeSeconds != 150 {
		t.Errorf("oldest pending %s, age %v; want 2030-01-02T03:04:05Z and 150", st.OldestPendingAt, st.OldestPendingAgeSeconds)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	notReady := error(nil)
	var mu sync.Mutex
	f := newFixture(t, func(c *httpapi.Config) {
		c.Tokens = []string{"secret"}
		c.Ready = func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			return notReady
		}
	})
	for _, path := range []string{"/healthz", "/readyz"} {
		r := f.get(path)
		if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	mu.Lock()
	notReady = fmt.Errorf("engine not started")
	mu.Unlock()
	e := wantError(t, f.get("/readyz"), http.StatusServiceUnavailable, "unavailable", "")
	mustContain(t, e.Message, "engine not started")

	mu.Lock()
	notReady = nil
	mu.Unlock()
	f.store.Close()
	wantError(t, f.get("/readyz"), http.StatusServiceUnavailable, "unavailable", "")
	if r := f.get("/healthz"); r.status != http.StatusOK {
		t.Errorf("healthz with the store closed: %d", r.status)
	}
	r := f.post("/v1/messages", message("down"), "Authorization", "Bearer secret")
	wantError(t, r, http.StatusServiceUnavailable, "unavailable", "")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.Tokens = []string{"first-token", "second-token"} })
	endpoints := []struct{ method, path, body string }{
		{"POST", "/v1/messages", message("x")},
		{"POST", "/v1/messages/batch", `{"messages": [` + message("x") + `]}`},
		{"GET", "/v1/messages", ""},
		{"GET", "/v1/messages/1", ""},
		{"GET", "/v1/messages/1/raw", ""},
		{"POST", "/v1/messages/1/retry", ""},
		{"POST", "/v1/messages/1/cancel", ""},
		{"GET", "/v1/stats", ""},
	}
	for _, ep := range endpoints {
		for _, hdr := range []string{"", "Bearer wrong-token", "Basic Zmlyc3QtdG9rZW4=", "Bearer first-token-and-more", "Bearer "} {
			var headers []string
			if hdr != "" {
				headers = []string{"Authorization", hdr}
			}
			r := f.do(ep.method, ep.path, "application/json", []byte(ep.body), headers...)
			wantError(t, r, http.StatusUnauthorized, "unauthorized", "")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: WWW-Authenticate %q", ep.method, ep.path, r.header.Get("WWW-Authenticate"))
			}
		}
	}
	r := f.post("/v1/messages", message("x"), "Authorization", "Bearer second-token")
	if r.status != http.StatusAccepted {
		t.Fatalf("with the right token: %d %s", r.status, r.body)
	}
	if r := f.get("/v1/messages/1", "Authorization", "bearer first-token"); r.status != http.StatusOK {
		t.Errorf("lower-case scheme: %d %s", r.status, r.body)
	}
	if r := f.get("/v1/stats", "Authorization", "Bearer first-token"); r.status != http.StatusOK {
		t.Errorf("stats with a token: %d", r.status)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := f.get(path); r.status != http.StatusOK {
			t.Errorf("%s without a token: %d", path, r.status)
		}
	}
	// Without a token, no 405 or 404 under /v1/ tells which endpoints
	// exist.
	for _, p := range []string{"/v1/stats", "/v1/messages", "/v1/messages/1", "/v1/messages/batch", "/v1/messages/1/raw", "/v1/nothing"} {
		wantError(t, f.do(http.MethodDelete, p, "", nil), http.StatusUnauthorized, "unauthorized", "")
	}
}

func TestRoutes(t *testing.T) {
	var mu sync.Mutex
	var observed []string
	f := newFixture(t, func(c *httpapi.Config) {
		c.Observe = func(route string, status int, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			observed = append(observed, fmt.Sprintf("%s=%d", route, status))
		}
	})
	r := f.do(http.MethodDelete, "/v1/stats", "", nil)
	wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed", "")
	if r.header.Get("Allow") != "GET" {
		t.Errorf("Allow %q", r.header.Get("Allow"))
	}
	r = f.do(http.MethodPut, "/v1/messages", "", nil)
	wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed", "")
	if r.header.Get("Allow") != "GET, POST" {
		t.Errorf("Allow %q", r.header.Get("Allow"))
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		r = f.do(method, "/v1/messages/batch", "", nil)
		wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed", "")
		if r.header.Get("Allow") != "POST" {
			t.Errorf("%s batch: Allow %q, want POST", method, r.header.Get("Allow"))
		}
	}
	wantError(t, f.get("/v2/things"), http.StatusNotFound, "not_found", "")
	wantError(t, f.get("/v1/messages/1/unknown"), http.StatusNotFound, "not_found", "")

	f.enqueue("observed")
	mu.Lock()
	defer mu.Unlock()
	want := []string{"/v1/stats=405", "/v1/messages=405", "GET /v1/messages/batch=405", "/v1/messages/{id}=405", "/=404", "/v1/=404", "POST /v1/messages=202"}
	if fmt.Sprint(observed) != fmt.Sprint(want) {
		t.Errorf("observed %v\nwant     %v", observed, want)
	}
}
