package smtpd

import (
	"crypto/sha256"
	"errors"
	"strings"
	"sync"

	"github.com/emersion/go-sasl"
	"golang.org/x/crypto/bcrypt"
)

// authCacheSize bounds the cache of successful logins; it is emptied when
// full, which costs at most one bcrypt check per user afterwards.
const authCacheSize = 1024

// authenticator checks user names and passwords against the configured
// users. A bcrypt check takes tens of milliseconds by design; a client
// that opens a session per message would pay it every time, so successful
// checks are remembered in memory, keyed by a SHA-256 of user and
// password (never the password itself). Failed checks are not cached.
type authenticator struct {
	users map[string]*User

	mu    sync.Mutex
	cache map[[sha256.Size]byte]struct{}
}

func newAuthenticator(users []User) *authenticator {
	a := &authenticator{
		users: make(map[string]*User, len(users)),
		cache: make(map[[sha256.Size]byte]struct{}),
	}
	for i := range users {
		a.users[users[i].Name] = &users[i]
	}
	return a
}

// check returns the user whose name and password these are, or nil.
func (a *authenticator) check(name, password string) *User {
	u := a.users[name]
	if u == nil {
		// Spend a bcrypt check anyway, so that the reply's timing does not
		// tell which user names exist.
		for _, other := range a.users {
			bcrypt.CompareHashAndPassword([]byte(other.PasswordHash), []byte(password))
			break
		}
		return nil
	}
	key := sha256.Sum256([]byte(name + "\x00" + password))
	a.mu.Lock()
	_, ok := a.cache[key]
	a.mu.Unlock()
	if ok {
		return u
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return nil
	}
	a.mu.Lock()
	if len(a.cache) >= authCacheSize {
		clear(a.cache)
	}
	a.cache[key] = struct{}{}
	a.mu.Unlock()
	return u
}

// allowedFrom reports whether u may use sender as MAIL FROM.
func (u *User) allowedFrom(sender string) bool {
	if len(u.AllowedFrom) == 0 {
		return true
	}
	if sender == "" {
		return false
	}
	domain := sender[strings.LastIndexByte(sender, '@')+1:]
	for _, a := range u.AllowedFrom {
		if strings.Contains(a, "@") && !strings.HasPrefix(a, "@") {
			if strings.EqualFold(a, sender) {
				return true
			}
		} else if strings.EqualFold(strings.TrimPrefix(a, "@"), domain) {
			return true
		}
	}
	return false
}

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login): the client sends the user name, then the
// password, each after a prompt, or the user name as its initial response.
type loginServer struct {
	login    func(user, password string) error
	user     string
	gotUser  bool
	finished bool
}

// Next implements sasl.Server.
func (s *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch {
	case s.finished:
		return nil, true, errors.New("LOGIN: unexpected response after the exchange ended")
	case !s.gotUser && response == nil:
		return []byte("Username:"), false, nil
	case !s.gotUser:
		s.user, s.gotUser = string(response), true
		return []byte("Password:"), false, nil
	}
	s.finished = true
	return nil, true, s.login(s.user, string(response))
}

var _ sasl.Server = (*loginServer)(nil)
