package smtpd

import (
	"crypto/tls"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.Addr != "127.0.0.1:2525" || c.MaxMessageBytes != 25<<20 || c.MaxRecipients != 100 ||
		c.MaxConnections != 100 || c.ReadTimeout != 5*time.Minute || c.DataTimeout != 5*time.Minute ||
		c.WriteTimeout != time.Minute || c.Hostname == "" || c.Logger == nil || c.Now == nil {
		t.Errorf("defaults: %+v", c)
	}
}

func TestConfigValidation(t *testing.T) {
	client, err := outbox.NewClient(outbox.ClientConfig{Store: newStore(t)})
	if err != nil {
		t.Fatal(err)
	}
	users := testUsers(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"defaults", Config{Client: client}, ""},
		{"no client", Config{}, "Config.Client is required"},
		{"public without users or networks", Config{Client: client, Addr: "0.0.0.0:2525"},
			"Config.Addr 0.0.0.0:2525 is not loopback: configure Config.Users or Config.TrustedNetworks"},
		{"all interfaces", Config{Client: client, Addr: ":2525"}, "Config.Addr :2525 is not loopback"},
		{"public TLS listener", Config{Client: client, TLSAddr: "[::]:465", TLS: testTLSConfig(t)}, "Config.TLSAddr [::]:465 is not loopback"},
		{"public with users", Config{Client: client, Addr: "0.0.0.0:2525", Users: users}, ""},
		{"public with explicit networks", Config{Client: client, Addr: "0.0.0.0:2525", TrustedNetworks: []netip.Prefix{}}, ""},
		{"localhost", Config{Client: client, Addr: "localhost:2525"}, ""},
		{"IPv6 loopback", Config{Client: client, Addr: "[::1]:2525"}, ""},
		{"bad hash", Config{Client: client, Users: []User{{Name: "a", PasswordHash: "secret"}}},
			"Config.Users[0]: user \"a\": PasswordHash is not a bcrypt hash"},
		{"no name", Config{Client: client, Users: []User{{PasswordHash: users[0].PasswordHash}}}, "Config.Users[0]: Name is empty"},
		{"twice", Config{Client: client, Users: []User{users[0], users[0]}}, "Config.Users[1]: user \"app\" is listed twice"},
		{"bad AllowedFrom", Config{Client: client, Users: []User{{Name: "a", PasswordHash: users[0].PasswordHash, AllowedFrom: []string{"@"}}}},
			"AllowedFrom[0]"},
		{"TLSAddr without TLS", Config{Client: client, TLSAddr: "127.0.0.1:465"}, "Config.TLSAddr 127.0.0.1:465 needs Config.TLS"},
		{"TLS without certificate", Config{Client: client, TLS: &tls.Config{}}, "Config.TLS has no certificate"},
		{"negative size", Config{Client: client, MaxMessageBytes: -1}, "Config.MaxMessageBytes"},
		{"bad prefix", Config{Client: client, TrustedNetworks: []netip.Prefix{{}}}, "Config.TrustedNetworks[0]"},
		{"bad hostname", Config{Client: client, Hostname: "a b"}, "Config.Hostname"},
	} {
		_, err := New(tc.cfg)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckListen(t *testing.T) {
	for _, tc := range []struct {
		addr            string
		users, explicit bool
		want            string
	}{
		{"127.0.0.1:2525", false, false, ""},
		{"127.0.0.2:2525", false, false, ""},
		{"[::1]:2525", false, false, ""},
		{"localhost:2525", false, false, ""},
		{"0.0.0.0:2525", false, false, "smtp_addr 0.0.0.0:2525 is not loopback: configure smtp_users or smtp_trusted_networks"},
		{"mail.example.com:25", false, false, "smtp_addr mail.example.com:25 is not loopback"},
		{"[::ffff:127.0.0.1]:25", false, false, ""},
		{"0.0.0.0:2525", true, false, ""},
		{"0.0.0.0:2525", false, true, ""},
	} {
		err := CheckListen(tc.addr, tc.users, tc.explicit)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.addr, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.addr, err, tc.want)
		}
	}
}
