package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/outboxmail/outbox"
)

// retryCmd defines the flags of `outbox retry` and returns the command.
func retryCmd(fs *flag.FlagSet, e *env) func(ctx context.Context, args []string) error {
	client := clientFlags(fs, e)
	return func(ctx context.Context, args []string) error {
		return transition(ctx, e, args[0], client().Retry)
	}
}

// cancelCmd defines the flags of `outbox cancel` and returns the command.
func cancelCmd(fs *flag.FlagSet, e *env) func(ctx context.Context, args []string) error {
	client := clientFlags(fs, e)
	return func(ctx context.Context, args []string) error {
		return transition(ctx, e, args[0], client().Cancel)
	}
}

// transition applies retry or cancel to the message named by arg and
// prints its new status.
func transition(ctx context.Context, e *env, arg string, op func(context.Context, int64) (*outbox.Record, error)) error {
	id, err := parseID(arg)
	if err != nil {
		return err
	}
	rec, err := op(ctx, id)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%d %s\n", rec.ID, rec.Status)
	return err
}
