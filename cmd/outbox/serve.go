package main

import (
	"context"
	"errors"
	"io"
)

// serve runs Outbox with cfg until ctx is done. Temporary stub: the serve
// wiring replaces this file.
func serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	return errors.New("serve: not wired yet")
}
