package smtpd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/outboxmail/outbox"
	"golang.org/x/crypto/bcrypt"
)

// Defaults for the zero values of Config.
const (
	DefaultAddr            = "127.0.0.1:2525"
	DefaultMaxMessageBytes = 25 << 20
	DefaultMaxRecipients   = 100
	DefaultMaxConnections  = 100
	// DefaultReadTimeout is RFC 5321's five minutes a server waits for
	// the next command (§4.5.3.2.7).
	DefaultReadTimeout = 5 * time.Minute
	// DefaultDataTimeout is how long the server waits for more message
	// data before giving up on a transfer.
	DefaultDataTimeout  = 5 * time.Minute
	DefaultWriteTimeout = time.Minute
)

// Config configures a Server. The zero value of every field but Client
// has a working default.
type Config struct {
	// Client is where accepted messages go. Required.
	Client *outbox.Client

	// Addr is the address ListenAndServe listens on; default
	// "127.0.0.1:2525".
	Addr string
	// TLSAddr is the address ListenAndServeTLS listens on for implicit
	// TLS (SMTPS, usually port 465); empty means no such listener. It
	// needs TLS.
	TLSAddr string
	// Hostname names this server in the greeting, the EHLO reply and the
	// Received field; default the machine's host name.
	Hostname string
	// TLS enables STARTTLS and the implicit TLS listener; nil means
	// plain text only (and AUTH only on loopback).
	TLS *tls.Config

	// Users may authenticate with AUTH PLAIN or LOGIN and then submit
	// from anywhere.
	Users []User
	// TrustedNetworks may submit without authenticating. Nil means
	// loopback only (127.0.0.0/8 and ::1/128); an empty, non-nil slice
	// trusts no one, so every client must authenticate.
	TrustedNetworks []netip.Prefix
	// RequireTLSForLoopbackAuth offers AUTH on loopback connections only
	// after TLS too. By default a loopback connection counts as secure
	// for AUTH, since its traffic never leaves the machine.
	RequireTLSForLoopbackAuth bool

	// MaxMessageBytes is the largest message accepted, as received;
	// default 25 MiB.
	MaxMessageBytes int64
	// MaxRecipients is the most RCPT TO per message; default 100.
	MaxRecipients int
	// MaxConnections is the most connections open at once, across
	// listeners; a connection beyond it gets 421 4.7.0 and is closed.
	// Default 100.
	MaxConnections int
	// ReadTimeout is how long the server waits for a command (and for a
	// whole BDAT chunk); default 5 minutes.
	ReadTimeout time.Duration
	// DataTimeout is how long the server waits for more data while a
	// message arrives after DATA; default 5 minutes.
	DataTimeout time.Duration
	// WriteTimeout bounds the sending of each reply; default 1 minute.
	WriteTimeout time.Duration

	// Logger receives one line per accepted message, refused logins and
	// connection errors; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for Received fields; nil means time.Now.
	Now func() time.Time
}

// User is an account that may authenticate.
type User struct {
	// Name is the user name given in AUTH.
	Name string
	// PasswordHash is the password's bcrypt hash, e.g. from
	// `htpasswd -nbBC 10 "" secret | cut -c2-`.
	PasswordHash string
	// AllowedFrom, when not empty, lists the envelope senders (MAIL FROM)
	// the user may use: an address ("app@example.com") or a whole domain
	// ("example.com" or "@example.com"), compared ignoring case. The null
	// sender (<>) is then refused as well.
	AllowedFrom []string
}

// defaultTrusted is the trusted-network list of a zero Config.
func defaultTrusted() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
	}
}

