package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestPasswd: the printed hash matches the password, and works as the
// password_hash of a configured user.
func TestPasswd(t *testing.T) {
	r := cli(t, nil, "correct horse battery staple\r\nignored second line\n", "passwd", "--cost", "4")
	r.want(t, exitOK)
	hash := strings.TrimSuffix(r.stdout, "\n")
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse battery staple")); err != nil {
		t.Fatalf("hash %q does not match the password: %v", hash, err)
	}
	if cost, _ := bcrypt.Cost([]byte(hash)); cost != 4 {
		t.Errorf("cost %d, want 4", cost)
	}
	cfg := writeFile(t, "outbox.toml", "smtp_addr = \"0.0.0.0:587\"\n\n[[smtp_users]]\nname = \"app\"\npassword_hash = \""+hash+"\"\n")
	if _, err := loadServeConfig(t, []string{"--config", cfg}, nil); err != nil {
		t.Errorf("a config with the printed hash: %v", err)
	}

	cli(t, nil, "", "passwd").want(t, exitUsage, "no password on standard input")
	cli(t, nil, "\n", "passwd").want(t, exitUsage, "no password on standard input")
	cli(t, nil, "secret\n", "passwd", "--cost", "40").want(t, exitUsage, "--cost 40")
	cli(t, nil, strings.Repeat("x", 73)+"\n", "passwd", "--cost", "4").want(t, exitUsage, "72 bytes")
	cli(t, nil, "", "help", "passwd").want(t, exitOK, "[[smtp_users]]", "password_hash")
}

// TestPasswdInterrupted: Ctrl-C at the password prompt of a terminal
// ends the command at once (130), with the terminal's echo back on.
func TestPasswdInterrupted(t *testing.T) {
	python := requireTool(t, "python3")
	out, err := exec.Command(python, filepath.Join("testdata", "pty_interrupt.py"), "Password: ", outboxBinary(t), "passwd").Output()
	if err != nil {
		t.Fatalf("pty_interrupt.py: %v\n%s", err, stderrOf(err))
	}
	var res struct {
		Prompted, Exited, Echo bool
		Code                   *int
		Output                 string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("pty_interrupt.py printed %q: %v", out, err)
	}
	if !res.Prompted || !res.Exited || res.Code == nil || *res.Code != exitInterrupted || !res.Echo {
		t.Errorf("Ctrl-C at the prompt: %+v, want exit %d with echo on", res, exitInterrupted)
	}
}
