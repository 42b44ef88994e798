package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
)

func TestClient(t *testing.T) {
	f := newFixture(t, func(c *httpapi.Config) { c.Tokens = []string{"tok"} })
	ctx := context.Background()
	c := httpapi.NewClient(f.srv.URL+"/", "tok", f.srv.Client())

	m := &outbox.Message{
		From:           outbox.Address{Name: "Alice", Addr: "alice@example.com"},
		To:             []outbox.Address{{Addr: "bob@example.com"}},
		Subject:        "Via the client",
		Text:           "Hello",
		Priority:       outbox.PriorityHigh,
		SendAt:         time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC),
		Attachments:    []outbox.Attachment{{Filename: "a.bin", ContentType: "application/octet-stream", Content: []byte{0, 1, 2, 255}}},
		Metadata:       map[string]string{"k": "v"},
		IdempotencyKey: "client-1",
	}
	rc, err := c.Send(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if rc.ID <= 0 || rc.Status != outbox.StatusQueued || rc.Existing {
		t.Fatalf("receipt %+v", rc)
	}
	again, err := c.Send(ctx, m)
	if err != nil || again.ID != rc.ID || !again.Existing {
		t.Fatalf("repeat: %+v %v", again, err)
	}

	rec, err := c.Get(ctx, rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Subject != "Via the client" || rec.Priority != outbox.PriorityHigh || !rec.SendAt.Equal(m.SendAt) ||
		rec.Metadata["k"] != "v" || rec.IdempotencyKey != "client-1" {
		t.Errorf("record %+v", rec)
	}
	raw, err := c.Raw(ctx, rc.ID)
	if err != nil || !strings.Contains(string(raw), "Subject: Via the client\r\n") {
		t.Errorf("raw: %v %q", err, raw)
	}

	rawMsg := []byte("From: a@example.com\r\nTo: b@example.com\r\nSubject: raw via client\r\n\r\nbody\r\n")
	rrc, err := c.SendRaw(ctx, rawMsg, "", []string{"b@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := c.Get(ctx, rrc.ID); err != nil || rec.From != "" || rec.Subject != "raw via client" {
		t.Errorf("raw record %+v %v", rec, err)
	}

	res, err := c.SendBatch(ctx, []*outbox.Message{
		{From: outbox.Address{Addr: "alice@example.com"}, To: []outbox.Address{{Addr: "bob@example.com"}}, Text: "1"},
		{From: outbox.Address{Addr: "alice@example.com"}, Text: "no recipient"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var fe *outbox.FieldError
	if len(res) != 2 || res[0].Receipt == nil || res[0].Err != nil || !errors.As(res[1].Err, &fe) || fe.Field != "to" {
		t.Errorf("batch %+v", res)
	}
	res, err = c.SendBatch(ctx, []*outbox.Message{{Text: "nothing"}})
	if err != nil || len(res) != 1 || res[0].Err == nil {
		t.Errorf("all-invalid batch: %+v %v", res, err)
	}

	page, err := c.List(ctx, outbox.ListQuery{Limit: 2})
	if err != nil || len(page.Records) != 2 || page.Next == 0 {
		t.Fatalf("list: %+v %v", page, err)
	}
	next, err := c.List(ctx, outbox.ListQuery{Limit: 2, Before: page.Next})
	if err != nil || len(next.Records) != 1 || next.Next != 0 || next.Records[0].ID != rc.ID {
		t.Fatalf("second page: %+v %v", next, err)
	}

	if rec, err := c.Cancel(ctx, rc.ID); err != nil || rec.Status != outbox.StatusCancelled {
		t.Errorf("cancel: %+v %v", rec, err)
	}
	_, err = c.Retry(ctx, rc.ID)
	var apiErr *httpapi.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || apiErr.Code != httpapi.CodeConflict {
		t.Errorf("retry a cancelled message: %v", err)
	}
	st, err := c.Stats(ctx)
	if err != nil || st.Counts[outbox.StatusCancelled] != 1 || st.Counts[outbox.StatusQueued] != 2 {
		t.Errorf("stats %+v %v", st, err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Errorf("ready: %v", err)
	}

	_, err = c.Get(ctx, 9999)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("get unknown: %v", err)
	}
	_, err = c.Send(ctx, &outbox.Message{From: outbox.Address{Addr: "alice@example.com"}, Text: "x"})
	if !errors.As(err, &fe) || fe.Field != "to" {
		t.Errorf("invalid message: %v", err)
	}
	_, err = c.List(ctx, outbox.ListQuery{Status: "lost"})
	if !errors.As(err, &apiErr) || apiErr.Field != "status" {
		t.Errorf("bad status: %v", err)
	}

	_, err = httpapi.NewClient(f.srv.URL, "wrong", f.srv.Client()).Stats(ctx)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized || apiErr.Code != httpapi.CodeUnauthorized {
		t.Errorf("wrong token: %v", err)
	}
}

func TestClientForeignAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway from a proxy", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := httpapi.NewClient(srv.URL, "", nil).Get(context.Background(), 1)
	var apiErr *httpapi.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadGateway || apiErr.Code != "http_502" ||
		!strings.Contains(apiErr.Message, "bad gateway from a proxy") {
		t.Errorf("proxy error: %#v", err)
	}

	srv.Close()
	_, err = httpapi.NewClient(srv.URL, "", nil).Stats(context.Background())
	if err == nil || errors.As(err, &apiErr) {
		t.Errorf("closed server: %v", err)
	}
}
