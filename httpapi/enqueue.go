package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/outboxmail/outbox"
)

// enqueue serves POST /v1/messages: a JSON message, or a raw RFC 5322
// message with Content-Type message/rfc822.
func (s *server) enqueue(w http.ResponseWriter, r *http.Request) {
	var (
		m   *outbox.Message
		err error
	)
	switch mt := mediaType(r.Header.Get("Content-Type")); {
	case mt == "message/rfc822":
		m, err = s.readRaw(w, r)
	case isJSON(mt):
		m, err = s.readMessage(w, r)
	default:
		err = unsupported(mt, "application/json or message/rfc822")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if m.IdempotencyKey != "" && m.IdempotencyKey != key {
			s.writeError(w, r, badField("idempotency_key", "differs from the Idempotency-Key header"))
			return
		}
		m.IdempotencyKey = key
	}
	rc, err := s.client.Enqueue(r.Context(), m)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusAccepted
	if rc.Existing {
		status = http.StatusOK
	}
	s.writeJSON(w, status, receiptOf(rc))
}

// readMessage decodes a JSON message from the body.
func (s *server) readMessage(w http.ResponseWriter, r *http.Request) (*outbox.Message, error) {
	body, err := s.body(w, r)
	if err != nil {
		return nil, err
	}
	var in messageIn
	if err := decodeJSON(body, &in); err != nil {
		return nil, err
	}
	return in.message()
}

// readRaw reads a message/rfc822 body and its envelope from the query:
// from (the envelope sender, may be empty), to (repeated), and optionally
// priority, backend, send_at, expires_at and tag (repeated).
func (s *server) readRaw(w http.ResponseWriter, r *http.Request) (*outbox.Message, error) {
	q, err := query(r)
	if err != nil {
		return nil, err
	}
	m, err := rawEnvelope(q)
	if err != nil {
		return nil, err
	}
	body, err := s.body(w, r)
	if err != nil {
		return nil, err
	}
	if m.Raw, err = readBody(body, r.ContentLength); err != nil {
		return nil, err
	}
	if len(m.Raw) == 0 {
		return nil, badField("body", "empty message: send the RFC 5322 message as the body")
	}
	return m, nil
}

// rawEnvelope builds the envelope of a raw submission from its query.
func rawEnvelope(q url.Values) (*outbox.Message, error) {
	m := &outbox.Message{}
	for key, vals := range q {
		var err error
		switch key {
		case "from":
			if len(vals) > 1 {
				return nil, badField("from", "given %d times; the envelope has one sender", len(vals))
			}
			if vals[0] != "<>" { // <> is the null sender, as from= (empty)
				m.From = outbox.Address{Addr: vals[0]}
			}
		case "to":
			for _, v := range vals {
				m.To = append(m.To, outbox.Address{Addr: v})
			}
		case "priority":
			if m.Priority, err = outbox.ParsePriority(last(vals)); err != nil {
				return nil, badField("priority", "%v", err)
			}
		case "backend":
			m.Backend = last(vals)
		case "send_at":
			if m.SendAt, err = parseTime("send_at", last(vals)); err != nil {
				return nil, err
			}
		case "expires_at":
			if m.ExpiresAt, err = parseTime("expires_at", last(vals)); err != nil {
				return nil, err
			}
		case "tag":
			m.Tags = vals
		default:
			return nil, badField(key, "unknown query parameter %q (want from, to, priority, backend, send_at, expires_at or tag)", key)
		}
	}
	if len(m.To) == 0 {
		return nil, badField("to", "a raw message needs at least one envelope recipient: add ?to=local@domain")
	}
	return m, nil
}

// enqueueBatch serves POST /v1/messages/batch. Each item is decoded and
// validated on its own; the valid ones are committed together.
func (s *server) enqueueBatch(w http.ResponseWriter, r *http.Request) {
	if mt := mediaType(r.Header.Get("Content-Type")); !isJSON(mt) {
		s.writeError(w, r, unsupported(mt, "application/json"))
		return
	}
	if r.Header.Get("Idempotency-Key") != "" {
		// One key cannot stand for many messages: ignored, it would let a
		// retried batch enqueue everything twice.
		s.writeError(w, r, badField("Idempotency-Key", "a batch takes no Idempotency-Key header: give each item its own idempotency_key"))
		return
	}
	body, err := s.body(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	items, err := decodeBatch(body, s.maxBatch)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	results := make([]BatchResult, len(items))
	valid := make([]*outbox.Message, 0, len(items))
	index := make([]int, 0, len(items))
	for i, it := range items {
		if it.err != nil {
			results[i].Error = s.itemError(r, it.err)
			continue
		}
		valid = append(valid, it.m)
		index = append(index, i)
	}
	accepted := 0
	if len(valid) > 0 {
		res, err := s.client.EnqueueBatch(r.Context(), valid)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for j, br := range res {
			i := index[j]
			if br.Err != nil {
				results[i].Error = s.itemError(r, br.Err)
				continue
			}
			results[i].Receipt = receiptOf(br.Receipt)
			accepted++
		}
	}
	status := http.StatusAccepted
	if accepted == 0 {
		status = http.StatusBadRequest
	}
	s.writeJSON(w, status, BatchResponse{Results: results})
}

// itemError is the error of one batch item, logged when unexpected.
func (s *server) itemError(r *http.Request, err error) *Error {
	e, unexpected := errorFor(err)
	if unexpected {
		s.log.ErrorContext(r.Context(), "httpapi: batch item failed", slog.Any("err", err))
	}
	return e
}

// body returns the request body limited to MaxBodyBytes; a declared
// Content-Length over the limit is refused before reading.
func (s *server) body(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	if r.ContentLength > s.maxBody {
		return nil, &http.MaxBytesError{Limit: s.maxBody}
	}
	return http.MaxBytesReader(w, r.Body, s.maxBody), nil
}

// readBody reads a whole body of the declared length size (unknown when
// not positive).
func readBody(r io.Reader, size int64) ([]byte, error) {
	const firstBodyBuffer = 64 << 10
	var (
		buf []byte
		err error
	)
	if size <= 0 {
		buf, err = io.ReadAll(r)
	} else {
		// The declared length sizes the buffer only as far as bytes come:
		// a client declaring 25 MiB and sending slowly holds what it sent.
		b := bytes.NewBuffer(make([]byte, 0, min(size, firstBodyBuffer)))
		if _, err = io.CopyN(b, r, size); err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		buf = b.Bytes()
	}
	var sizeErr *http.MaxBytesError
	switch {
	case err == nil:
		return buf, nil
	case errors.As(err, &sizeErr):
		return nil, err
	}
	return nil, badField("body", "cannot read the body: %v", err)
}

// mediaType returns the lower-case media type of a Content-Type value,
// without parameters.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}

// isJSON reports whether a media type is JSON; an absent one counts.
func isJSON(mt string) bool {
	return mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// unsupported is the 415 for a Content-Type an endpoint does not take.
func unsupported(mt, want string) *Error {
	return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedType,
		Message: fmt.Sprintf("Content-Type %q is not supported here: send %s", mt, want)}
}

// last returns the last of a query parameter's values.
func last(vals []string) string { return vals[len(vals)-1] }

// query parses r's query string. A pair that does not decode (a bad %
// escape, a semicolon) refuses the request: url.URL.Query would drop it,
// and with it a recipient or a filter.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badField("query", "invalid query string: %v", err)
	}
	return q, nil
}
