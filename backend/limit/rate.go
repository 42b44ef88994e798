package limit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a number of messages per period.
type Rate struct {
	N   int
	Per time.Duration
}

// String writes the rate as ParseRate reads it.
func (r Rate) String() string {
	for _, u := range units {
		if r.Per == u.d {
			return strconv.Itoa(r.N) + "/" + u.name
		}
	}
	return strconv.Itoa(r.N) + "/" + r.Per.String()
}

// perSecond is the rate in messages per second.
func (r Rate) perSecond() float64 { return float64(r.N) / r.Per.Seconds() }

// units are the period names ParseRate knows, besides durations.
var units = []struct {
	name string
	d    time.Duration
}{
	{"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour},
}

// ParseRate reads a rate such as "20/s", "600/m", "5000/h", "100000/d" or
// "10/30s".
func ParseRate(s string) (Rate, error) {
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want messages/period, such as 20/s, 600/m, 5000/h or 100000/d", s)
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 {
		return Rate{}, fmt.Errorf("rate %q: %q is not a positive number of messages", s, n)
	}
	for _, u := range units {
		if per == u.name {
			return Rate{N: count, Per: u.d}, nil
		}
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("rate %q: %q is not s, m, h, d or a duration such as 30s", s, per)
	}
	return Rate{N: count, Per: d}, nil
}
