package outboxtest

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// backend makes a session for each client, on its first EHLO and again
// after STARTTLS.
type backend struct{ sink *Sink }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{sink: b.sink, conn: c}, nil
}

// session is one client's SMTP session. go-smtp calls its methods from the
// connection's goroutine, one at a time; shared state lives in the Sink,
// under its lock.
type session struct {
	sink     *Sink
	conn     *smtp.Conn
	authUser string
	authMech string
	from     *string // nil outside a transaction
	opts     smtp.MailOptions
	rcpts    []string
	// closed is set once the session answered 421 and closed its
	// connection: commands the client pipelined after it, which go-smtp
	// still reads from its buffer, are refused, as a server that closed
	// would never see them.
	closed atomic.Bool
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

// AuthMechanisms lists the mechanisms offered when the sink requires AUTH.
func (s *session) AuthMechanisms() []string {
	o := s.sink.opts
	if o.username == "" {
		return nil
	}
	if len(o.mechanisms) > 0 {
		return o.mechanisms
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth checks the credentials given with mechanism mech.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(s.AuthMechanisms(), mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	check := func(username, password string) error {
		o := s.sink.opts
		if username != o.username || password != o.password {
			return smtp.ErrAuthFailed
		}
		s.authUser, s.authMech = username, mech
		return nil
	}
	switch mech {
	case sasl.Login:
		return &loginServer{authenticate: check}, nil
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return smtp.ErrAuthFailed
			}
			return check(username, password)
		}), nil
	default: // advertised by WithAuthMechanisms, but not implemented
		return nil, smtp.ErrAuthUnknownMechanism
	}
}

// Mail begins a transaction.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if err := s.pause(); err != nil {
		return err
	}
	if s.sink.opts.username != "" && s.authUser == "" {
		return errAuthRequired
	}
	s.sink.mu.Lock()
	cue := s.sink.fire(phaseMail, from, 0)
	if cue == nil {
		s.sink.txns++
	}
	s.sink.mu.Unlock()
	if cue != nil {
		return s.answer(cue.reply)
	}
	s.from, s.opts, s.rcpts = &from, *opts, nil
	return nil
}

// Rcpt adds a recipient.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.pause(); err != nil {
		return err
	}
	s.sink.mu.Lock()
	cue := s.sink.fire(phaseRcptLimit, to, len(s.rcpts))
	if cue == nil {
		cue = s.sink.fire(phaseRcpt, to, len(s.rcpts))
	}
	s.sink.mu.Unlock()
	if cue != nil {
		return s.answer(cue.reply)
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data reads the message, then records it or answers as a cue says.
func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err // ErrDataTooLarge, or the connection broke
	}
	if err := s.pause(); err != nil {
		return err
	}
	s.sink.mu.Lock()
	cut := s.sink.fire(phaseCut, "", 0)
	var cue *Cue
	if cut == nil {
		cue = s.sink.fire(phaseData, "", 0)
	}
	s.sink.mu.Unlock()
	switch {
	case cut != nil:
		_ = s.conn.Conn().Close() // drop it without a reply
		return errors.New("outboxtest: connection cut after data")
	case cue != nil:
		return s.answer(cue.reply)
	}

	m := SinkMessage{
		From:     *s.from,
		To:       slices.Clone(s.rcpts),
		Data:     data,
		At:       time.Now(),
		Hello:    s.conn.Hostname(),
		AuthUser: s.authUser,
		AuthMech: s.authMech,
		UTF8:     s.opts.UTF8,
		Body:     string(s.opts.Body),
		Size:     s.opts.Size,
	}
	if st, ok := s.conn.TLSConnectionState(); ok {
		m.TLS = &st
	}
	s.sink.record(m)
	return nil
}

// Reset ends the transaction.
func (s *session) Reset() {
	s.from, s.opts, s.rcpts = nil, smtp.MailOptions{}, nil
}

// Logout does nothing: the session holds no resources.
func (s *session) Logout() error { return nil }

// pause waits out the sink's delay, if any; it returns an error when the
// sink stops meanwhile, or once the session closed its connection.
func (s *session) pause() error {
	if s.closed.Load() {
		return errors.New("outboxtest: connection closed after a 421")
	}
	s.sink.mu.Lock()
	d, quit := s.sink.delay, s.sink.quit
	s.sink.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-quit:
		return errors.New("outboxtest: sink stopped")
	}
}

// answer returns r for go-smtp to write, except a 421, which the sink
// writes itself before closing the connection, as a real server does.
func (s *session) answer(r *smtp.SMTPError) error {
	if r.Code != 421 {
		return r
	}
	text := strings.NewReplacer("\r", " ", "\n", " ").Replace(r.Message)
	if ec := r.EnhancedCode; ec != smtp.NoEnhancedCode {
		text = fmt.Sprintf("%d.%d.%d %s", ec[0], ec[1], ec[2], text)
	}
	c := s.conn.Conn()
	_, _ = fmt.Fprintf(c, "421 %s\r\n", text) // the connection closes next either way
	s.closed.Store(true)
	_ = c.Close()
	return r
}
