package smtpd

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/outboxmail/outbox"
)

// session is one client's SMTP session, from EHLO to QUIT (a STARTTLS
// starts a new one). go-smtp calls its methods from the connection's
// goroutine, except that with BDAT Data runs on a goroutine of its own
// while the connection goroutine may call Reset or Logout: the
// transaction state is therefore under mu.
type session struct {
	srv    *Server
	conn   net.Conn     // the connection, TLS layer included
	track  *trackedConn // nil when the listener was not ours
	helo   string
	remote netip.Addr // invalid when the peer is not an IP address
	tls    bool
	// trusted: the client may submit without authenticating.
	trusted bool
	// secure: AUTH may be offered (TLS, or loopback when allowed).
	secure bool

	mu   sync.Mutex
	user *User // set by a successful AUTH
	tx   *transaction
}

// transaction is the envelope of the message being submitted.
type transaction struct {
	id   string // for the Received field and the log
	from string
	utf8 bool // MAIL FROM had the SMTPUTF8 parameter
	to   []string
}

var (
	_ smtp.Session     = (*session)(nil)
	_ smtp.AuthSession = (*session)(nil)
)

// newSession is go-smtp's Backend: it runs at EHLO/HELO.
func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	nc := c.Conn()
	sess := &session{srv: s, conn: nc, helo: c.Hostname()}
	if _, ok := c.TLSConnectionState(); ok {
		sess.tls = true
	}
	raw := nc
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok {
		raw = tc.NetConn()
	}
	sess.track, _ = raw.(*trackedConn)
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		sess.remote = ap.Addr().Unmap()
	}
	sess.trusted = sess.remote.IsValid() && s.isTrusted(sess.remote)
	loopback := sess.remote.IsValid() && sess.remote.IsLoopback()
	sess.secure = sess.tls || loopback && !s.cfg.RequireTLSForLoopbackAuth
	return sess, nil
}

// isTrusted reports whether ip is in a trusted network.
func (s *Server) isTrusted(ip netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// AuthMechanisms lists PLAIN and LOGIN when users are configured and the
// connection is secure enough to send a password over; otherwise AUTH is
// not offered at all.
func (s *session) AuthMechanisms() []string {
	if !s.secure || len(s.srv.auth.users) == 0 {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts a PLAIN or LOGIN exchange.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if len(s.srv.auth.users) == 0 {
		return nil, smtp.ErrAuthUnsupported
	}
	if !s.secure {
		return nil, replyEncryptionRequired()
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, password string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed // no acting on behalf of others
			}
			return s.login(user, password)
		}), nil
	case sasl.Login:
		return &loginServer{login: s.login}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// login checks a user name and password.
func (s *session) login(name, password string) error {
	u := s.srv.auth.check(name, password)
	if u == nil {
		s.srv.log.Warn("smtp auth failed", "user", name, "remote", s.remote.String())
		return smtp.ErrAuthFailed
	}
	s.mu.Lock()
	s.user = u
	s.mu.Unlock()
	return nil
}

// Mail starts a transaction. Only a trusted or authenticated client may;
// an authenticated user only with a sender their AllowedFrom permits.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx != nil {
		return replyNestedMail()
	}
	if s.user == nil && !s.trusted {
		return replyAuthRequired()
	}
	if from != "" {
		if err := outbox.ValidateAddr(from); err != nil {
			return reply(553, smtp.EnhancedCode{5, 1, 7}, "Bad sender address: "+err.Error())
		}
		if !opts.UTF8 && !isASCII(from) {
			return reply(553, smtp.EnhancedCode{5, 6, 7}, "Non-ASCII sender address needs the SMTPUTF8 parameter")
		}
	}
	if s.user != nil && !s.user.allowedFrom(from) {
		return reply(550, smtp.EnhancedCode{5, 7, 1}, "Sender <"+from+"> not allowed for user "+s.user.Name)
	}
	if s.track != nil && !s.track.begin() {
		return replyShuttingDown()
	}
	s.tx = &transaction{id: newTransactionID(), from: from, utf8: opts.UTF8}
	return nil
}

// Rcpt adds a recipient. go-smtp enforces Config.MaxRecipients itself
// (452 4.5.3) before calling it.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx == nil {
		return replyBadSequence("Need MAIL before RCPT")
	}
	if err := outbox.ValidateAddr(to); err != nil {
		return reply(553, smtp.EnhancedCode{5, 1, 3}, "Bad recipient address: "+err.Error())
	}
	if !s.tx.utf8 && !isASCII(to) {
		return reply(553, smtp.EnhancedCode{5, 6, 7}, "Non-ASCII recipient address needs SMTPUTF8 in MAIL FROM")
	}
	s.tx.to = append(s.tx.to, to)
	return nil
}

// Reset ends the transaction (after its reply, on RSET, on a new EHLO).
func (s *session) Reset() {
	s.mu.Lock()
	s.tx = nil
	s.mu.Unlock()
	if s.track != nil {
		s.track.end()
	}
}

// Logout ends the session.
func (s *session) Logout() error {
	s.Reset()
	return nil
}

// envelope returns a copy of the transaction, and who is submitting.
func (s *session) envelope() (*transaction, *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tx == nil {
		return nil, s.user
	}
	tx := *s.tx
	tx.to = slices.Clone(s.tx.to)
	return &tx, s.user
}

// newTransactionID returns a random id for a transaction's Received field
// and log lines: the queue id is not known before the message is stored.
func newTransactionID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand's contract since Go 1.24)
	return hex.EncodeToString(b[:])
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
