// Package httpapi is Outbox's JSON API as an [http.Handler], and a typed Go
// client of it.
//
// [New] serves these endpoints over an [outbox.Client]:
//
//	POST /v1/messages               enqueue one message (JSON, or message/rfc822 with the envelope in the query)
//	POST /v1/messages/batch         enqueue up to MaxBatch messages in one commit
//	GET  /v1/messages               list messages, newest first (?status=&limit=&cursor=)
//	GET  /v1/messages/{id}          a message with its recipients and attempt log
//	GET  /v1/messages/{id}/raw      the stored RFC 5322 bytes (message/rfc822)
//	POST /v1/messages/{id}/retry    put a deferred, failed or expired message back in the queue
//	POST /v1/messages/{id}/cancel   cancel a queued or deferred message
//	GET  /v1/stats                  counts per status and the oldest pending message's age
//	GET  /healthz                   200 while the process is up
//	GET  /readyz                    200 when the store can commit a write, else 503
//
// Every /v1/ endpoint requires "Authorization: Bearer <token>" when
// [Config].Tokens is not empty. JSON names are snake_case and times RFC 3339
// in UTC. Errors are JSON objects of the form
//
//	{"error": {"code": "invalid_field", "message": "…", "field": "to[0]"}}
//
// with the codes listed with [Error]; one function maps every error to its
// status and code.
//
// [NewClient] returns a [Client] of this API, used by the outbox command;
// its errors are *[Error].
package httpapi
