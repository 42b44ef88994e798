// Package outbox is durable, asynchronous email delivery.
//
// An application hands a [Message] to a [Client]; the client validates it,
// renders it to RFC 5322 bytes, commits it to a [Store] and returns at once.
// An [Engine] claims due messages by lease and delivers them through a
// [Backend], recording every attempt and retrying temporary failures with
// exponential backoff as [RetryPolicy] says.
//
// The root package holds the domain types and the public API. Storage lives
// in subpackages (sqlite), delivery backends under backend/, and the HTTP
// API in httpapi. The command in cmd/outbox wires them together.
package outbox
