package smtp

import (
	"crypto/x509"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// FromURL returns a backend configured by u:
//
//	smtp://user:pass@host:port?tls=starttls|opportunistic|none&auth=plain|login&ehlo=name
//	    &timeout=30s&data_timeout=5m&idle_timeout=30s&ca=/path/ca.pem
//	    &insecure_skip_verify=true&max_conns=4&max_msgs=100&health_check=5s
//	smtps://user:pass@host:port?...            (implicit TLS; no tls parameter)
//
// The user name and password are percent-decoded. Every parameter is
// optional; Config documents each and its default. An unknown parameter, a
// repeated one or a bad value is a *ConfigError naming it. FromURL reads
// the ca file but does not connect.
func FromURL(u *url.URL) (*Backend, error) {
	cfg, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// parseURL turns u into a Config, leaving defaults to New.
func parseURL(u *url.URL) (Config, error) {
	var cfg Config
	switch u.Scheme {
	case "smtp":
	case "smtps":
		cfg.TLS = TLSImplicit
	default:
		return cfg, configErrorf("scheme", "%q is not smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return cfg, configErrorf("host", "missing: want %s://host[:port]", u.Scheme)
	}
	if cfg.Host = u.Hostname(); cfg.Host == "" {
		return cfg, configErrorf("host", "missing: want %s://host[:port]", u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return cfg, configErrorf("port", "%q is not a port number", p)
		}
		cfg.Port = n
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, configErrorf("path", "%q: an smtp URL has no path", u.Path)
	}
	if u.Fragment != "" {
		return cfg, configErrorf("fragment", "%q: an smtp URL has no fragment", u.Fragment)
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
		if cfg.Username == "" {
			return cfg, configErrorf("user", "empty user name")
		}
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, configErrorf("query", "%v", err)
	}
	for name, values := range q {
		if len(values) > 1 {
			return cfg, configErrorf(name, "given %d times", len(values))
		}
		if err := setParam(&cfg, u.Scheme, name, values[0]); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// setParam applies the query parameter name=v to cfg.
func setParam(cfg *Config, scheme, name, v string) error {
	var err error
	switch name {
	case "tls":
		mode := TLSMode(strings.ToLower(v))
		switch {
		case scheme == "smtps" && mode != TLSImplicit:
			return configErrorf(name, "%q: smtps:// always uses implicit TLS; use smtp:// for %s", v, v)
		case scheme == "smtp" && mode != TLSStartTLS && mode != TLSOpportunistic && mode != TLSNone:
			return configErrorf(name, "%q is not starttls, opportunistic or none", v)
		}
		cfg.TLS = mode
	case "auth":
		mech := AuthMechanism(strings.ToLower(v))
		if mech != AuthPlain && mech != AuthLogin {
			return configErrorf(name, "%q is not plain or login", v)
		}
		cfg.Auth = mech
	case "ehlo":
		if !validHello(v) {
			return configErrorf(name, "%q is not a host name", v)
		}
		cfg.Hello = v
	case "timeout":
		cfg.Timeout, err = parseDuration(name, v)
	case "data_timeout":
		cfg.DataTimeout, err = parseDuration(name, v)
	case "idle_timeout":
		cfg.IdleTimeout, err = parseDuration(name, v)
	case "ca":
		cfg.RootCAs, err = readCA(v)
	case "insecure_skip_verify":
		cfg.InsecureSkipVerify, err = strconv.ParseBool(v)
		if err != nil {
			return configErrorf(name, "%q is not true or false", v)
		}
	case "max_conns":
		cfg.MaxConns, err = strconv.Atoi(v)
		if err != nil || cfg.MaxConns < 1 {
			return configErrorf(name, "%q is not a positive number", v)
		}
	case "max_msgs":
		cfg.MaxMessages, err = strconv.Atoi(v)
		if err != nil || cfg.MaxMessages < 1 {
			return configErrorf(name, "%q is not a positive number", v)
		}
	case "health_check":
		cfg.HealthCheckAfter, err = parseDuration(name, v)
	default:
		return configErrorf(name, "unknown parameter")
	}
	return err
}

func parseDuration(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, configErrorf(name, "%q is not a positive duration such as 30s", v)
	}
	return d, nil
}

// readCA reads a PEM file of trusted certificates.
func readCA(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, configErrorf("ca", "empty path")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, configErrorf("ca", "%v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, configErrorf("ca", "%s holds no PEM certificate", path)
	}
	return pool, nil
}
