package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestQueryPlans: the queries whose cost must stay flat with millions of
// rows search an index and never scan the messages table.
func TestQueryPlans(t *testing.T) {
	s := openTest(t)
	now := time.Now().UTC()
	var recs []*outbox.Record
	for i := range 200 {
		recs = append(recs, newTestRecord(i, now))
	}
	if _, err := s.Enqueue(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, query string
		args        []any
		want        []string
	}{
		{"claim", selectDue, []any{0, 1}, []string{"USING COVERING INDEX messages_due (priority=? AND due_at<?)"}},
		{"claim skipping backends", selectDueSkipping(2), []any{0, 1, "slow", ""}, []string{"USING INDEX messages_due (priority=? AND due_at<?)"}},
		{"claimed records", selectRecords, []any{"[1,2]"}, []string{"SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)"}},
		{"list by status", listByStatus, []any{"queued", 1}, []string{"USING INDEX messages_status (status=? AND id<?)"}},
		{"list all", listAll, []any{1, 10}, []string{"USING INTEGER PRIMARY KEY (rowid<?)"}},
		{"list sending", listByIDs, []any{"[2,1]"}, []string{"SEARCH messages USING INTEGER PRIMARY KEY (rowid=?)"}},
		{"next due past leases", selectDueFrom, []any{0}, []string{"INDEX messages_due (priority=?"}},
		{"oldest pending", selectOldestPending, nil, []string{"USING INDEX messages_status (status=?)"}},
		{"purge", selectPurgeable, []any{1, 10}, []string{"USING INDEX messages_purge (updated_at<?)"}},
		{"recipients of a page", selectRecipients, []any{"[1]"}, []string{"recipients USING PRIMARY KEY (message_id=?)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+tc.query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("plan does not use %q:\n%s", w, all)
				}
			}
			for _, line := range plan {
				if strings.HasPrefix(line, "SCAN messages") || strings.Contains(line, "USE TEMP B-TREE FOR ORDER BY") {
					t.Errorf("plan scans or sorts: %q\n%s", line, all)
				}
			}
		})
	}
}

// TestWritesBuildNoTemporaryTable: writing a message row checks the
// partial indexes' conditions with comparisons; an IN list there would
// build a temporary table in every statement (OpenEphemeral).
func TestWritesBuildNoTemporaryTable(t *testing.T) {
	s := openTest(t)
	for name, q := range map[string]string{
		"insert messages": messagesTable.insert(2),
		"outcome":         writeOutcome,
		"recipient":       updateRecipient,
		"attempt":         insertAttempt,
	} {
		args := make([]any, 2*messageArgs)
		for i := range args {
			args[i] = i
		}
		rows, err := s.rdb.Query("EXPLAIN "+q, args[:strings.Count(q, "?")]...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for rows.Next() {
			var (
				addr int
				op   string
				rest [6]any
			)
			if err := rows.Scan(&addr, &op, &rest[0], &rest[1], &rest[2], &rest[3], &rest[4], &rest[5]); err != nil {
				t.Fatal(err)
			}
			if op == "OpenEphemeral" {
				t.Errorf("%s builds a temporary table (instruction %d)", name, addr)
			}
		}
		rows.Close()
	}
}
