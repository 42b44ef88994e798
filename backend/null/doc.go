// Package null is the backend that accepts every message and drops it:
// "null:". It is for load tests and for environments that must never send
// mail; every message stays readable through the API.
package null
