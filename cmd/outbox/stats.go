package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/outboxmail/outbox"
)

// statsCmd defines the flags of `outbox stats` and returns the command.
func statsCmd(fs *flag.FlagSet, e *env) func(ctx context.Context, args []string) error {
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	client := clientFlags(fs, e)
	return func(ctx context.Context, _ []string) error {
		st, err := client().Stats(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, st)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		for _, s := range outbox.Statuses {
			fmt.Fprintf(tw, "%s\t%d\n", s, st.Counts[s])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if st.OldestPendingAt.IsZero() {
			_, err = fmt.Fprintln(e.stdout, "oldest pending: none")
			return err
		}
		age := time.Duration(st.OldestPendingAgeSeconds * float64(time.Second)).Round(time.Second)
		_, err = fmt.Fprintf(e.stdout, "oldest pending: %s (%s ago)\n", fmtTime(st.OldestPendingAt), age)
		return err
	}
}
