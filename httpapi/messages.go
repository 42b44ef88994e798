package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/outboxmail/outbox"
)

// List limits of GET /v1/messages.
const (
	// DefaultListLimit is the page size when limit is not given.
	DefaultListLimit = 50
	// MaxListLimit is the largest page size accepted.
	MaxListLimit = 1000
)

// get serves GET /v1/messages/{id}: the record with its recipients and
// attempt log.
func (s *server) get(w http.ResponseWriter, r *http.Request) {
	rec, err := s.record(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, inUTC(rec))
}

// raw serves GET /v1/messages/{id}/raw: the stored RFC 5322 bytes.
func (s *server) raw(w http.ResponseWriter, r *http.Request) {
	rec, err := s.record(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "message/rfc822")
	h.Set("Content-Length", strconv.Itoa(len(rec.Raw)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rec.Raw)
}

// record fetches the message named by the {id} path value.
func (s *server) record(r *http.Request) (*outbox.Record, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return s.client.Get(r.Context(), id)
}

// list serves GET /v1/messages?status=&limit=&cursor=, newest first.
func (s *server) list(w http.ResponseWriter, r *http.Request) {
	q, err := listQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.client.List(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := ListResponse{Messages: page.Records}
	if resp.Messages == nil {
		resp.Messages = []*outbox.Record{}
	}
	for _, rec := range resp.Messages {
		inUTC(rec)
	}
	if page.Next != 0 {
		resp.NextCursor = strconv.FormatInt(page.Next, 10)
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// listQuery parses the query of a listing, refusing unknown parameters.
func listQuery(r *http.Request) (outbox.ListQuery, error) {
	q := outbox.ListQuery{Limit: DefaultListLimit}
	params, err := query(r)
	if err != nil {
		return q, err
	}
	for key, vals := range params {
		v := last(vals)
		switch key {
		case "status":
			if v == "" {
				continue
			}
			st, err := outbox.ParseStatus(v)
			if err != nil {
				return q, badField("status", "%v", err)
			}
			q.Status = st
		case "limit":
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxListLimit {
				return q, badField("limit", "invalid limit %q: want an integer from 1 to %d", v, MaxListLimit)
			}
			q.Limit = n
		case "cursor":
			if v == "" {
				continue
			}
			c, err := strconv.ParseInt(v, 10, 64)
			if err != nil || c <= 0 {
				return q, badField("cursor", "invalid cursor %q: pass the next_cursor of the previous page", v)
			}
			q.Before = c
		default:
			return q, badField(key, "unknown query parameter %q (want status, limit or cursor)", key)
		}
	}
	return q, nil
}

// retry serves POST /v1/messages/{id}/retry.
func (s *server) retry(w http.ResponseWriter, r *http.Request) {
	s.transition(w, r, s.client.Retry)
}

// cancel serves POST /v1/messages/{id}/cancel.
func (s *server) cancel(w http.ResponseWriter, r *http.Request) {
	s.transition(w, r, s.client.Cancel)
}

// transition applies an operator's operation and answers with the record.
func (s *server) transition(w http.ResponseWriter, r *http.Request, op func(ctx context.Context, id int64) (*outbox.Record, error)) {
	id, err := pathID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rec, err := op(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, inUTC(rec))
}

// pathID parses the {id} path value.
func pathID(r *http.Request) (int64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, badField("id", "invalid message id %q: want a positive integer", v)
	}
	return id, nil
}
