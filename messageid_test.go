package outbox

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewMessageIDFormat(t *testing.T) {
	for domain, want := range map[string]string{
		"example.com":        "example.com",
		"Mail.Example.COM":   "Mail.Example.COM",
		"xn--fsq.example":    "xn--fsq.example",
		"":                   "localhost",
		"[192.0.2.1]":        "localhost",
		"[IPv6:2001:db8::1]": "localhost",
		"例子.广告":              "localhost",
		"bad domain":         "localhost",
		"a..b":               "localhost",
		".a":                 "localhost",
		"a>b":                "localhost",
	} {
		id := NewMessageID(domain)
		if msg := badMessageID(id); msg != "" {
			t.Errorf("NewMessageID(%q) = %q: %s", domain, id, msg)
		}
		left, right, _ := strings.Cut(id[1:len(id)-1], "@")
		if len(left) != 26 || right != want {
			t.Errorf("NewMessageID(%q) = %q, want 26 base32 digits @%s", domain, id, want)
		}
		for _, c := range left {
			if !strings.ContainsRune(crockford, c) {
				t.Errorf("NewMessageID(%q) = %q: %q is not a base32 digit", domain, id, c)
			}
		}
	}
}

func TestNewMessageIDSortsByTime(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 100 {
		ids = append(ids, newMessageID("example.com", t0.Add(time.Duration(i)*time.Millisecond)))
	}
	if !slices.IsSorted(ids) {
		t.Errorf("ids made a millisecond apart do not sort by time: %v", ids[:5])
	}
	// The time prefix is the same for ids of the same millisecond; the
	// random part differs.
	a, b := newMessageID("x.example", t0), newMessageID("x.example", t0)
	if a == b || a[:11] != b[:11] {
		t.Errorf("same-millisecond ids %q and %q", a, b)
	}
}

func TestNewMessageIDUniqueAcrossGoroutines(t *testing.T) {
	const goroutines, each = 16, 2000
	var mu sync.Mutex
	seen := make(map[string]bool, goroutines*each)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			ids := make([]string, each)
			for i := range ids {
				ids[i] = NewMessageID("example.com")
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if seen[id] {
					t.Errorf("duplicate Message-ID %s", id)
				}
				seen[id] = true
			}
		})
	}
	wg.Wait()
}

func TestEncodeCrockford(t *testing.T) {
	var src [16]byte
	var dst [26]byte
	encodeCrockford(&dst, &src)
	if string(dst[:]) != strings.Repeat("0", 26) {
		t.Errorf("zero encodes as %s", dst)
	}
	for i := range src {
		src[i] = 0xff
	}
	encodeCrockford(&dst, &src)
	if string(dst[:]) != "7"+strings.Repeat("z", 25) {
		t.Errorf("all ones encode as %s", dst)
	}
	src = [16]byte{15: 1}
	encodeCrockford(&dst, &src)
	if string(dst[:]) != strings.Repeat("0", 25)+"1" {
		t.Errorf("one encodes as %s", dst)
	}
}

func BenchmarkNewMessageID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = NewMessageID("example.com")
	}
}
