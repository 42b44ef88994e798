package main

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpLoad submits n messages of a phase to the SMTP server at addr over
// sessions concurrent sessions, each sending one transaction per message
// over a kept connection (a new one after an error). A message's latency
// runs from MAIL FROM to the reply to its data.
func smtpLoad(ctx context.Context, addr, phase string, n, sessions int, p *progress) []*recorder {
	var next atomic.Int64
	recs := make([]*recorder, sessions)
	var wg sync.WaitGroup
	for s := range sessions {
		r := &recorder{lat: make([]time.Duration, 0, n/sessions+1)}
		recs[s] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			var (
				c   *smtp.Client
				buf []byte
			)
			defer func() {
				if c != nil {
					_ = c.Quit()
				}
			}()
			for ctx.Err() == nil {
				i := int(next.Add(1))
				if i > n {
					return
				}
				if c == nil {
					var err error
					if c, err = smtp.Dial(addr); err != nil {
						r.errors++
						time.Sleep(50 * time.Millisecond)
						continue
					}
					if err := c.Hello("client.bench.invalid"); err != nil {
						r.errors++
						c.Close()
						c = nil
						continue
					}
				}
				start := time.Now()
				buf = appendRawMessage(buf[:0], messageID(phase, i), start)
				if err := sendOne(c, buf); err != nil {
					r.errors++
					c.Close()
					c = nil
					continue
				}
				r.lat = append(r.lat, time.Since(start))
				r.acked++
				p.add(1)
			}
		}()
	}
	wg.Wait()
	return recs
}

// sendOne runs one transaction on c.
func sendOne(c *smtp.Client, msg []byte) error {
	if err := c.Mail("bench@example.com", nil); err != nil {
		return err
	}
	if err := c.Rcpt("rcpt@example.net", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := bytes.NewReader(msg).WriteTo(w); err != nil {
		return err
	}
	return w.Close()
}
