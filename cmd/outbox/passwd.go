package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

// passwdCmd defines the flags of `outbox passwd` and returns the command:
// it reads a password on standard input and prints its bcrypt hash, the
// password_hash of an [[smtp_users]] entry.
func passwdCmd(fs *flag.FlagSet, e *env) func(ctx context.Context, args []string) error {
	cost := fs.Int("cost", bcrypt.DefaultCost, fmt.Sprintf("bcrypt `cost` (%d to %d); each step doubles the work", bcrypt.MinCost, bcrypt.MaxCost))
	return func(ctx context.Context, _ []string) error {
		if *cost < bcrypt.MinCost || *cost > bcrypt.MaxCost {
			return usagef("--cost %d: want %d to %d", *cost, bcrypt.MinCost, bcrypt.MaxCost)
		}
		password, err := readPassword(e)
		if err != nil {
			return err
		}
		hash, err := bcrypt.GenerateFromPassword(password, *cost)
		if errors.Is(err, bcrypt.ErrPasswordTooLong) {
			return usagef("the password is longer than bcrypt's 72 bytes")
		}
		if err != nil {
			return fmt.Errorf("hash the password: %w", err)
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", hash)
		return err
	}
}

// readPassword reads the password: from a terminal, twice and without
// echo; otherwise the first line of standard input, without its line
// ending.
func readPassword(e *env) ([]byte, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(int(f.Fd()), e.stderr)
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read the password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return nil, usagef("no password on standard input: pipe one line, e.g. printf '%%s\\n' \"$PASSWORD\" | outbox passwd")
	}
	return []byte(line), nil
}

// promptPassword asks for the password twice on the terminal fd, without
// echo, writing the prompts to w.
func promptPassword(fd int, w io.Writer) ([]byte, error) {
	// Ctrl-C at a prompt ends the process, as anywhere else, but with
	// the terminal's echo back on: term.ReadPassword turns it off.
	state, err := term.GetState(fd)
	if err != nil {
		return nil, fmt.Errorf("read the password: %w", err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, stopSignals...)
	done := make(chan struct{})
	defer func() {
		signal.Stop(sig)
		close(done)
	}()
	go func() {
		select {
		case <-sig:
			term.Restore(fd, state)
			fmt.Fprintln(w)
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	ask := func(prompt string) ([]byte, error) {
		fmt.Fprint(w, prompt)
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(w)
		if err != nil {
			return nil, fmt.Errorf("read the password: %w", err)
		}
		return p, nil
	}
	p, err := ask("Password: ")
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, usagef("empty password")
	}
	again, err := ask("Repeat: ")
	if err != nil {
		return nil, err
	}
	if string(again) != string(p) {
		return nil, errors.New("the passwords differ")
	}
	return p, nil
}
