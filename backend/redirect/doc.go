// Package redirect wraps backends so that mail goes to test addresses
// instead of its recipients: the staging profile.
//
// Every envelope recipient (to, cc and bcc alike: the envelope holds them
// all) that is not on the allow-list is replaced by the redirect
// addresses; allowed recipients get the message as usual. The original
// recipients are kept in a header added at the top of the message
// (X-Outbox-Original-Recipients), and each one's answer in the attempt log
// says where it was redirected. The message is otherwise unchanged, and
// the same on every attempt.
//
// Wrap applies it to every URL of a scheme table, so that the plain
// backends inside fanout, failover or roundrobin are wrapped and the
// combined backends keep working per recipient.
package redirect
