package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// modulePath is the module that holds cmd/outbox.
const modulePath = "github.com/outboxmail/outbox"

// Build compiles ./cmd/outbox of the outbox module that holds the current
// directory into dir and returns the binary's path. It runs a plain
// `go build`: the binary has no race detector, whatever flags the caller
// was built with.
func Build(ctx context.Context, dir string) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "outbox")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/outbox")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/outbox: %v\n%s", err, out)
	}
	return bin, nil
}

// ModuleRoot returns the directory of the go.mod of the outbox module
// that holds the current directory, as `go env GOMOD` reports it.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run from within the outbox module")
	}
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	if path := moduleLine(b); path != modulePath {
		return "", fmt.Errorf("%s is module %q, not %s: run from within the outbox module", gomod, path, modulePath)
	}
	return filepath.Dir(gomod), nil
}

// moduleLine returns the module path a go.mod declares, or "".
func moduleLine(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