// withDefaults returns c with its zero values filled in.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Hostname == "" {
		c.Hostname = "localhost"
		if h, err := os.Hostname(); err == nil && h != "" {
			c.Hostname = h
		}
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxRecipients == 0 {
		c.MaxRecipients = DefaultMaxRecipients
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.DataTimeout == 0 {
		c.DataTimeout = DefaultDataTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// validate checks a Config after withDefaults, naming the bad field.
func (c Config) validate() error {
	switch {
	case c.Client == nil:
		return errors.New("Config.Client is required")
	case c.MaxMessageBytes < 0:
		return fmt.Errorf("Config.MaxMessageBytes %d is negative", c.MaxMessageBytes)
	case c.MaxMessageBytes > 1<<32-1:
		// go-smtp parses SIZE as a 32-bit number.
		return fmt.Errorf("Config.MaxMessageBytes %d is above 4 GiB", c.MaxMessageBytes)
	case c.MaxRecipients < 0:
		return fmt.Errorf("Config.MaxRecipients %d is negative", c.MaxRecipients)
	case c.MaxConnections < 0:
		return fmt.Errorf("Config.MaxConnections %d is negative", c.MaxConnections)
	case c.ReadTimeout < 0, c.DataTimeout < 0, c.WriteTimeout < 0:
		return errors.New("Config.ReadTimeout, DataTimeout and WriteTimeout must not be negative")
	case c.TLSAddr != "" && c.TLS == nil:
		return fmt.Errorf("Config.TLSAddr %s needs Config.TLS", c.TLSAddr)
	case c.TLS != nil && len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil:
		return errors.New("Config.TLS has no certificate")
	case strings.ContainsAny(c.Hostname, " \t\r\n()[];"):
		return fmt.Errorf("Config.Hostname %q is not a host name", c.Hostname)
	}
	for i, p := range c.TrustedNetworks {
		if !p.IsValid() {
			return fmt.Errorf("Config.TrustedNetworks[%d] is not a valid prefix", i)
		}
	}
	seen := make(map[string]bool, len(c.Users))
	for i, u := range c.Users {
		if err := u.validate(); err != nil {
			return fmt.Errorf("Config.Users[%d]: %w", i, err)
		}
		if seen[u.Name] {
			return fmt.Errorf("Config.Users[%d]: user %q is listed twice", i, u.Name)
		}
		seen[u.Name] = true
	}
	for _, a := range []struct{ field, addr string }{{"Addr", c.Addr}, {"TLSAddr", c.TLSAddr}} {
		if a.addr == "" {
			continue
		}
		if exposed(a.addr, len(c.Users) > 0, c.TrustedNetworks != nil) {
			return fmt.Errorf("Config.%s %s is not loopback: configure Config.Users or Config.TrustedNetworks", a.field, a.addr)
		}
	}
	return nil
}

// validate checks one user.
func (u User) validate() error {
	if u.Name == "" {
		return errors.New("Name is empty")
	}
	if strings.ContainsAny(u.Name, "\x00\r\n") {
		return fmt.Errorf("Name %q holds a control character", u.Name)
	}
	if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
		return fmt.Errorf("user %q: PasswordHash is not a bcrypt hash: %w", u.Name, err)
	}
	for j, a := range u.AllowedFrom {
		a = strings.TrimPrefix(a, "@")
		if a == "" || strings.ContainsAny(a, " \t\r\n<>") {
			return fmt.Errorf("user %q: AllowedFrom[%d] %q is not an address or domain", u.Name, j, u.AllowedFrom[j])
		}
	}
	return nil
}

// CheckListen reports whether listening on addr would expose an
// unauthenticated submission service: addr is not a loopback address and
// the configuration has neither users (hasUsers) nor an explicitly set
// trusted-network list (trustedExplicit). The error names the settings by
// their configuration-file names (smtp_addr, smtp_users,
// smtp_trusted_networks) for the command to print. A host name other
// than "localhost" counts as not loopback.
func CheckListen(addr string, hasUsers, trustedExplicit bool) error {
	if exposed(addr, hasUsers, trustedExplicit) {
		return fmt.Errorf("smtp_addr %s is not loopback: configure smtp_users or smtp_trusted_networks", addr)
	}
	return nil
}

// exposed reports whether a server on addr would take unauthenticated
// mail from other machines by default.
func exposed(addr string, hasUsers, trustedExplicit bool) bool {
	return !hasUsers && !trustedExplicit && !isLoopbackAddr(addr)
}

// isLoopbackAddr reports whether a listening address ("host:port") only
// accepts connections from this machine.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}
