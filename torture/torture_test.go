package torture

import (
	"fmt"
	"os"
	"testing"

	"github.com/outboxmail/outbox/internal/daemon"
)

// suite is what every torture test shares: the daemon binary, built once.
type suite struct {
	bin string
}

// TestTorture builds outbox once and runs every torture test as a
// subtest; run one with e.g. -run TestTorture/KillUnderLoad.
func TestTorture(t *testing.T) {
	if testing.Short() {
		t.Skip("torture tests skipped in -short mode")
	}
	s := &suite{bin: buildOutbox(t)}
	t.Run("KillUnderLoad", s.testKillUnderLoad)
	t.Run("UpstreamOutage", s.testUpstreamOutage)
	t.Run("UpstreamMisbehaviour", s.testUpstreamMisbehaviour)
	t.Run("FullDisk", s.testFullDisk)
	t.Run("BadInputAtVolume", s.testBadInputAtVolume)
}

// buildOutbox builds cmd/outbox without the race detector, whatever flags
// the test binary was built with.
func buildOutbox(t *testing.T) string {
	t.Helper()
	bin, err := daemon.Build(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// long reports whether the long versions run (OUTBOX_TORTURE=long).
func long() bool { return os.Getenv("OUTBOX_TORTURE") == "long" }

// inCI reports whether the tests run in CI, where a test that cannot set
// up what it needs fails rather than skips.
func inCI() bool { return os.Getenv("CI") == "true" }

// skipOrFail skips the test with the reason, or fails it in CI.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("%s (CI=true: this must not be skipped in CI)", msg)
	}
	t.Skip(msg)
}
