package file

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/outboxmail/outbox"
)

func envelope(id int64, msgID, body string) *outbox.Envelope {
	return &outbox.Envelope{
		ID: id, MessageID: msgID, From: "a@example.com", To: []string{"b@example.com"},
		Data: []byte("Message-ID: " + msgID + "\r\nSubject: test\r\n\r\n" + body + "\r\n"),
	}
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

func TestSendWritesExactBytes(t *testing.T) {
	dir := t.TempDir()
	b := New(dir)
	e := envelope(42, "<abc@example.com>", "body with bytes \x00\xff and a bare \n LF")
	res, err := b.Send(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Class != outbox.ClassAccepted || res[0].Addr != "b@example.com" {
		t.Fatalf("results %+v", res)
	}
	names := entries(t, dir)
	if len(names) != 1 || names[0] != FileName(e) {
		t.Fatalf("directory holds %v, want only %s", names, FileName(e))
	}
	if !strings.HasPrefix(names[0], "000000000042-") || !strings.HasSuffix(names[0], ".eml") {
		t.Errorf("file name %s", names[0])
	}
	got, err := os.ReadFile(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, e.Data) {
		t.Errorf("file holds %q, want %q", got, e.Data)
	}
}

func TestRetryReplacesTheSameFile(t *testing.T) {
	dir := t.TempDir()
	b := New(dir)
	first := envelope(7, "<same@example.com>", "first attempt")
	retry := envelope(7, "<same@example.com>", "second attempt")
	other := envelope(7, "<other@example.com>", "another message with the same queue id")
	for _, e := range []*outbox.Envelope{first, retry, other} {
		if _, err := b.Send(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	names := entries(t, dir)
	want := []string{FileName(first), FileName(other)}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("directory holds %v, want %v", names, want)
	}
	got, _ := os.ReadFile(filepath.Join(dir, FileName(retry)))
	if !bytes.Equal(got, retry.Data) {
		t.Errorf("the retry did not replace the file: %q", got)
	}
}

func TestDirectoryCreatedLazily(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool", "outbox")
	u, err := url.Parse("file://" + filepath.ToSlash(dir))
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromURL(u)
	if err != nil {
		t.Fatal(err)
	}
	if b.Dir() != dir {
		t.Fatalf("Dir() = %s, want %s", b.Dir(), dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the constructor touched the directory: %v", err)
	}
	if _, err := b.Send(context.Background(), envelope(1, "<a@b>", "x")); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("directory holds %v", names)
	}
	// A directory removed while running is created again.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Send(context.Background(), envelope(2, "<c@d>", "x")); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("directory holds %v", names)
	}
}

func TestFailureIsTemporaryAndLeavesNothing(t *testing.T) {
	parent := t.TempDir()
	notDir := filepath.Join(parent, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := New(filepath.Join(notDir, "sub"))
	_, err := b.Send(context.Background(), envelope(1, "<a@b>", "x"))
	if err == nil {
		t.Fatal("Send into a path under a regular file succeeded")
	}
	if class, _ := outbox.ErrorClass(err); class != outbox.ClassTemporary {
		t.Errorf("error %v is %s, want temporary", err, class)
	}
	if names := entries(t, parent); !slices.Equal(names, []string{"file"}) {
		t.Errorf("parent holds %v", names)
	}
}

func TestConcurrentSends(t *testing.T) {
	dir := t.TempDir()
	b := New(dir)
	const goroutines, each = 20, 10
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				id := int64(g*each + i)
				e := envelope(id, fmt.Sprintf("<%d@example.com>", id), strings.Repeat("x", 1000))
				if _, err := b.Send(context.Background(), e); err != nil {
					t.Error(err)
				}
				// Every goroutine also retries one shared message.
				if _, err := b.Send(context.Background(), envelope(9999, "<shared@example.com>", "shared")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	names := entries(t, dir)
	if len(names) != goroutines*each+1 {
		t.Fatalf("%d files, want %d", len(names), goroutines*each+1)
	}
	for _, n := range names {
		if !strings.HasSuffix(n, ".eml") || strings.HasPrefix(n, ".") {
			t.Errorf("left over: %s", n)
		}
	}
}

func TestSendAfterClose(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	b := New(dir)
	b.Close()
	if _, err := b.Send(context.Background(), envelope(1, "<a@b>", "x")); err == nil {
		t.Fatal("Send after Close succeeded")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Send after Close touched the directory")
	}
}

func TestFromURL(t *testing.T) {
	for raw, want := range map[string]string{
		"file:///var/spool/outbox":          "/var/spool/outbox",
		"file://localhost/var/spool/outbox": "/var/spool/outbox",
		"file:///srv/with%20space":          "/srv/with space",
		"file:relative/dir":                 "relative/dir",
		"file:./mail":                       "./mail",
		"file://otherhost/dir":              "",
		"file:///dir?sync=false":            "",
		"file://user@localhost/dir":         "",
		"file://":                           "",
		"file:":                             "",
		"console:":                          "",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		b, err := FromURL(u)
		if want == "" {
			if err == nil {
				t.Errorf("FromURL(%q) succeeded", raw)
			}
			continue
		}
		if err != nil || b.Dir() != filepath.FromSlash(want) {
			t.Errorf("FromURL(%q) = %v, %v; want dir %s", raw, b, err, want)
		}
	}
}

func TestFileName(t *testing.T) {
	a := FileName(&outbox.Envelope{ID: 1, MessageID: "<a@b>"})
	if a != FileName(&outbox.Envelope{ID: 1, MessageID: "<a@b>", Data: []byte("different")}) {
		t.Error("the name depends on more than the queue id and Message-ID")
	}
	if a == FileName(&outbox.Envelope{ID: 1, MessageID: "<c@d>"}) || a == FileName(&outbox.Envelope{ID: 2, MessageID: "<a@b>"}) {
		t.Error("different messages share a name")
	}
	if len(a) != len("000000000001-0123456789abcdef.eml") {
		t.Errorf("FileName = %s", a)
	}
}
