package outbox

import (
	"errors"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		reply Reply
		want  Class
	}{
		{Reply{Code: 250, Enhanced: "2.0.0"}, ClassAccepted},
		{Reply{Code: 251}, ClassAccepted},
		{Reply{Code: 550, Enhanced: "5.1.1"}, ClassPermanent},
		{Reply{Code: 554}, ClassPermanent},
		{Reply{Code: 421, Enhanced: "4.3.2"}, ClassThrottled},
		{Reply{Code: 429}, ClassThrottled},
		{Reply{Code: 450, Enhanced: "4.7.1"}, ClassThrottled},
		{Reply{Code: 451, Enhanced: "4.2.1"}, ClassThrottled},
		{Reply{Code: 452, Enhanced: "4.5.3"}, ClassRetryNow},
		{Reply{Code: 451, Enhanced: "4.3.0"}, ClassTemporary},
		{Reply{Code: 450}, ClassTemporary},
		{Reply{}, ClassTemporary},
		{Reply{Code: 354}, ClassTemporary},
	}
	for _, tt := range tests {
		if got := Classify(tt.reply); got != tt.want {
			t.Errorf("Classify(%v) = %s, want %s", tt.reply, got, tt.want)
		}
	}
}

func TestErrorClass(t *testing.T) {
	c, r := ErrorClass(&SendError{Reply: Reply{Code: 550, Enhanced: "5.7.1", Text: "denied"}})
	if c != ClassPermanent || r.Code != 550 {
		t.Errorf("SendError 550: got %s %v", c, r)
	}
	c, r = ErrorClass(Permanent("upstream lacks SMTPUTF8"))
	if c != ClassPermanent || r.Text != "upstream lacks SMTPUTF8" {
		t.Errorf("Permanent: got %s %v", c, r)
	}
	c, r = ErrorClass(errors.New("dial tcp: connection refused"))
	if c != ClassTemporary || r.Code != 0 || r.Text == "" {
		t.Errorf("plain error: got %s %v", c, r)
	}
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{MinDelay: 30 * time.Second, MaxDelay: time.Hour}
	prev := time.Duration(0)
	for n := 1; n <= 12; n++ {
		lo, hi := p.Backoff(n, 0), p.Backoff(n, 0.999999)
		if lo < p.MinDelay || hi > p.MaxDelay {
			t.Fatalf("attempt %d: [%s, %s] outside [min, max]", n, lo, hi)
		}
		if lo < prev {
			t.Fatalf("attempt %d: lower bound %s below the previous %s", n, lo, prev)
		}
		prev = lo
	}
	if got := p.Backoff(1, 0.5); got != 30*time.Second {
		t.Errorf("first backoff with mid jitter = %s, want 30s", got)
	}
	if got := p.Backoff(3, 0.5); got != 2*time.Minute {
		t.Errorf("third backoff with mid jitter = %s, want 2m", got)
	}
	if got := p.Backoff(40, 0.5); got != time.Hour {
		t.Errorf("capped backoff = %s, want 1h", got)
	}
}

func TestClaimShares(t *testing.T) {
	tests := []struct {
		limit int
		want  [3]int
	}{
		{10, [3]int{6, 3, 1}},
		{100, [3]int{60, 30, 10}},
		{1, [3]int{1, 0, 0}},
		{2, [3]int{1, 1, 0}}, // normal before low
		{3, [3]int{1, 1, 1}},
		{4, [3]int{2, 1, 1}},
		{0, [3]int{0, 0, 0}},
	}
	for _, tt := range tests {
		got := ClaimShares(tt.limit, [3]int{})
		if got != tt.want {
			t.Errorf("ClaimShares(%d) = %v, want %v", tt.limit, got, tt.want)
		}
		if sum := got[0] + got[1] + got[2]; sum != tt.limit {
			t.Errorf("ClaimShares(%d) sums to %d", tt.limit, sum)
		}
	}
}

func TestClaimByPriority(t *testing.T) {
	tests := []struct {
		name      string
		available [3]int // high, normal, low
		want      [3]int
	}{
		{"all plenty", [3]int{100, 100, 100}, [3]int{6, 3, 1}},
		{"no high passes down", [3]int{0, 100, 100}, [3]int{0, 9, 1}},
		{"only low takes all", [3]int{0, 0, 100}, [3]int{0, 0, 10}},
		{"only high takes all", [3]int{100, 0, 0}, [3]int{10, 0, 0}},
		{"little normal", [3]int{100, 1, 100}, [3]int{6, 1, 3}},
		{"too few overall", [3]int{2, 1, 1}, [3]int{2, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			avail := tt.available
			var got [3]int
			err := ClaimByPriority(10, [3]int{}, func(p Priority, n int) (int, error) {
				i := 1 - int(p) // high=0, normal=1, low=2
				k := min(n, avail[i])
				avail[i] -= k
				got[i] += k
				return k, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("claimed %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeriveStatus(t *testing.T) {
	r := func(ss ...RecipientStatus) []Recipient {
		out := make([]Recipient, len(ss))
		for i, s := range ss {
			out[i] = Recipient{Addr: "a@example.com", Status: s}
		}
		return out
	}
	tests := []struct {
		rcpts []Recipient
		want  Status
		ok    bool
	}{
		{r(RecipientSent, RecipientSent), StatusSent, true},
		{r(RecipientSent, RecipientFailed), StatusSent, true},
		{r(RecipientFailed, RecipientFailed), StatusFailed, true},
		{r(RecipientFailed, RecipientExpired), StatusExpired, true},
		{r(RecipientCancelled), StatusCancelled, true},
		{r(RecipientSent, RecipientPending), "", false},
	}
	for i, tt := range tests {
		got, ok := DeriveStatus(tt.rcpts)
		if got != tt.want || ok != tt.ok {
			t.Errorf("case %d: DeriveStatus = %q, %v; want %q, %v", i, got, ok, tt.want, tt.ok)
		}
	}
}
