// Package file is the backend that writes each message as an .eml file in
// a directory: "file:///var/spool/outbox" (or "file:relative/dir").
//
// A file holds the message's RFC 5322 bytes exactly as Outbox stored
// them, so any mail client opens it. Files are written atomically: into a
// hidden temporary file in the same directory, synced, renamed to the
// final name, and the directory synced; a reader never sees half a file
// and a crash leaves no partial .eml behind (at most a hidden
// ".outbox-*.tmp" file). Files are readable by their owner only (0600),
// as mail often holds private links.
//
// The name is "<queue id>-<hash>.eml": the queue id zero-padded to 12
// digits, so names sort in enqueue order, and 16 hex digits of the
// SHA-256 of the Message-ID. A retry of the same message writes the same
// name and replaces the file, so a message is never written twice. (A
// timestamp in the name would sort by time too, but would make every
// retry a new file.)
//
// The directory is created, with its parents, on the first Send, not by
// the constructor, so that configuring the backend touches nothing. Every
// failure (a full disk, a missing permission) is temporary: none depends
// on the message, so the engine retries once the operator has fixed it.
package file
