package smtpd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/outboxmail/outbox"
)

// readChunk is the buffer a message is first read into, enough for most
// transactional mail; a longer message doubles it as often as it needs,
// up to the size limit.
const readChunk = 8 << 10

// Data receives the message (after DATA, or across BDAT chunks), stores
// it and returns the reply: 250 2.0.0 queued as <id> once the message is
// committed, else the reason it is not. go-smtp writes the returned
// *smtp.SMTPError as it is.
func (s *session) Data(r io.Reader) error {
	tx, user := s.envelope()
	if tx == nil {
		return replyBadSequence("Need MAIL and RCPT before DATA")
	}
	srv := s.srv
	start := srv.cfg.Now()
	// The message is read after its Received field, into one buffer, and
	// the fields that must go are removed in place.
	buf := appendReceived(make([]byte, 0, readChunk), trace{
		Helo: s.helo, Remote: s.remote, Hostname: srv.cfg.Hostname,
		TLS: s.tls, Auth: user != nil, ID: tx.id, Time: start,
	})
	head := len(buf)
	buf, err := s.readMessage(buf, r)
	if err != nil {
		return s.readFailed(r, err)
	}
	if len(buf) > head && (buf[head] == ' ' || buf[head] == '\t') {
		// It would continue the Received field: what follows would be
		// header fields that stripHeader takes for body (Bcc kept).
		err := errors.New("the header starts with a continuation line")
		s.logRefused(tx, err)
		return reply(554, smtp.EnhancedCode{5, 6, 0}, "Message refused: "+err.Error())
	}
	raw, controls := stripHeader(buf[:head], buf[head:])
	m := &outbox.Message{
		Raw:  raw,
		From: outbox.Address{Addr: tx.from},
		To:   make([]outbox.Address, len(tx.to)),
	}
	for i, a := range tx.to {
		m.To[i] = outbox.Address{Addr: a}
	}
	if err := applyControls(m, controls); err != nil {
		s.logRefused(tx, err)
		return enqueueReply(err)
	}
	rc, err := srv.cfg.Client.Enqueue(srv.ctx, m)
	if err != nil {
		s.logRefused(tx, err)
		return enqueueReply(err)
	}
	userName := ""
	if user != nil {
		userName = user.Name
	}
	srv.log.Info("smtp message queued",
		"id", rc.ID, "tx", tx.id, "existing", rc.Existing,
		"remote", s.remote.String(), "user", userName,
		"from", tx.from, "rcpts", len(tx.to), "size", len(raw),
		"duration", srv.cfg.Now().Sub(start))
	return queuedReply(rc.ID)
}

// logRefused logs a message that was not stored.
func (s *session) logRefused(tx *transaction, err error) {
	s.srv.log.Warn("smtp message refused", "tx", tx.id, "remote", s.remote.String(),
		"from", tx.from, "rcpts", len(tx.to), "err", err)
}

// readMessage appends the whole message data to buf. After DATA, every
// read from the socket may wait Config.DataTimeout for more; BDAT chunks
// are read by go-smtp under the command timeout. The size limit is
// go-smtp's, checked once more here.
func (s *session) readMessage(buf []byte, r io.Reader) ([]byte, error) {
	limit := s.srv.cfg.MaxMessageBytes + int64(len(buf))
	_, bdat := r.(*io.PipeReader)
	perRead := !bdat && s.srv.cfg.DataTimeout > 0
	if bdat && s.track != nil {
		s.track.chunksUnderWay(true)
		defer s.track.chunksUnderWay(false)
	}
	if perRead && s.track != nil {
		// go-smtp sets its command timeout again before the next command.
		s.track.readsWait(s.srv.cfg.DataTimeout)
		defer s.track.readsWait(0)
		perRead = false
	}
	for {
		if perRead { // not our listener: a deadline per read of the message
			s.conn.SetReadDeadline(time.Now().Add(s.srv.cfg.DataTimeout))
		}
		if len(buf) == cap(buf) {
			// Double, but not far past the limit: one byte over it is
			// enough to tell that a message is too large.
			buf = slices.Grow(buf, max(readChunk, min(cap(buf), int(limit)+1-len(buf))))
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, smtp.ErrDataTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readFailed is the reply when the message data could not be read. A
// timeout in the middle of DATA leaves the rest of the message on its way:
// read as commands, it would be nonsense at best. The session therefore
// writes its 421 itself and closes the connection (go-smtp would carry
// on). With BDAT, go-smtp reads the chunks: the connection ends on a
// timeout (trackedConn.chunksUnderWay).
func (s *session) readFailed(r io.Reader, err error) error {
	rep := readReply(err)
	_, bdat := r.(*io.PipeReader)
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && !bdat {
		s.conn.SetWriteDeadline(time.Now().Add(s.srv.cfg.WriteTimeout))
		fmt.Fprintf(s.conn, "%d %d.%d.%d %s\r\n", rep.Code,
			rep.EnhancedCode[0], rep.EnhancedCode[1], rep.EnhancedCode[2], rep.Message)
		s.conn.Close()
	}
	return rep
}
