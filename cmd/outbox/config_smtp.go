package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/outboxmail/outbox/smtpd"
	"golang.org/x/crypto/bcrypt"
)

// maxSMTPMessageSize is the largest max_message_size the SMTP listener
// can announce: SIZE is a 32-bit number to the SMTP library.
const maxSMTPMessageSize = 1<<32 - 1

// SMTPConfig configures the SMTP submission listeners of `outbox serve`.
// The message size limit is Config.MaxMessageSize, shared with the HTTP
// API.
type SMTPConfig struct {
	// Addr is the listen address of SMTP with STARTTLS (smtp_addr); empty
	// disables it ("off" in the file or the environment).
	Addr string
	// TLSAddr is the listen address of SMTP over implicit TLS, usually
	// port 465 (smtps_addr); empty, the default, disables it.
	TLSAddr string
	// TLSCert and TLSKey are PEM files of the certificate (with its
	// chain) and private key (smtp_tls_cert, smtp_tls_key). When neither
	// is set, a self-signed development certificate is generated in the
	// data directory.
	TLSCert, TLSKey string
	// Users may authenticate with AUTH PLAIN or LOGIN ([[smtp_users]]).
	Users []smtpd.User
	// TrustedNetworks may submit without authenticating
	// (smtp_trusted_networks). Nil means loopback only; an empty,
	// non-nil list trusts no one.
	TrustedNetworks []netip.Prefix
	// RequireTLSForAuth offers AUTH on loopback connections only after
	// STARTTLS, as on any other (smtp_require_tls_for_auth).
	RequireTLSForAuth bool
	// MaxRecipients is the most RCPT TO per message
	// (smtp_max_recipients).
	MaxRecipients int
	// MaxConnections is the most SMTP connections open at once, across
	// both listeners (smtp_max_connections).
	MaxConnections int
}

// defaultSMTPConfig is the SMTP part of defaultConfig: STARTTLS on
// loopback port 2525, no implicit-TLS listener, loopback trusted.
func defaultSMTPConfig() SMTPConfig {
	return SMTPConfig{
		Addr:           smtpd.DefaultAddr,
		MaxRecipients:  smtpd.DefaultMaxRecipients,
		MaxConnections: smtpd.DefaultMaxConnections,
	}
}

// enabled reports whether at least one SMTP listener is configured.
func (s SMTPConfig) enabled() bool { return s.Addr != "" || s.TLSAddr != "" }

// listenAddr normalises an SMTP address setting: "off" (any case) and
// blanks disable the listener.
func listenAddr(v string) string {
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "off") {
		return ""
	}
	return v
}

// parseNetworks parses trusted networks: CIDR prefixes ("10.0.0.0/8",
// "2001:db8::/32") or single addresses ("192.0.2.7"). The result is
// never nil, so that an empty list means "trust no one".
func parseNetworks(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		return nil, fmt.Errorf("%q is not a network in CIDR notation (e.g. 10.0.0.0/8) or an IP address", s)
	}
	return out, nil
}

// validate checks the SMTP settings; each error names the config key.
// maxSize is max_message_size.
func (s SMTPConfig) validate(maxSize int64) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	for _, a := range []struct{ key, addr string }{{"smtp_addr", s.Addr}, {"smtps_addr", s.TLSAddr}} {
		if a.addr == "" {
			continue
		}
		if err := checkHostPort(a.addr); err != nil {
			bad(a.key, "%v (e.g. 127.0.0.1:2525, or \"off\")", err)
		}
	}
	if _, port, _ := net.SplitHostPort(s.Addr); s.Addr != "" && s.Addr == s.TLSAddr && port != "0" {
		bad("smtps_addr", "%s is also smtp_addr: give each listener its own port", s.TLSAddr)
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		bad("smtp_tls_cert", "smtp_tls_cert and smtp_tls_key go together: set both, or neither for a development certificate")
	}
	seen := map[string]bool{}
	for i, u := range s.Users {
		key := fmt.Sprintf("smtp_users[%d]", i)
		switch {
		case u.Name == "":
			bad(key+".name", "must not be empty")
		case strings.ContainsAny(u.Name, "\x00\r\n"):
			bad(key+".name", "%q holds a control character", u.Name)
		case seen[u.Name]:
			bad(key+".name", "user %q is listed twice", u.Name)
		}
		seen[u.Name] = true
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			bad(key+".password_hash", "user %q: not a bcrypt hash (make one with `outbox passwd`)", u.Name)
		}
		for j, a := range u.AllowedFrom {
			if t := strings.TrimPrefix(a, "@"); t == "" || strings.ContainsAny(t, " \t\r\n<>,") {
				bad(fmt.Sprintf("%s.allowed_from[%d]", key, j), "%q is not an address or a domain", a)
			}
		}
	}
	if s.MaxRecipients < 1 {
		bad("smtp_max_recipients", "must be at least 1, got %d", s.MaxRecipients)
	}
	if s.MaxConnections < 1 {
		bad("smtp_max_connections", "must be at least 1, got %d", s.MaxConnections)
	}
	if s.enabled() && maxSize > maxSMTPMessageSize {
		bad("max_message_size", "must be at most %d bytes (4 GiB) while SMTP is on, got %d", int64(maxSMTPMessageSize), maxSize)
	}
	if err := s.checkExposure(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// checkExposure refuses a listener that is not on loopback when nothing
// restricts who may submit: no users and no explicit trusted networks.
func (s SMTPConfig) checkExposure() error {
	const hint = " (smtp_users in the config file; smtp_trusted_networks in the config file or OUTBOX_SMTP_TRUSTED_NETWORKS)"
	users, trusted := len(s.Users) > 0, s.TrustedNetworks != nil
	if s.Addr != "" {
		if err := smtpd.CheckListen(s.Addr, users, trusted); err != nil {
			return errors.New(err.Error() + hint)
		}
	}
	if s.TLSAddr != "" && smtpd.CheckListen(s.TLSAddr, users, trusted) != nil {
		return fmt.Errorf("smtps_addr %s is not loopback: configure smtp_users or smtp_trusted_networks%s", s.TLSAddr, hint)
	}
	return nil
}

// checkHostPort checks a "host:port" listen address.
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("invalid port %q in %q", port, addr)
	}
	return nil
}
