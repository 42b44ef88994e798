package outboxtest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"
)

// phase is the point of a transaction a cue answers.
type phase int

const (
	phaseMail      phase = iota // MAIL FROM
	phaseRcpt                   // RCPT TO, for one address or any
	phaseRcptLimit              // RCPT TO past a count in one transaction
	phaseData                   // the reply after the data's final dot
	phaseCut                    // no reply after the data: the connection drops
)

// Cue is an answer the sink gives instead of accepting, registered by
// [Sink.RejectMail], [Sink.RejectRcpt], [Sink.RejectData],
// [Sink.TooManyRecipientsAfter] or [Sink.CutAfterData]. A cue answers every
// time its phase comes (it is sticky) until [Cue.Times] limits it. When
// several cues match, the one registered first answers.
//
// A reply with code 421 is followed by closing the connection, as a real
// server does.
type Cue struct {
	sink  *Sink
	phase phase
	addr  string // phaseRcpt: the recipient matched, lower case; "" matches any
	limit int    // phaseRcptLimit: recipients accepted before refusing
	reply *smtp.SMTPError
	left  int // answers left; negative is unlimited
	hits  int
}

// Times limits the cue to its next n answers; after them the sink accepts
// again. Call it when registering the cue, before traffic can reach it:
// sink.RejectRcpt(addr, 452, "4.2.2", "mailbox full").Times(1).
func (c *Cue) Times(n int) *Cue {
	c.sink.mu.Lock()
	defer c.sink.mu.Unlock()
	c.left = max(n, 0)
	return c
}

// Hits returns how many times the cue has answered.
func (c *Cue) Hits() int {
	c.sink.mu.Lock()
	defer c.sink.mu.Unlock()
	return c.hits
}

// RejectMail makes the sink answer MAIL FROM with the given reply. An empty
// enhanced code sends the reply without one.
func (s *Sink) RejectMail(code int, enhanced, text string) *Cue {
	return s.addCue(&Cue{phase: phaseMail, reply: s.reply(code, enhanced, text)})
}

// RejectRcpt makes the sink answer RCPT TO:<addr> with the given reply; an
// empty addr matches every recipient. Addresses are compared without
// regard to case.
func (s *Sink) RejectRcpt(addr string, code int, enhanced, text string) *Cue {
	return s.addCue(&Cue{phase: phaseRcpt, addr: strings.ToLower(addr), reply: s.reply(code, enhanced, text)})
}

// TooManyRecipientsAfter makes the sink accept n recipients per
// transaction and answer "452 4.5.3 Too many recipients" to the others, as
// a server with a recipient limit does. Each refused recipient counts as
// one answer of the cue.
func (s *Sink) TooManyRecipientsAfter(n int) *Cue {
	return s.addCue(&Cue{phase: phaseRcptLimit, limit: n, reply: s.reply(452, "4.5.3", "Too many recipients")})
}

// RejectData makes the sink read the message and answer the final dot with
// the given reply instead of accepting it. The message is not recorded.
func (s *Sink) RejectData(code int, enhanced, text string) *Cue {
	return s.addCue(&Cue{phase: phaseData, reply: s.reply(code, enhanced, text)})
}

// CutAfterData makes the sink read the message and close the connection
// without replying, so the client cannot know whether it was accepted. The
// message is not recorded.
func (s *Sink) CutAfterData() *Cue {
	return s.addCue(&Cue{phase: phaseCut})
}

// ClearCues removes every cue and any delay: the sink accepts everything
// again.
func (s *Sink) ClearCues() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cues = nil
	s.delay = 0
}

func (s *Sink) addCue(c *Cue) *Cue {
	c.sink = s
	c.left = -1
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cues = append(s.cues, c)
	return c
}

// reply builds the error go-smtp writes as a reply, failing the test on a
// malformed enhanced code.
func (s *Sink) reply(code int, enhanced, text string) *smtp.SMTPError {
	s.t.Helper()
	if code < 200 || code > 599 {
		s.t.Fatalf("outboxtest: reply code %d is not an SMTP reply code", code)
	}
	ec, err := parseEnhanced(enhanced)
	if err != nil {
		s.t.Fatalf("outboxtest: %v", err)
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: text}
}

// parseEnhanced parses an RFC 3463 code such as "5.1.1"; "" stands for no
// enhanced code in the reply.
func parseEnhanced(s string) (smtp.EnhancedCode, error) {
	if s == "" {
		return smtp.NoEnhancedCode, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return smtp.EnhancedCode{}, fmt.Errorf("enhanced code %q is not of the form 5.1.1", s)
	}
	var ec smtp.EnhancedCode
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 {
			return smtp.EnhancedCode{}, fmt.Errorf("enhanced code %q is not of the form 5.1.1", s)
		}
		ec[i] = n
	}
	return ec, nil
}

// fire returns the reply of the first live cue of phase p that matches
// addr (for phaseRcpt) or n, the recipients accepted so far in the
// transaction (for phaseRcptLimit), and counts the answer. It returns nil
// when the sink should accept. The caller holds s.mu.
func (s *Sink) fire(p phase, addr string, n int) *Cue {
	for _, c := range s.cues {
		if c.phase != p || c.left == 0 {
			continue
		}
		switch p {
		case phaseRcpt:
			if c.addr != "" && c.addr != strings.ToLower(addr) {
				continue
			}
		case phaseRcptLimit:
			if n < c.limit {
				continue
			}
		}
		if c.left > 0 {
			c.left--
		}
		c.hits++
		return c
	}
	return nil
}
