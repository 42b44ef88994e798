package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/outboxmail/outbox"
)

// showCmd defines the flags of `outbox show` and returns the command.
func showCmd(fs *flag.FlagSet, e *env) func(ctx context.Context, args []string) error {
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	raw := fs.Bool("raw", false, "print the stored RFC 5322 message")
	client := clientFlags(fs, e)
	return func(ctx context.Context, args []string) error {
		id, err := parseID(args[0])
		if err != nil {
			return err
		}
		if *raw && *asJSON {
			return usagef("--json and --raw are two different outputs: give one")
		}
		if *raw {
			data, err := client().Raw(ctx, id)
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(data)
			return err
		}
		rec, err := client().Get(ctx, id)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, rec)
		}
		return printRecord(e.stdout, rec)
	}
}

// parseID parses a queue id argument.
func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("invalid message id %q: want the number outbox send or outbox ls printed", s)
	}
	return id, nil
}

// printRecord prints a message readably: its fields, recipients and
// attempt log.
func printRecord(w io.Writer, r *outbox.Record) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", name, value)
		}
	}
	field("ID", strconv.FormatInt(r.ID, 10))
	field("Message-ID", r.MessageID)
	field("Status", string(r.Status))
	field("From", orDefault(r.From, "<>"))
	field("Subject", r.Subject)
	field("Priority", r.Priority.String())
	field("Backend", orDefault(r.Backend, "(default)"))
	field("Tags", strings.Join(r.Tags, ", "))
	field("Size", strconv.Itoa(r.Size)+" bytes")
	field("Attempts", strconv.Itoa(r.Attempts))
	field("Created", fmtTime(r.CreatedAt))
	field("Updated", fmtTime(r.UpdatedAt))
	if !r.SendAt.IsZero() {
		field("Send at", fmtTime(r.SendAt))
	}
	if !r.ExpiresAt.IsZero() {
		field("Expires at", fmtTime(r.ExpiresAt))
	}
	if r.Status.Pending() && !r.NextAttemptAt.IsZero() {
		field("Next attempt", fmtTime(r.NextAttemptAt))
	}
	field("Last error", r.LastError)
	field("Idempotency key", r.IdempotencyKey)
	if len(r.Metadata) > 0 {
		keys := make([]string, 0, len(r.Metadata))
		for k := range r.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + r.Metadata[k]
		}
		field("Metadata", strings.Join(keys, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nRecipients:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, rc := range r.Recipients {
		fmt.Fprintf(tw, "  %s\t%s%s\n", rc.Addr, rc.Status, detail(outbox.RecipientResult{Leg: rc.Leg, Reply: rc.Reply}))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(r.AttemptLog) == 0 {
		_, err := fmt.Fprintf(w, "\nAttempts: none yet\n")
		return err
	}
	fmt.Fprintf(w, "\nAttempt log:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, a := range r.AttemptLog {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s%s\n", fmtTime(a.At), orDefault(a.Backend, "-"),
			a.Duration.Round(time.Millisecond), a.Class, detail(outbox.RecipientResult{Reply: a.Reply}))
		for _, rr := range a.Recipients {
			fmt.Fprintf(tw, "    %s\t\t\t%s%s\n", rr.Addr, rr.Class, detail(rr))
		}
	}
	return tw.Flush()
}

// detail is the last cell of a recipient line, after a tab: the leg that
// answered, if any, the backend it went through ("via smtp://b:25"),
// "failed over" when that backend did not take the recipient so that the
// next one got it, "uncertain" when it may have taken the message though
// it did not say so, and the reply; empty when there is none of them.
func detail(r outbox.RecipientResult) string {
	var parts []string
	if r.Leg != "" {
		parts = append(parts, "["+r.Leg+"]")
	}
	if r.Via != "" {
		parts = append(parts, "via "+r.Via)
	}
	if r.FailedOver {
		parts = append(parts, "failed over")
	}
	if r.Uncertain {
		parts = append(parts, "uncertain")
	}
	if s := r.Reply.String(); s != "" {
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return ""
	}
	return "\t" + strings.Join(parts, " ")
}
