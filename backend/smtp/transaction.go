package smtp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/outboxmail/outbox"
)

// connState is what a transaction leaves the connection fit for.
type connState int

const (
	connReady  connState = iota // idle, between transactions: reuse it
	connBroken                  // in an unknown state or closed: discard it
	connStale                   // failed before the first reply: discard it, and a reused one may be retried
)

// writeChunk is how much of the message is written under one deadline.
const writeChunk = 64 << 10

// transact runs one transaction for e on c. When the server offers
// PIPELINING (RFC 2920), MAIL, every RCPT and DATA go out in one write and
// their replies are read together: two round trips per message, whatever
// the number of recipients. When it offers CHUNKING (RFC 3030) too, a
// message of up to bdatMax bytes goes in that same write, as BDAT LAST:
// one round trip (see useBDAT). Otherwise each command waits for its
// reply, and the transaction stops at a refused MAIL or when no recipient
// was accepted.
//
// reused says c carried earlier transactions: a server may have closed it
// while it sat idle.
func (b *Backend) transact(ctx context.Context, c *conn, e *outbox.Envelope, reused bool) (_ []outbox.RecipientResult, state connState, _ error) {
	if err := ctx.Err(); err != nil {
		return nil, connReady, b.netError(ctx, "send", err)
	}
	// Closing the socket is the only way to interrupt a blocked read or
	// write at once.
	stop := context.AfterFunc(ctx, func() { _ = c.raw.Close() })
	defer func() {
		if !stop() {
			state = connBroken
		}
	}()
	defer c.raw.SetDeadline(time.Time{})

	why := needsUTF8(e)
	if why != "" && !c.ext.smtputf8 {
		return nil, connReady, outbox.Permanent("upstream %s does not support SMTPUTF8, required by %s", b.name, why)
	}

	// With BDAT every reply waits as long as the message's: a server may
	// hold its replies to a pipeline until it has taken the message.
	bdat := c.useBDAT(e.Data)
	var wait time.Duration
	if bdat {
		wait = b.cfg.DataTimeout
	}
	cmds := make([]command, 0, len(e.To)+2)
	cmds = append(cmds, command{line: c.mailCommand(e, why != ""), expect: 250, wait: wait})
	for _, to := range e.To {
		cmds = append(cmds, command{line: "RCPT TO:<" + to + ">", expect: 25, wait: wait})
	}
	var final string // the reply text to BDAT
	if bdat {
		cmds = append(cmds, command{line: "BDAT " + strconv.Itoa(len(e.Data)) + " LAST", expect: 250,
			data: e.Data, wait: wait, text: &final})
	} else {
		cmds = append(cmds, command{line: "DATA", expect: 354})
	}
	replies := c.exchange(ctx, b, cmds)

	// MAIL FROM.
	if err := replies[0]; err != nil {
		r, ok := serverReply(err)
		switch {
		case !ok && bdat && !errors.Is(err, errWrite) && !(reused && closedByPeer(ctx, err)):
			// The message went with MAIL, whole: the server may have taken
			// it.
			return nil, connBroken, b.mayHaveAccepted(ctx, "MAIL FROM", err)
		case !ok:
			// Nothing was read, or with BDAT nothing whole was sent: a
			// reused connection the server had closed.
			return nil, connStale, b.netError(ctx, "MAIL FROM", err)
		case r.Code == 421:
			// Often the server's farewell on an idle connection.
			return nil, connStale, b.refused("MAIL FROM", r)
		}
		// Pipelined RCPTs and DATA (or BDAT, whose chunk the server
		// reads and drops) were refused as out of sequence.
		state := c.settle(replies)
		if bdat && state == connReady {
			state = b.reset(ctx, c) // in step after the chunk?
		}
		return nil, state, b.refused("MAIL FROM", r)
	}

	// RCPT TO, one reply per recipient. With BDAT the message went with
	// them, so only its reply says whether the server took it.
	results := make([]outbox.RecipientResult, len(e.To))
	accepted := 0
	var closing *outbox.Reply // a 421 to a RCPT sent with BDAT
	for i, to := range e.To {
		results[i] = outbox.RecipientResult{Addr: to}
		err := replies[1+i]
		if err == nil {
			accepted++
			continue
		}
		r, ok := serverReply(err)
		switch {
		case !ok && bdat && closing != nil && closedByPeer(ctx, err): // it closed, as it said
			return nil, connBroken, b.refused("RCPT TO", *closing)
		case !ok && bdat:
			return nil, connBroken, b.mayHaveAccepted(ctx, fmt.Sprintf("RCPT TO:<%s>", to), err)
		case !ok:
			return nil, connBroken, b.netError(ctx, fmt.Sprintf("RCPT TO:<%s>", to), err)
		case r.Code == 421 && !bdat:
			return nil, connBroken, b.refused("RCPT TO", r)
		case r.Code == 421 && closing == nil:
			closing = &r
		}
		results[i].Class, results[i].Reply = outbox.Classify(r), r
	}

	if bdat {
		return b.bdatResult(ctx, c, results, accepted, closing, replies[len(replies)-1], final)
	}

	// DATA: not sent (one by one, no recipient accepted) or refused.
	data := replies[len(replies)-1]
	if accepted == 0 {
		if data == nil { // 354 with no recipient: end the empty message
			if err := c.endEmptyData(ctx, b); err != nil {
				return nil, connBroken, b.netError(ctx, "end of data", err)
			}
		}
		return results, b.reset(ctx, c), nil
	}
	if err := data; err != nil {
		r, ok := serverReply(err)
		switch {
		case !ok:
			return nil, connBroken, b.netError(ctx, "DATA", err)
		case r.Code == 421:
			return nil, connBroken, b.refused("DATA", r)
		}
		return nil, b.reset(ctx, c), b.refused("DATA", r)
	}

	msg, err := c.sendData(ctx, b, e.Data)
	if err != nil {
		r, ok := serverReply(err)
		switch {
		case errors.Is(err, errWrite):
			return nil, connBroken, b.netError(ctx, "writing the message", err)
		case !ok:
			// The server may have taken the message: a retry can duplicate it.
			return nil, connBroken, b.mayHaveAccepted(ctx, "end of data", err)
		case r.Code == 421:
			return nil, connBroken, b.refused("end of data", r)
		}
		return nil, connReady, b.refused("end of data", r)
	}

	return accept(results, msg), connReady, nil
}

