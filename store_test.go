package outbox

import "testing"

func TestStatsTotal(t *testing.T) {
	s := Stats{Counts: map[Status]int64{StatusQueued: 3, StatusSending: 1, StatusSent: 40, StatusFailed: 0}}
	if got := s.Total(); got != 44 {
		t.Errorf("Total = %d, want 44", got)
	}
	if got := (Stats{}).Total(); got != 0 {
		t.Errorf("Total of no counts = %d, want 0", got)
	}
}
