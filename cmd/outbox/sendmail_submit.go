package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
	"github.com/outboxmail/outbox/sqlite"
)

// Retry bounds of sendmail while neither the server nor the store can
// take the message: a server restarting holds the data directory's lock
// without answering HTTP for a moment.
const (
	sendmailRetryFor   = 5 * time.Second
	sendmailFirstDelay = 100 * time.Millisecond
	sendmailMaxDelay   = time.Second
	// sendmailHTTPTimeout bounds one request to the server.
	sendmailHTTPTimeout = time.Minute
)

// submitter enqueues a message through the server's HTTP API, or, when
// no server answers, straight into the store in the local data
// directory, retrying both for a while.
type submitter struct {
	api     *httpapi.Client
	server  string // the API's URL, for messages
	dataDir string
	// known and route choose a message's backend when it goes straight
	// into the store, as the server would (see Config.routing).
	known func(name string) bool
	route func(*outbox.Message) string
	// retryFor bounds the retries; zero tries once.
	retryFor time.Duration
}

// queued says where a message went.
type queued struct {
	receipt *outbox.Receipt
	// local is set when the message went straight into the store.
	local bool
}

// submit enqueues m. It returns a *sendmailFailure carrying the exit code
// when it cannot. m should carry an idempotency key, so that a retry
// after an answer that got lost does not enqueue it twice.
func (s *submitter) submit(ctx context.Context, m *outbox.Message) (queued, error) {
	deadline := time.Now().Add(s.retryFor)
	delay := sendmailFirstDelay
	for {
		q, err := s.try(ctx, m)
		var f *sendmailFailure
		if err == nil || errors.As(err, &f) && !f.retry {
			return q, err
		}
		wait := min(delay, time.Until(deadline))
		if wait <= 0 {
			return q, err
		}
		select {
		case <-ctx.Done():
			return q, &sendmailFailure{code: exTempFail, err: fmt.Errorf("interrupted: %w", err)}
		case <-time.After(wait):
		}
		delay = min(2*delay, sendmailMaxDelay)
	}
}

// try makes one attempt: the server, then the store if the server's
// address refused the connection. Its errors are *sendmailFailure, whose
// retry says whether trying again may help.
func (s *submitter) try(ctx context.Context, m *outbox.Message) (queued, error) {
	rc, err := s.api.Send(ctx, m)
	if err == nil {
		return queued{receipt: rc}, nil
	}
	var apiErr *httpapi.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			return queued{}, &sendmailFailure{code: exDataErr, err: fmt.Errorf("the server refused the message: %w", err)}
		case http.StatusUnauthorized, http.StatusForbidden:
			return queued{}, &sendmailFailure{code: exNoPerm, err: fmt.Errorf("the server at %s refused the token: %w (set OUTBOX_TOKEN, or --token)", s.server, err)}
		}
		return queued{}, &sendmailFailure{code: exTempFail, err: fmt.Errorf("the server at %s could not queue the message: %w", s.server, err), retry: true}
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		// The server may have the message if the answer got lost: only the
		// server can tell (the idempotency key makes a retry safe).
		return queued{}, &sendmailFailure{code: exTempFail, err: fmt.Errorf("no answer from the server: %w", err), retry: true}
	}
	rc, err = s.enqueueLocal(ctx, m)
	switch {
	case err == nil:
		return queued{receipt: rc, local: true}, nil
	case errors.Is(err, sqlite.ErrLocked):
		return queued{}, &sendmailFailure{code: exTempFail, err: fmt.Errorf(
			"no Outbox server answered at %s (connection refused), and the data directory %s is locked by another process (a server starting or stopping?): the message was not queued; try again",
			s.server, s.dataDir), retry: true}
	case errors.Is(err, os.ErrNotExist):
		return queued{}, &sendmailFailure{code: exTempFail, err: fmt.Errorf(
			"no Outbox server answered at %s (connection refused), and there is no data directory %s to queue into (set data_dir with OUTBOX_DATA_DIR, --data-dir or the config file of OUTBOX_CONFIG)",
			s.server, s.dataDir), retry: true}
	case isFieldError(err):
		return queued{}, &sendmailFailure{code: exDataErr, err: fmt.Errorf("the message was refused: %w", err)}
	}
	return queued{}, &sendmailFailure{code: exTempFail, err: fmt.Errorf(
		"no Outbox server answered at %s (connection refused), and queueing into %s failed: %w", s.server, s.dataDir, err), retry: true}
}

// enqueueLocal commits m into the store in the data directory, which
// must exist already (a directory that is not there is no server's). It
// fails with sqlite.ErrLocked while a server holds the directory: the
// message then belongs to that server, through its API.
func (s *submitter) enqueueLocal(ctx context.Context, m *outbox.Message) (*outbox.Receipt, error) {
	if fi, err := os.Stat(s.dataDir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", s.dataDir)
	}
	st, err := sqlite.Open(ctx, sqlite.Config{Dir: s.dataDir})
	if err != nil {
		return nil, err
	}
	client, err := outbox.NewClient(outbox.ClientConfig{Store: st, KnownBackend: s.known, Route: s.route})
	if err != nil {
		st.Close()
		return nil, err
	}
	rc, err := client.Enqueue(ctx, m)
	st.Close() // the message was committed, or not, before: Close changes nothing
	return rc, err
}

// isFieldError reports whether err is a validation error of the message
// rather than a failure of the store.
func isFieldError(err error) bool {
	var fe *outbox.FieldError
	return errors.As(err, &fe) && !errors.Is(err, outbox.ErrUnavailable)
}