// accept marks the recipients no RCPT reply refused as accepted with the
// server's final reply text msg.
func accept(results []outbox.RecipientResult, msg string) []outbox.RecipientResult {
	enh, text := splitEnhanced(oneLine(msg))
	ok := outbox.Reply{Code: 250, Enhanced: enh, Text: text}
	for i := range results {
		if results[i].Class == "" {
			results[i].Class, results[i].Reply = outbox.ClassAccepted, ok
		}
	}
	return results
}

// bdatMax is the largest message sent with BDAT in the write of its
// commands: it is sent before the server has said whether it takes any
// recipient, so a larger one goes with DATA, after the replies.
const bdatMax = writeChunk

// useBDAT tells whether data goes as one BDAT LAST chunk in the write of
// the commands: the server offers PIPELINING and CHUNKING, data is at
// most bdatMax bytes, and it is sent as DATA would send it: CR and LF
// only ever together, as the CRLF ending every line, the last one too
// (DATA's writer turns a bare LF into CRLF, ends an unterminated last
// line and doubles some CRs; BDAT sends the bytes as they are).
func (c *conn) useBDAT(data []byte) bool {
	if !c.ext.pipelining || !c.ext.chunking || len(data) == 0 || len(data) > bdatMax ||
		!bytes.HasSuffix(data, []byte("\r\n")) {
		return false
	}
	// Every CR and every LF belongs to a CRLF exactly when there are as
	// many of each as CRLFs (counting runs vectorized, unlike a loop over
	// the bytes, which took a per cent of the daemon's CPU).
	n := bytes.Count(data, []byte("\r\n"))
	return bytes.Count(data, []byte{'\r'}) == n && bytes.Count(data, []byte{'\n'}) == n
}

// closedByPeer tells whether err is the server closing the connection
// (an end of file or a reset), not a timeout or ctx ending.
func closedByPeer(ctx context.Context, err error) bool {
	return ctx.Err() == nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
}

