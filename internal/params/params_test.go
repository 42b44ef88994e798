package params

import (
	"net/url"
	"testing"
)

func TestSingle(t *testing.T) {
	got, err := Single(url.Values{"a": {"1"}, "b": {""}})
	if err != nil || len(got) != 2 || got["a"] != "1" || got["b"] != "" {
		t.Errorf("Single = %v, %v", got, err)
	}
	if _, err := Single(url.Values{"raw": {"true", "false"}}); err == nil || err.Error() != "parameter raw given 2 times" {
		t.Errorf("a repeated parameter gave %v", err)
	}
}
