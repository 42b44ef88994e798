package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/smtpd"
)

// smtpService is the SMTP submission side of serve: one smtpd.Server
// serving the plain (STARTTLS) listener, the implicit-TLS listener, or
// both.
type smtpService struct {
	srv *smtpd.Server
	// errc receives the error of a listener that stopped on its own.
	errc chan error
}

// startSMTP starts the SMTP listeners that cfg enables, enqueueing
// through client, and logs one "listening" line per listener with the
// address actually bound. It returns nil when SMTP is off.
func startSMTP(cfg Config, hostname string, client *outbox.Client, log *slog.Logger) (*smtpService, error) {
	sc := cfg.SMTP
	if !sc.enabled() {
		log.Info("smtp off: smtp_addr and smtps_addr are both empty")
		return nil, nil
	}
	tlsConfig, err := smtpTLS(cfg, hostname, log)
	if err != nil {
		return nil, err
	}
	srv, err := smtpd.New(smtpd.Config{
		Client:                    client,
		Addr:                      sc.Addr,
		TLSAddr:                   sc.TLSAddr,
		Hostname:                  hostname,
		TLS:                       tlsConfig,
		Users:                     sc.Users,
		TrustedNetworks:           sc.TrustedNetworks,
		RequireTLSForLoopbackAuth: sc.RequireTLSForAuth,
		MaxMessageBytes:           cfg.MaxMessageSize,
		MaxRecipients:             sc.MaxRecipients,
		MaxConnections:            sc.MaxConnections,
		Logger:                    log,
	})
	if err != nil {
		return nil, err
	}
	s := &smtpService{srv: srv, errc: make(chan error, 2)}
	listeners := []struct {
		service, key, addr string
		serve              func(net.Listener) error
	}{
		{"smtp", "smtp_addr", sc.Addr, srv.Serve},
		{"smtps", "smtps_addr", sc.TLSAddr, srv.ServeTLS},
	}
	var bound []net.Listener
	for _, l := range listeners {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, b := range bound {
				b.Close()
			}
			srv.Close()
			return nil, fmt.Errorf("%s: %w", l.key, err)
		}
		bound = append(bound, ln)
		log.Info("listening", "service", l.service, "addr", ln.Addr().String())
		serve := l.serve
		go func() {
			if err := serve(ln); !errors.Is(err, smtpd.ErrServerClosed) {
				s.errc <- err
			}
		}()
	}
	return s, nil
}

// Shutdown stops accepting connections and lets the transactions under
// way get their reply; when ctx ends first, it cuts the rest off (their
// clients get no reply and send again: nothing half-written is stored).
// A nil service has nothing to stop.
func (s *smtpService) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}

// Err is the channel of a listener that failed; nil (never ready) for a
// nil service.
func (s *smtpService) Err() <-chan error {
	if s == nil {
		return nil
	}
	return s.errc
}

// smtpTLS returns the TLS configuration of STARTTLS and SMTPS: the
// configured certificate, or the development certificate in the data
// directory, with a warning that clients cannot verify it.
func smtpTLS(cfg Config, hostname string, log *slog.Logger) (*tls.Config, error) {
	var cert tls.Certificate
	if cfg.SMTP.TLSCert != "" {
		var err error
		cert, err = tls.LoadX509KeyPair(cfg.SMTP.TLSCert, cfg.SMTP.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("smtp_tls_cert, smtp_tls_key: %w", err)
		}
		if cert.Leaf != nil && time.Now().After(cert.Leaf.NotAfter) {
			log.Warn("the SMTP certificate has expired: clients that verify it will refuse STARTTLS",
				"cert", cfg.SMTP.TLSCert, "not_after", cert.Leaf.NotAfter)
		}
	} else {
		d, err := loadDevCert(cfg.DataDir, hostname, time.Now())
		if err != nil {
			return nil, err
		}
		log.Warn("SMTP uses a self-signed development certificate that clients cannot verify; for production set smtp_tls_cert and smtp_tls_key",
			"cert", d.certPath, "generated", d.created)
		cert = d.cert
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