// bdatResult is the outcome of a transaction whose message went as BDAT
// LAST with its RCPTs: accepted RCPTs were accepted, closing is the first
// 421 among the others (the server said it is closing the connection),
// reply the server's answer to BDAT and final that answer's text. Only
// that answer says whether the message was taken, for the recipients
// accepted. The transaction is over either way; after a refusal an RSET
// makes sure of it before the connection is reused.
func (b *Backend) bdatResult(ctx context.Context, c *conn, results []outbox.RecipientResult, accepted int,
	closing *outbox.Reply, reply error, final string) ([]outbox.RecipientResult, connState, error) {
	after := func() connState { // what a refusal leaves
		if closing != nil {
			return connBroken
		}
		return b.reset(ctx, c)
	}
	r, ok := serverReply(reply)
	switch {
	case reply == nil && accepted > 0:
		state := connReady
		if closing != nil {
			state = connBroken
		}
		return accept(results, final), state, nil
	case accepted == 0 && closing != nil: // as with DATA: the whole transaction waits
		return nil, connBroken, b.refused("RCPT TO", *closing)
	case accepted == 0 && (reply == nil || ok && r.Code != 421):
		// No recipient accepted, nothing delivered: the RCPT replies say
		// why.
		return results, after(), nil
	case accepted == 0: // the same, and the server closing
		return results, connBroken, nil
	case !ok:
		// The server may have taken the message: a retry can duplicate it.
		return nil, connBroken, b.mayHaveAccepted(ctx, "end of data", reply)
	case r.Code == 421:
		return nil, connBroken, b.refused("end of data", r)
	case closing != nil: // not taken, and the server is closing
		return nil, connBroken, b.refused("RCPT TO", *closing)
	}
	return nil, after(), b.refused("end of data", r)
}

// command is one command of a transaction and the reply code that means
// success (a two-digit prefix matches any code it begins); data follows
// the line (a BDAT chunk), wait bounds the wait for its reply when set
// (else the command timeout), and text, when set, gets the reply's text.
type command struct {
	line   string
	expect int
	data   []byte
	wait   time.Duration
	text   *string
}

// mayHaveAccepted is the network error of a stage after the message
// went out: it wraps outbox.ErrMayHaveAccepted, so that the message is
// not sent again at once, by this backend or by a combined one's next
// child.
func (b *Backend) mayHaveAccepted(ctx context.Context, stage string, err error) error {
	return fmt.Errorf("%w (%w)", b.netError(ctx, stage, err), outbox.ErrMayHaveAccepted)
}

// errNotSent marks a command a one-by-one exchange did not send.
var errNotSent = errors.New("not sent")

// errWrite marks a failure to write the message body, or a pipeline of
// commands.
var errWrite = errors.New("write failed")

// exchange sends cmds (MAIL, the RCPTs, DATA) and returns each one's
// outcome: nil, a *textproto.Error with the server's reply, a network
// error, or errNotSent. Pipelined, they go out in one write; otherwise one
// by one, stopping after a refused MAIL or, before DATA, when no RCPT was
// accepted. After a network error, the remaining commands carry that
// error.
func (c *conn) exchange(ctx context.Context, b *Backend, cmds []command) []error {
	replies := make([]error, len(cmds))
	fail := func(from int, err error) []error {
		for i := from; i < len(replies); i++ {
			replies[i] = err
		}
		return replies
	}
	if c.ext.pipelining {
		_ = c.raw.SetWriteDeadline(b.deadline(ctx, b.cfg.Timeout))
		for _, cmd := range cmds {
			c.text.W.WriteString(cmd.line)
			c.text.W.WriteString("\r\n")
			c.text.W.Write(cmd.data)
		}
		if err := c.text.W.Flush(); err != nil {
			return fail(0, fmt.Errorf("%w: %w", errWrite, err))
		}
		for i, cmd := range cmds {
			wait := b.cfg.Timeout
			if cmd.wait > 0 {
				wait = cmd.wait
			}
			if err := c.read(ctx, b, cmd.expect, wait, cmd.text); err != nil {
				if _, ok := err.(*textproto.Error); !ok {
					return fail(i, err)
				}
				replies[i] = err
			}
		}
		return replies
	}
	accepted := 0
	for i, cmd := range cmds {
		last := i == len(cmds)-1
		if last && accepted == 0 {
			return fail(i, errNotSent)
		}
		err := c.roundTrip(ctx, b, cmd.line, cmd.expect, b.cfg.Timeout)
		if _, ok := err.(*textproto.Error); err != nil && !ok {
			return fail(i, err)
		}
		replies[i] = err
		switch {
		case i == 0 && err != nil:
			return fail(1, errNotSent)
		case i > 0 && !last && err == nil:
			accepted++
		}
	}
	return replies
}

