package httpapi

import (
	"net/http"
	"time"

	"github.com/outboxmail/outbox"
)

// stats serves GET /v1/stats.
func (s *server) stats(w http.ResponseWriter, r *http.Request) {
	st, err := s.client.Stats(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := StatsResponse{Counts: make(map[outbox.Status]int64, len(outbox.Statuses))}
	for _, status := range outbox.Statuses {
		resp.Counts[status] = st.Counts[status]
	}
	if !st.OldestPending.IsZero() {
		resp.OldestPendingAt = st.OldestPending.UTC()
		age := s.now().Sub(st.OldestPending)
		resp.OldestPendingAgeSeconds = max(age, 0).Round(time.Millisecond).Seconds()
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// healthz serves GET /healthz: the process is up.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, statusResponse{Status: "ok"})
}

// readyz serves GET /readyz: 200 when the store can commit a write (and
// Config.Ready agrees), 503 otherwise.
func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	err := s.client.Ping(r.Context())
	if err == nil && s.ready != nil {
		err = s.ready(r.Context())
	}
	if err != nil {
		s.writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: err.Error()})
		return
	}
	s.writeJSON(w, http.StatusOK, statusResponse{Status: "ok"})
}
