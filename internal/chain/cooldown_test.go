package chain

import (
	"slices"
	"testing"
	"time"
)

func TestCooldownOrder(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := NewCooldown(3, time.Minute, func() time.Time { return now })
	if got := c.Order(1); !slices.Equal(got, []int{1, 2, 0}) {
		t.Errorf("Order(1) = %v, want 1 2 0", got)
	}
	c.Fail(0)
	now = now.Add(10 * time.Second)
	c.Fail(2)
	if got := c.Order(0); !slices.Equal(got, []int{1, 0, 2}) {
		t.Errorf("with 0 and 2 cooling = %v, want 1 first, then 0 (ends first), then 2", got)
	}
	now = now.Add(50 * time.Second)
	if c.Cooling(0) || !c.Cooling(2) {
		t.Errorf("after 60s: cooling 0=%v 2=%v, want false true", c.Cooling(0), c.Cooling(2))
	}
	if got := c.Order(0); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("child 0's cool-down over: Order(0) = %v, want it first again", got)
	}
	c.Recover(2)
	if c.Cooling(2) {
		t.Error("Recover did not end the cool-down")
	}
}
