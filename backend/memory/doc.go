// Package memory is the backend that keeps every message it is sent in
// memory: "memory:" (or "memory:?max=1000" to keep only the newest 1000).
//
// It serves tests, which read what was "sent" with [Backend.Messages] or
// wait for it with [Backend.WaitFor], and previews that show delivered
// mail without sending any. Messages live as long as the process.
package memory
