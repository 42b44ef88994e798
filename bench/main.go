package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/outboxmail/outbox/bench/internal/profiled"
)

// profiledCmd is the hidden first argument that makes the bench binary
// the profiled server (see internal/profiled) rather than the bench.
const profiledCmd = "__profiled-serve"

func main() {
	if len(os.Args) > 1 && os.Args[1] == profiledCmd {
		o, err := profiled.ParseArgs(os.Args[2:])
		if err == nil {
			err = profiled.Main(o)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run parses the flags, runs every phase and prints the report on stdout;
// progress goes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b, err := newBench(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer b.close()
	rep, err := b.runAll(ctx)
	if err != nil {
		b.failed = true
		return err
	}
	if cfg.JSON {
		return rep.writeJSON(stdout)
	}
	rep.writeTable(stdout)
	return nil
}
