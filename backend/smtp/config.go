package smtp

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// TLSMode says how the backend secures its connections.
type TLSMode string

// The TLS modes; the zero value is TLSOpportunistic.
const (
	// TLSOpportunistic upgrades with STARTTLS when the server offers it and
	// sends in clear text when it does not (the default for smtp://). The
	// certificate is verified when TLS is used.
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSStartTLS requires STARTTLS: a server that does not offer it, or
	// whose certificate does not verify, is an error.
	TLSStartTLS TLSMode = "starttls"
	// TLSNone never uses TLS.
	TLSNone TLSMode = "none"
	// TLSImplicit speaks TLS from the first byte (smtps://, port 465).
	TLSImplicit TLSMode = "implicit"
)

// AuthMechanism is the SASL mechanism used to log in.
type AuthMechanism string

// The supported mechanisms; the zero value chooses PLAIN, or LOGIN when the
// server offers only LOGIN.
const (
	AuthAuto  AuthMechanism = ""
	AuthPlain AuthMechanism = "plain"
	AuthLogin AuthMechanism = "login"
)

// The defaults of Config's zero fields.
const (
	DefaultPort         = 25
	DefaultImplicitPort = 465
	DefaultTimeout      = 30 * time.Second
	DefaultDataTimeout  = 5 * time.Minute
	DefaultIdleTimeout  = 30 * time.Second
	// DefaultMaxConns lets half the engine's default 32 workers deliver
	// through one relay at once (Postfix opens up to 20 connections per
	// destination). At 4, most workers waited for a connection: over a
	// loopback relay, deliveries fell a second behind acceptance and took
	// the claim path, costing 12–18 % more CPU per message.
	DefaultMaxConns = 16
	// DefaultHealthCheckAfter is Config.HealthCheckAfter's default.
	DefaultHealthCheckAfter = 5 * time.Second
)

// Config configures a Backend. The zero value of each field but Host takes
// the default named on it. In brackets, the URL parameter that sets it.
type Config struct {
	// Host is the server's name or IP address. Required. [host]
	Host string
	// Port is the server's port: DefaultPort (25), or DefaultImplicitPort
	// (465) with TLSImplicit. Submission servers usually listen on 587. [port]
	Port int
	// Username and Password, when Username is set, log in with AUTH once
	// per connection. [user:password]
	Username string
	Password string
	// TLS is how connections are secured (default TLSOpportunistic). [tls,
	// or the smtps scheme for TLSImplicit]
	TLS TLSMode
	// Auth chooses the SASL mechanism (default AuthAuto). [auth]
	Auth AuthMechanism
	// Hello is the name given in EHLO (default: the host name of this
	// machine, "localhost" if it is unknown). [ehlo]
	Hello string
	// Timeout bounds connecting and each command's reply, and each
	// stretch of writing the message (default DefaultTimeout). [timeout]
	Timeout time.Duration
	// DataTimeout bounds the wait for the reply after the message's final
	// dot (default DefaultDataTimeout). Servers may scan the message before
	// replying; giving up early risks a duplicate, since the server may
	// accept the message after all. The context given to Send bounds it too.
	// [data_timeout]
	DataTimeout time.Duration
	// IdleTimeout is how long an unused connection is kept open (default
	// DefaultIdleTimeout). [idle_timeout]
	IdleTimeout time.Duration
	// MaxConns is the most connections open at once; concurrent Sends
	// beyond it wait for a free one (default DefaultMaxConns). [max_conns]
	MaxConns int
	// MaxMessages closes a connection after it carried this many messages
	// (some providers limit them); 0 means no limit. [max_msgs]
	MaxMessages int
	// HealthCheckAfter is how long a connection may sit idle before it is
	// checked with NOOP when taken again (default DefaultHealthCheckAfter);
	// a connection that fails the check is replaced before the message is
	// sent. [health_check]
	HealthCheckAfter time.Duration
	// RootCAs are the certificates trusted to verify the server's (default:
	// the system's). [ca: a PEM file]
	RootCAs *x509.CertPool
	// InsecureSkipVerify accepts any certificate. Only for tests and
	// servers with a self-signed certificate on a trusted network.
	// [insecure_skip_verify]
	InsecureSkipVerify bool
}

// ConfigError is an invalid setting. Field is the URL parameter that sets
// it (see Config), e.g. "max_conns" or "host".
type ConfigError struct {
	Field   string
	Message string
}

// Error describes the setting and what is wrong with it.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("smtp backend: %s: %s", e.Field, e.Message)
}

func configErrorf(field, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSOpportunistic
	}
	if c.Port == 0 {
		c.Port = DefaultPort
		if c.TLS == TLSImplicit {
			c.Port = DefaultImplicitPort
		}
	}
	if c.Hello == "" {
		c.Hello, _ = os.Hostname()
		if c.Hello == "" || !validHello(c.Hello) {
			c.Hello = "localhost"
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.DataTimeout == 0 {
		c.DataTimeout = DefaultDataTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.HealthCheckAfter == 0 {
		c.HealthCheckAfter = DefaultHealthCheckAfter
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	return c
}

// validate checks a Config with its defaults set.
func (c Config) validate() error {
	switch {
	case c.Host == "":
		return configErrorf("host", "required")
	case strings.ContainsAny(c.Host, " \t\r\n/@"):
		return configErrorf("host", "%q is not a host name or address", c.Host)
	case c.Port < 1 || c.Port > 65535:
		return configErrorf("port", "%d is out of range", c.Port)
	case !validHello(c.Hello):
		return configErrorf("ehlo", "%q is not a host name", c.Hello)
	case c.Timeout < 0:
		return configErrorf("timeout", "must be positive")
	case c.DataTimeout < 0:
		return configErrorf("data_timeout", "must be positive")
	case c.IdleTimeout < 0:
		return configErrorf("idle_timeout", "must be positive")
	case c.MaxConns < 0:
		return configErrorf("max_conns", "must be positive")
	case strings.ContainsAny(c.Username+c.Password, "\r\n"):
		return configErrorf("user", "contains a line break")
	}
	switch c.TLS {
	case TLSOpportunistic, TLSStartTLS, TLSImplicit:
	case TLSNone:
		if c.InsecureSkipVerify || c.RootCAs != nil {
			return configErrorf("tls", "none, but ca or insecure_skip_verify is set")
		}
		if c.Username != "" && !loopbackHost(c.Host) {
			return configErrorf("tls", "none: refusing to send credentials without TLS to %s, which is not a loopback address", c.Host)
		}
	default:
		return configErrorf("tls", "%q is not starttls, opportunistic, none or implicit", c.TLS)
	}
	switch c.Auth {
	case AuthAuto, AuthPlain, AuthLogin:
	default:
		return configErrorf("auth", "%q is not plain or login", c.Auth)
	}
	if c.Auth != AuthAuto && c.Username == "" {
		return configErrorf("auth", "%s given without a user name", c.Auth)
	}
	return nil
}

// validHello reports whether s can follow EHLO: a name or an address
// literal, without spaces.
func validHello(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n")
}

// loopbackHost reports whether host names this machine: "localhost" or a
// loopback address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
