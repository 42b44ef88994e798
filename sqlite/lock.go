package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrLocked is returned by Open when another process (or another Store in
// this process) holds the data directory.
var ErrLocked = errors.New("data directory is in use by another outbox process")

// lockName is the lock file inside the data directory.
const lockName = "outbox.lock"

// dirLock is an exclusive flock on Dir/outbox.lock, held for the life of a
// Store. The kernel releases it when the process dies, so a crash never
// leaves the directory locked.
type dirLock struct {
	f *os.File
}

// lockDir takes the directory lock without waiting.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (lock %s is held; stop the other process or choose another data directory)", ErrLocked, dir, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &dirLock{f: f}, nil
}

// release drops the lock.
func (l *dirLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
