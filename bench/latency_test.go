package main

import (
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := Latency{P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if got := summarize(nil); got != (Latency{}) {
		t.Errorf("summarize(nil) = %+v", got)
	}
	if got := summarize([]time.Duration{time.Second}); got.P50 != time.Second || got.P99 != time.Second {
		t.Errorf("summarize(one) = %+v", got)
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := count(n); got != want {
			t.Errorf("count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestBacklogSteps(t *testing.T) {
	if got := backlogSteps(BaseBacklog); len(got) != 1 {
		t.Errorf("backlogSteps(base) = %v", got)
	}
	if got := backlogSteps(1000000); len(got) != 2 || got[1] != 1000000 {
		t.Errorf("backlogSteps(1e6) = %v", got)
	}
}
