package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Exit codes.
const (
	exitOK    = 0 // success
	exitError = 1 // the command failed; stderr says why
	exitUsage = 2 // bad command line
	// exitInterrupted is a shell's code for a process ended by SIGINT.
	exitInterrupted = 130
)

func main() {
	// Signals keep their default (the process ends) but for serve, which
	// stops gracefully (see serveCmd), and passwd's prompt, which puts
	// the terminal back first.
	os.Exit(run(context.Background(), commandLine(os.Args), os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// stopSignals are the signals that ask serve to stop.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// commandLine returns the arguments of run from the process's argv: the
// arguments after the program name, preceded by "sendmail" when the
// program was invoked under that name (e.g. through a symlink
// /usr/sbin/sendmail → outbox), so that it is a drop-in sendmail.
func commandLine(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	if filepath.Base(argv[0]) == "sendmail" {
		return append([]string{"sendmail"}, argv[1:]...)
	}
	return argv[1:]
}

// env is what a command may touch of the outside world.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand of outbox.
type command struct {
	name    string
	args    string // the synopsis after the name, e.g. "[flags] ID"
	summary string
	flags   func(fs *flag.FlagSet, e *env) func(ctx context.Context, args []string) error
	nargs   int // exact number of positional arguments; -1 for any
	// own, when set instead of flags, runs a command that parses its own
	// arguments and chooses its exit code (sendmail, whose command line
	// and exit codes are sendmail's).
	own func(ctx context.Context, e *env, args []string) int
}

// commands lists the subcommands in the order help shows them.
func commands() []command {
	return []command{
		{name: "serve", args: "[flags]", summary: "run Outbox: SMTP listener, HTTP API and delivery workers", flags: serveCmd, nargs: 0},
		{name: "send", args: "[flags] [RECIPIENT...]", summary: "enqueue a message (from flags, or a raw RFC 5322 message on stdin)", flags: sendCmd, nargs: -1},
		{name: "ls", args: "[flags]", summary: "list messages, newest first", flags: lsCmd, nargs: 0},
		{name: "show", args: "[flags] ID", summary: "show a message with its recipients and attempt log", flags: showCmd, nargs: 1},
		{name: "retry", args: "[flags] ID", summary: "put a deferred, failed or expired message back in the queue", flags: retryCmd, nargs: 1},
		{name: "cancel", args: "[flags] ID", summary: "cancel a queued or deferred message", flags: cancelCmd, nargs: 1},
		{name: "stats", args: "[flags]", summary: "show counts per status and the oldest pending message", flags: statsCmd, nargs: 0},
		{name: "sendmail", args: "[-t] [-i] [-f sender] [RECIPIENT...]", summary: "enqueue a message from stdin, as sendmail does (also when invoked as sendmail)", own: sendmailCmd},
		{name: "passwd", args: "[--cost N]", summary: "read a password on stdin and print its bcrypt hash for smtp_users", flags: passwdCmd, nargs: 0},
		{name: "version", args: "", summary: "print the version", flags: versionCmd, nargs: 0},
		{name: "help", args: "[COMMAND]", summary: "show help for outbox or one command", flags: nil, nargs: -1},
	}
}

// run is the whole command line program: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		return help(e, rest)
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "outbox: unknown command %q\n\n", name)
		usage(stderr)
		return exitUsage
	}
	if cmd.own != nil {
		return cmd.own(ctx, e, rest)
	}
	fs := newFlagSet(cmd, stderr)
	exec := cmd.flags(fs, e)
	full := fs.Usage
	fs.Usage = func() { fmt.Fprintf(stderr, "Run \"outbox help %s\" for usage.\n", cmd.name) }
	pos, err := parseArgs(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		full()
		return exitOK
	}
	if err != nil {
		return exitUsage // the flag package printed the error
	}
	if cmd.nargs >= 0 && len(pos) != cmd.nargs {
		fmt.Fprintf(stderr, "outbox %s: want %d argument(s), got %d\n", cmd.name, cmd.nargs, len(pos))
		fs.Usage()
		return exitUsage
	}
	err = exec(ctx, pos)
	var u usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &u):
		fmt.Fprintf(stderr, "outbox %s: %v\n", cmd.name, err)
		fs.Usage()
		return exitUsage
	default:
		fmt.Fprintf(stderr, "outbox %s: %v\n", cmd.name, explain(err, cmd.name))
		return exitError
	}
}

// usageError is an error in how a command was called: exit code 2.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// lookup finds a subcommand by name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name && (c.flags != nil || c.own != nil) {
			return c, true
		}
	}
	return command{}, false
}

// newFlagSet returns the flag set of a subcommand, writing to w; its
// Usage prints the command's full help.
func newFlagSet(cmd command, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("outbox "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: outbox %s %s\n\n%s.\n", cmd.name, cmd.args, capitalize(cmd.summary))
		if extra := longHelp(cmd.name); extra != "" {
			fmt.Fprintf(w, "\n%s", extra)
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(w, "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// help serves `outbox help [COMMAND]`, on stdout.
func help(e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" {
		usage(e.stdout)
		return exitOK
	}
	cmd, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(e.stderr, "outbox help: unknown command %q\n", args[0])
		return exitUsage
	}
	if cmd.own != nil {
		fmt.Fprintf(e.stdout, "usage: outbox %s %s\n\n%s.\n\n%s", cmd.name, cmd.args, capitalize(cmd.summary), longHelp(cmd.name))
		return exitOK
	}
	fs := newFlagSet(cmd, e.stdout)
	cmd.flags(fs, e)
	fs.Usage()
	return exitOK
}

// usage prints the list of commands.
func usage(w io.Writer) {
	fmt.Fprintf(w, "Outbox: durable, asynchronous email delivery.\n\nusage: outbox COMMAND [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"outbox help COMMAND\" for a command's flags.\n")
}

// capitalize upper-cases the first letter of an ASCII sentence.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
