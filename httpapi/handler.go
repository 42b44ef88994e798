package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/outboxmail/outbox"
)

// DefaultMaxBodyBytes is the default limit of a request body: 25 MiB.
const DefaultMaxBodyBytes = 25 << 20

// DefaultMaxBatch is the default limit of messages in one batch request.
const DefaultMaxBatch = 1000

// Config configures the API handler.
type Config struct {
	// Client enqueues and manages messages. Required.
	Client *outbox.Client
	// Tokens are the accepted bearer tokens. When not empty, every /v1/
	// endpoint requires "Authorization: Bearer <one of them>"; /healthz and
	// /readyz never do.
	Tokens []string
	// MaxBodyBytes limits a request body; a larger one gets 413. Zero
	// means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxBatch limits the messages of one batch request; more gets 413.
	// Zero means DefaultMaxBatch.
	MaxBatch int
	// Logger receives unexpected errors (500s) and store outages (503s).
	// Nil means slog.Default().
	Logger *slog.Logger
	// Ready, when set, is checked by /readyz after Client.Ping, e.g. to
	// report an engine that has not started yet. A non-nil error makes
	// /readyz answer 503 with its text.
	Ready func(ctx context.Context) error
	// Observe, when set, is called after every request with the pattern
	// that matched ("POST /v1/messages", "GET /v1/messages/{id}"; the bare
	// path for a method not allowed; "/" for an unknown path), the
	// response status and the time taken, e.g. to feed Prometheus metrics.
	// The pattern keeps label cardinality bounded.
	Observe func(route string, status int, elapsed time.Duration)
	// Now is the clock used for ages in /v1/stats; nil means time.Now.
	Now func() time.Time
}

// server is the handler New returns.
type server struct {
	client   *outbox.Client
	auth     bool // Config.Tokens was not empty
	tokens   [][32]byte
	maxBody  int64
	maxBatch int
	log      *slog.Logger
	ready    func(ctx context.Context) error
	observe  func(route string, status int, elapsed time.Duration)
	now      func() time.Time
	mux      *http.ServeMux
	bufs     sync.Pool // *bytes.Buffer for responses
}

// New returns the API handler. It panics if cfg.Client is nil, like
// http.Handle does for a nil handler: that is a wiring bug.
func New(cfg Config) http.Handler {
	if cfg.Client == nil {
		panic("httpapi: Config.Client is required")
	}
	s := &server{
		client:   cfg.Client,
		auth:     len(cfg.Tokens) > 0,
		tokens:   hashTokens(cfg.Tokens),
		maxBody:  cfg.MaxBodyBytes,
		maxBatch: cfg.MaxBatch,
		log:      cfg.Logger,
		ready:    cfg.Ready,
		observe:  cfg.Observe,
		now:      cfg.Now,
		mux:      http.NewServeMux(),
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxBatch <= 0 {
		s.maxBatch = DefaultMaxBatch
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.routes()
	return s
}

// routes registers every endpoint.
func (s *server) routes() {
	s.v1("POST /v1/messages", s.enqueue)
	s.v1("GET /v1/messages", s.list)
	s.v1("POST /v1/messages/batch", s.enqueueBatch)
	s.v1("GET /v1/messages/{id}", s.get)
	s.v1("GET /v1/messages/{id}/raw", s.raw)
	s.v1("POST /v1/messages/{id}/retry", s.retry)
	s.v1("POST /v1/messages/{id}/cancel", s.cancel)
	s.v1("GET /v1/stats", s.stats)
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)

	// Other methods get a 405 in JSON, under /v1/ after the token check
	// (an anonymous caller learns nothing of the endpoints). A fallback
	// for /v1/messages/batch would conflict with GET /v1/messages/{id},
	// so {id}'s answers for it, and GET has its own.
	s.allow("/v1/messages", "GET, POST")
	s.v1("GET /v1/messages/batch", func(w http.ResponseWriter, r *http.Request) { s.notAllowed(w, r, "POST") })
	s.v1("/v1/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "batch" {
			s.notAllowed(w, r, "POST")
			return
		}
		s.notAllowed(w, r, "GET")
	})
	s.allow("/v1/messages/{id}/raw", "GET")
	s.allow("/v1/messages/{id}/retry", "POST")
	s.allow("/v1/messages/{id}/cancel", "POST")
	s.allow("/v1/stats", "GET")
	s.allow("/healthz", "GET")
	s.allow("/readyz", "GET")
	notFound := func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &Error{Status: http.StatusNotFound, Code: CodeNotFound,
			Message: "no endpoint " + r.Method + " " + r.URL.Path})
	}
	s.v1("/v1/", notFound)
	s.mux.HandleFunc("/", notFound)
}

// v1 registers an API endpoint behind the token check.
func (s *server) v1(pattern string, h http.HandlerFunc) {
	s.mux.Handle(pattern, s.authorize(h))
}

// allow registers the 405 answer of path for the methods it does not
// serve, behind the token check under /v1/.
func (s *server) allow(path, methods string) {
	h := func(w http.ResponseWriter, r *http.Request) { s.notAllowed(w, r, methods) }
	if strings.HasPrefix(path, "/v1/") {
		s.v1(path, h)
		return
	}
	s.mux.HandleFunc(path, h)
}

// notAllowed answers 405 with the Allow header.
func (s *server) notAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	s.writeError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
		Message: r.Method + " is not allowed here (allowed: " + allow + ")"})
}

// ServeHTTP serves the API.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.observe == nil {
		s.mux.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	s.mux.ServeHTTP(sw, r)
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	s.observe(r.Pattern, sw.status, time.Since(start))
}

// statusWriter records the status a handler wrote, for Observe.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeJSON writes v as the JSON response body with the given status.
// Characters such as < and > stay as they are (Message-IDs have them).
func (s *server) writeJSON(w http.ResponseWriter, status int, v any) {
	buf, _ := s.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			s.bufs.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.log.Error("httpapi: encode response", slog.Any("err", err))
		buf.Reset()
		status = http.StatusInternalServerError
		buf.WriteString(`{"error":{"code":"internal","message":"cannot encode the response"}}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
