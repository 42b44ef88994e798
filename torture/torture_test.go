package torture

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// outboxPkg is the daemon the tests build and run.
const outboxPkg = "github.com/outboxmail/outbox/cmd/outbox"

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
	bin := filepath.Join(t.TempDir(), "outbox")
	cmd := exec.Command("go", "build", "-o", bin, outboxPkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", outboxPkg, err, out)
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
