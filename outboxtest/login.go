package outboxtest

import (
	"errors"

	"github.com/emersion/go-sasl"
)

// loginServer is the server side of the obsolete but common LOGIN SASL
// mechanism, which go-sasl provides only as a client: the server asks
// "Username:" then "Password:" (the client may send the username as an
// initial response).
type loginServer struct {
	authenticate func(username, password string) error
	username     *string
}

var _ sasl.Server = (*loginServer)(nil)

func (s *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch {
	case s.username == nil && response == nil:
		return []byte("Username:"), false, nil
	case s.username == nil:
		u := string(response)
		s.username = &u
		return []byte("Password:"), false, nil
	case response == nil:
		return nil, true, errors.New("LOGIN: missing password")
	default:
		return nil, true, s.authenticate(*s.username, string(response))
	}
}
