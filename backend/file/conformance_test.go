package file_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/outboxmail/outbox/backend/file"
	"github.com/outboxmail/outbox/backendtest"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Target {
		dir := filepath.Join(t.TempDir(), "mail")
		return backendtest.Target{
			Backend: file.New(dir),
			Received: func(id string) int {
				n := 0
				entries, _ := os.ReadDir(dir)
				for _, e := range entries {
					b, err := os.ReadFile(filepath.Join(dir, e.Name()))
					if err == nil && bytes.Contains(b, []byte("Message-ID: "+id+"\r\n")) {
						n++
					}
				}
				return n
			},
		}
	})
}