// roundTrip sends line and reads its reply within d, expecting code.
func (c *conn) roundTrip(ctx context.Context, b *Backend, line string, expect int, d time.Duration) error {
	_ = c.raw.SetWriteDeadline(b.deadline(ctx, b.cfg.Timeout))
	if err := c.text.PrintfLine("%s", line); err != nil {
		return err
	}
	return c.read(ctx, b, expect, d, nil)
}

// read reads one reply within d, expecting code; msg, when set, gets its
// text.
func (c *conn) read(ctx context.Context, b *Backend, expect int, d time.Duration, msg *string) error {
	_ = c.raw.SetReadDeadline(b.deadline(ctx, d))
	_, text, err := c.text.ReadResponse(expect)
	if msg != nil {
		*msg = text
	}
	return err
}

// sendData writes the message, dot-stuffed, ends it and returns the
// server's final reply text. A failed write wraps errWrite.
func (c *conn) sendData(ctx context.Context, b *Backend, data []byte) (string, error) {
	w := c.text.DotWriter()
	for len(data) > 0 {
		n := min(len(data), writeChunk)
		_ = c.raw.SetWriteDeadline(b.deadline(ctx, b.cfg.Timeout))
		if _, err := w.Write(data[:n]); err != nil {
			return "", fmt.Errorf("%w: %w", errWrite, err)
		}
		data = data[n:]
	}
	_ = c.raw.SetWriteDeadline(b.deadline(ctx, b.cfg.Timeout))
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("%w: %w", errWrite, err)
	}
	var msg string
	err := c.read(ctx, b, 250, b.cfg.DataTimeout, &msg)
	return msg, err
}

// endEmptyData ends the data a server opened (354) with no recipient to
// justify it, and drops the reply.
func (c *conn) endEmptyData(ctx context.Context, b *Backend) error {
	err := c.roundTrip(ctx, b, ".", 0, b.cfg.DataTimeout)
	if _, ok := err.(*textproto.Error); ok {
		return nil
	}
	return err
}

// settle returns what a refused MAIL leaves the connection fit for: the
// replies to the commands pipelined after it must all have been read, and
// DATA refused.
func (c *conn) settle(replies []error) connState {
	if replies[len(replies)-1] == nil {
		return connBroken // DATA accepted without a transaction
	}
	for _, err := range replies[1:] {
		if _, ok := err.(*textproto.Error); err != nil && !ok && !errors.Is(err, errNotSent) {
			return connBroken
		}
	}
	return connReady
}

// mailCommand is the MAIL FROM command for e: BODY=8BITMIME whenever the
// server offers 8BITMIME (correct for 7-bit data too; data with 8-bit
// bytes goes unchanged to a server without it, as most accept it), SIZE
// when offered, SMTPUTF8 when needed.
func (c *conn) mailCommand(e *outbox.Envelope, utf8 bool) string {
	line := "MAIL FROM:<" + e.From + ">"
	if c.ext.eightBit {
		line += " BODY=8BITMIME"
	}
	if c.ext.size && len(e.Data) > 0 {
		line += " SIZE=" + strconv.Itoa(len(e.Data))
	}
	if utf8 {
		line += " SMTPUTF8"
	}
	return line
}

// reset ends a transaction the server still holds open, and says whether
// the connection can be reused.
func (b *Backend) reset(ctx context.Context, c *conn) connState {
	if c.roundTrip(ctx, b, "RSET", 250, b.cfg.Timeout) != nil {
		return connBroken
	}
	return connReady
}

// refused is the error for a reply that fails the whole transaction.
func (b *Backend) refused(stage string, r outbox.Reply) error {
	return &outbox.SendError{Reply: r, Err: fmt.Errorf("smtp %s: refused at %s", b.name, stage)}
}

// needsUTF8 says why e needs SMTPUTF8, or "" if it does not: the
// envelope's flag (set for UTF-8 headers), or a non-ASCII address.
func needsUTF8(e *outbox.Envelope) string {
	if e.UTF8 {
		return "the message (UTF-8 in its headers or addresses)"
	}
	for _, a := range append([]string{e.From}, e.To...) {
		if !isASCII(a) {
			return fmt.Sprintf("the address %q", a)
		}
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
