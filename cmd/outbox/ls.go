package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
)

// lsCmd defines the flags of `outbox ls` and returns the command.
func lsCmd(fs *flag.FlagSet, e *env) func(ctx context.Context, args []string) error {
	status := fs.String("status", "", "only messages in this `status`: queued, sending, deferred, sent, failed, expired or cancelled")
	limit := fs.Int("limit", httpapi.DefaultListLimit, "page size, 1 to "+strconv.Itoa(httpapi.MaxListLimit))
	cursor := fs.Int64("cursor", 0, "show the page at this `cursor` (ls prints the next one after a full page)")
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	client := clientFlags(fs, e)
	return func(ctx context.Context, _ []string) error {
		if *limit < 1 || *limit > httpapi.MaxListLimit {
			return usagef("--limit %d: want 1 to %d", *limit, httpapi.MaxListLimit)
		}
		if *cursor < 0 {
			return usagef("--cursor %d: want the cursor ls printed", *cursor)
		}
		page, err := client().List(ctx, outbox.ListQuery{Status: outbox.Status(*status), Limit: *limit, Before: *cursor})
		if err != nil {
			return err
		}
		if *asJSON {
			resp := httpapi.ListResponse{Messages: page.Records}
			if resp.Messages == nil {
				resp.Messages = []*outbox.Record{}
			}
			if page.Next != 0 {
				resp.NextCursor = strconv.FormatInt(page.Next, 10)
			}
			return writeJSON(e.stdout, resp)
		}
		if err := printList(e.stdout, page.Records); err != nil {
			return err
		}
		if page.Next != 0 {
			fmt.Fprintf(e.stderr, "more: outbox ls --cursor %d\n", page.Next)
		}
		return nil
	}
}

// printList prints messages as a table.
func printList(w io.Writer, recs []*outbox.Record) error {
	if len(recs) == 0 {
		_, err := fmt.Fprintln(w, "(no messages)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCREATED\tFROM\tTO\tSUBJECT")
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Status, fmtTime(r.CreatedAt),
			cell(orDefault(r.From, "<>"), 40), cell(recipientSummary(r.Recipients), 40), cell(r.Subject, 60))
	}
	return tw.Flush()
}

// recipientSummary is the first recipient and how many others there are.
func recipientSummary(rcpts []outbox.Recipient) string {
	var addrs []string
	seen := map[string]bool{}
	for _, r := range rcpts {
		if !seen[r.Addr] {
			seen[r.Addr] = true
			addrs = append(addrs, r.Addr)
		}
	}
	switch len(addrs) {
	case 0:
		return "-"
	case 1:
		return addrs[0]
	}
	return fmt.Sprintf("%s +%d", addrs[0], len(addrs)-1)
}

// cell makes s fit a table cell: one line, at most n characters.
func cell(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// fmtTime formats a time in UTC, RFC 3339; "-" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
