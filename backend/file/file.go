package file

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"

	"github.com/outboxmail/outbox"
)

var _ outbox.Backend = (*Backend)(nil)

// Backend writes each message as a file in a directory. It is safe for
// concurrent use.
type Backend struct {
	dir    string
	closed atomic.Bool
}

// New returns a backend writing into dir. It does not touch the file
// system: dir is created on the first Send.
func New(dir string) *Backend { return &Backend{dir: dir} }

// FromURL returns a backend for "file:///absolute/dir", "file://localhost/dir"
// or "file:relative/dir". It takes no parameters.
func FromURL(u *url.URL) (*Backend, error) {
	if u.Scheme != "file" {
		return nil, fmt.Errorf("scheme %q is not file", u.Scheme)
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("host %q: a file URL names a local directory (file:///path/dir)", u.Host)
	}
	if u.User != nil {
		return nil, errors.New("a file URL has no user")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("a file URL takes no parameters or fragment")
	}
	dir := u.Path
	if u.Opaque != "" {
		var err error
		if dir, err = url.PathUnescape(u.Opaque); err != nil {
			return nil, fmt.Errorf("path %q: %w", u.Opaque, err)
		}
	}
	if dir == "" {
		return nil, errors.New("a file URL needs a directory: file:///path/dir")
	}
	return New(filepath.FromSlash(dir)), nil
}

// Dir returns the directory the backend writes into.
func (b *Backend) Dir() string { return b.dir }

// FileName returns the name, within the directory, of e's file:
// "<queue id>-<Message-ID hash>.eml".
func FileName(e *outbox.Envelope) string {
	sum := sha256.Sum256([]byte(e.MessageID))
	id := strconv.FormatInt(e.ID, 10)
	if len(id) < 12 {
		id = "000000000000"[len(id):] + id
	}
	return id + "-" + hex.EncodeToString(sum[:8]) + ".eml"
}

// Send writes e.Data to its file and accepts every recipient.
func (b *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if b.closed.Load() {
		return nil, errors.New("file backend: closed")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := FileName(e)
	if err := writeAtomic(b.dir, name, e.Data); err != nil {
		return nil, fmt.Errorf("file backend: %w", err)
	}
	return outbox.Accepted(e, outbox.Reply{Code: 250, Enhanced: "2.0.0", Text: "written to " + name}), nil
}

// Close makes later Sends fail. It is idempotent.
func (b *Backend) Close() error {
	b.closed.Store(true)
	return nil
}

// writeAtomic writes data to dir/name through a synced temporary file
// and a rename, then syncs dir so that the rename itself is durable. It
// creates dir when it is missing.
func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, ".outbox-*.tmp")
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create directory: %w", err)
		}
		f, err = os.CreateTemp(dir, ".outbox-*.tmp")
	}
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("rename to %s: %w", final, err)
	}
	return syncDir(dir)
}

// syncDir makes the entries of dir durable. Windows cannot sync a
// directory; there a rename is as durable as the file system makes it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}
