package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// ErrServerClosed is returned by Serve and the ListenAndServe methods
// after Shutdown or Close.
var ErrServerClosed = errors.New("smtpd: server closed")

// shutdownPoll is how often Shutdown checks whether busy connections
// have finished.
const shutdownPoll = 20 * time.Millisecond

// Server is an SMTP submission server. Create it with New, run it with
// Serve, ServeTLS or the ListenAndServe methods (several at once is fine:
// they share one connection limit) and stop it with Shutdown or Close.
type Server struct {
	cfg     Config
	trusted []netip.Prefix
	auth    *authenticator
	log     *slog.Logger
	smtp    *smtp.Server
	conns   *connTracker

	// ctx is the context of every enqueue; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
}

// maxLineLength bounds a command line, and a line of a message sent
// with DATA. RFC 5322 wants message lines under 1,000 octets, but
// applications send longer ones (HTML on one line): they are taken and
// passed on unchanged. go-smtp's default of 2,000 refused them, and over
// BDAT only when the chunk came in the command's packet.
const maxLineLength = 64 << 10

// New returns a server configured by cfg, after filling in defaults and
// checking it: every problem is reported naming the Config field.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("smtpd: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		trusted: cfg.TrustedNetworks,
		auth:    newAuthenticator(cfg.Users),
		log:     cfg.Logger,
		conns:   newConnTracker(cfg.MaxConnections, cfg.Hostname),
	}
	if s.trusted == nil {
		s.trusted = defaultTrusted()
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Addr = cfg.Addr
	srv.Domain = cfg.Hostname
	srv.TLSConfig = cfg.TLS
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.MaxLineLength = maxLineLength
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	srv.EnableSMTPUTF8 = true
	// go-smtp can only allow AUTH without TLS for every connection or
	// none; the session decides per connection (see session.authAllowed).
	srv.AllowInsecureAuth = true
	srv.ErrorLog = slogPrinter{s.log}
	s.smtp = srv
	return s, nil
}

// Serve accepts plain-text connections (STARTTLS available when
// Config.TLS is set) on l until Shutdown or Close, then returns
// ErrServerClosed. It closes l.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, nil)
}

// ServeTLS accepts implicit-TLS connections (SMTPS) on l until Shutdown or
// Close, then returns ErrServerClosed. It needs Config.TLS and closes l.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLS == nil {
		l.Close()
		return errors.New("smtpd: ServeTLS needs Config.TLS")
	}
	return s.serve(l, s.cfg.TLS)
}

func (s *Server) serve(l net.Listener, tlsConfig *tls.Config) error {
	ll, ok := s.conns.listen(l, tlsConfig)
	if !ok {
		l.Close()
		return ErrServerClosed
	}
	if tlsConfig != nil {
		ll = tls.NewListener(ll, tlsConfig)
	}
	s.log.Debug("smtp listening", "addr", l.Addr().String(), "tls", tlsConfig != nil)
	err := s.smtp.Serve(ll)
	if s.conns.closing.Load() {
		return ErrServerClosed
	}
	if err == nil {
		err = errors.New("listener stopped")
	}
	return fmt.Errorf("smtpd: serve %s: %w", l.Addr(), err)
}

// ListenAndServe listens on Config.Addr and serves plain-text
// connections; see Serve.
func (s *Server) ListenAndServe() error {
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtpd: %w", err)
	}
	return s.Serve(l)
}

// ListenAndServeTLS listens on Config.TLSAddr and serves implicit-TLS
// connections; see ServeTLS.
func (s *Server) ListenAndServeTLS() error {
	if s.cfg.TLSAddr == "" {
		return errors.New("smtpd: ListenAndServeTLS needs Config.TLSAddr")
	}
	l, err := net.Listen("tcp", s.cfg.TLSAddr)
	if err != nil {
		return fmt.Errorf("smtpd: %w", err)
	}
	return s.ServeTLS(l)
}

// Shutdown stops the server gracefully: it closes the listeners and every
// idle connection at once, refuses new transactions with 421, and waits
// for the transactions under way to get their reply. When ctx ends first
// it returns ctx's error; Close then ends what is left. Calling it again
// is harmless.
func (s *Server) Shutdown(ctx context.Context) error {
	s.conns.shutdown()
	tick := time.NewTicker(shutdownPoll)
	defer tick.Stop()
	for s.conns.count() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			// Connections that were busy close themselves when their
			// transaction ends and they read their next command.
		}
	}
	s.stop()
	s.conns.rejects.Wait()
	return nil
}

// Close stops the server at once: listeners and connections are closed
// and enqueues under way are cancelled (their clients get no reply and
// will send again; nothing half-written is stored). Calling it again is
// harmless.
func (s *Server) Close() error {
	s.cancel()
	s.conns.closeAll()
	s.stop()
	return nil
}

// stop closes go-smtp's server once: after it, it no longer serves.
func (s *Server) stop() {
	err := s.smtp.Close()
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		s.log.Warn("smtp close", "err", err)
	}
}

// slogPrinter passes go-smtp's internal messages (mostly connections
// that broke off) to the logger.
type slogPrinter struct{ log *slog.Logger }

// Printf logs one message of go-smtp's.
func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Info("smtp connection: " + strings.TrimSpace(fmt.Sprintf(format, v...)))
}

// Println logs one message of go-smtp's.
func (p slogPrinter) Println(v ...any) {
	p.log.Info("smtp connection: " + strings.TrimSpace(fmt.Sprintln(v...)))
}
