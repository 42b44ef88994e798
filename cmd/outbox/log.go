package main

import (
	"io"
	"log/slog"
)

// newLogger returns the logger the configuration asks for: text or JSON
// lines on w, at LogLevel and above.
func newLogger(c Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
