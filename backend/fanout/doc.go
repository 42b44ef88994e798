// Package fanout is the fanout combined backend: every child gets each
// message, concurrently, so that one child's failure or slowness never
// holds back the others.
//
//	fanout(smtp://relay.example.com:587 console:)
//	fanout(smtp://relay.example.com:587 file:///var/mail/copy)?require=all
//
// The first child is the primary. Which children's answers make a
// recipient's overall answer (and so the message's status) is the require
// policy: primary (the default) takes the primary's answer; all accepts a
// recipient only once every child accepted it; any accepts it as soon as
// one child did. Every child's answer is returned as a leg result, legs
// "0", "1", … in the order the children are written.
//
// A retry goes only to the children that have not yet settled the
// recipient (Envelope.Settled): a child that accepted a message never gets
// it again. So with the primary up and a secondary down, the message is
// sent, and the secondary alone is tried again until it accepts.
package fanout
