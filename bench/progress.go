package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress shows how a phase advances: a bar redrawn in place on a
// terminal, a single line when the phase ends otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	label string
	total int64
	start time.Time
	done  atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// startProgress begins showing a phase of total units.
func startProgress(w io.Writer, tty bool, label string, total int) *progress {
	p := &progress{w: w, tty: tty, label: label, total: int64(total), start: time.Now(), stop: make(chan struct{})}
	if tty {
		p.wg.Add(1)
		go p.draw()
	}
	return p
}

// add counts n more units done.
func (p *progress) add(n int) { p.done.Add(int64(n)) }

// set sets the units done.
func (p *progress) set(n int) { p.done.Store(int64(n)) }

// draw redraws the bar five times a second until finish.
func (p *progress) draw() {
	defer p.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			fmt.Fprintf(p.w, "\r%s", p.line())
		}
	}
}

// line is the bar's text.
func (p *progress) line() string {
	const width = 30
	done := p.done.Load()
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(done)/float64(p.total), 1)
	}
	n := int(frac * width)
	el := time.Since(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el
	}
	return fmt.Sprintf("%-22s [%s%s] %3.0f%% %d/%d %.0f/s  ", p.label,
		strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, done, p.total, rate)
}

// finish ends the phase with a line saying how it went.
func (p *progress) finish(note string) {
	if p.tty {
		close(p.stop)
		p.wg.Wait()
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "%-22s %d/%d in %.1fs %s\n", p.label, p.done.Load(), p.total, time.Since(p.start).Seconds(), note)
}
