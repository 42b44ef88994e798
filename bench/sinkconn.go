package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"time"
)

// The sink's SMTP: EHLO offers PIPELINING, CHUNKING, 8BITMIME,
// ENHANCEDSTATUSCODES and SIZE; MAIL, RCPT, DATA, BDAT, RSET, NOOP and
// QUIT are answered, anything else refused. Replies are written when no more input is waiting, so the
// replies to pipelined commands go out in one write, as Postfix's smtpd
// does (go-smtp's server, which the sink used before, writes each one
// alone: four writes per message where this takes two).
const (
	sinkDomain     = "sink.bench.invalid"
	sinkMaxSize    = 1 << 20 // SIZE: a larger message is refused
	sinkMaxRcpts   = 1000
	sinkMaxLine    = 4 << 10 // a longer command line closes the connection
	sinkIdle       = time.Minute
	sinkReadBuffer = 64 << 10
)

// errTooBig marks a message over sinkMaxSize, read to its end.
var errTooBig = errors.New("message too big")

// serveConn runs one SMTP connection until QUIT, an error or Close.
func (s *sink) serveConn(c net.Conn) {
	r := bufio.NewReaderSize(c, sinkReadBuffer)
	w := bufio.NewWriter(c)
	reply := func(line string) {
		w.WriteString(line)
		w.WriteString("\r\n")
	}
	var (
		mail   bool
		rcpts  int
		data   []byte // the message of the transaction (BDAT) or the last one (DATA)
		tooBig bool   // a BDAT chunk took data over sinkMaxSize
	)
	reply("220 " + sinkDomain + " ESMTP bench sink")
	for {
		if r.Buffered() == 0 && w.Flush() != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(sinkIdle))
		line, err := r.ReadSlice('\n')
		if err != nil || len(line) > sinkMaxLine {
			if errors.Is(err, bufio.ErrBufferFull) || len(line) > sinkMaxLine {
				reply("500 5.5.6 line too long")
				w.Flush()
			}
			return
		}
		verb, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(" "))
		switch string(bytes.ToUpper(verb)) {
		case "EHLO":
			reply("250-" + sinkDomain)
			reply("250-PIPELINING")
			reply("250-CHUNKING")
			reply("250-8BITMIME")
			reply("250-ENHANCEDSTATUSCODES")
			reply("250 SIZE " + strconv.Itoa(sinkMaxSize))
		case "HELO":
			reply("250 " + sinkDomain)
		case "MAIL":
			if mail {
				reply("503 5.5.1 MAIL already given")
				continue
			}
			mail, data, tooBig = true, data[:0], false
			reply("250 2.1.0 OK")
		case "RCPT":
			switch {
			case !mail:
				reply("503 5.5.1 MAIL first")
			case rcpts >= sinkMaxRcpts:
				reply("452 4.5.3 too many recipients")
			default:
				rcpts++
				reply("250 2.1.5 OK")
			}
		case "DATA":
			switch {
			case rcpts == 0:
				reply("503 5.5.1 RCPT first")
				continue
			case len(data) > 0 || tooBig: // BDAT chunks came first
				reply("503 5.5.1 BDAT under way")
				continue
			}
			reply("354 end data with <CR><LF>.<CR><LF>")
			if w.Flush() != nil {
				return
			}
			data, err = readData(r, data[:0], sinkMaxSize)
			switch {
			case errors.Is(err, errTooBig):
				reply("552 5.3.4 message too big")
			case err != nil:
				return
			default:
				s.record(data, time.Now())
				reply("250 2.0.0 OK: queued")
			}
			mail, rcpts = false, 0
		case "BDAT":
			size, last, ok := bdatArgs(line)
			if !ok {
				reply("501 5.5.4 BDAT size [LAST]")
				w.Flush()
				return // the chunk's length is unknown: what follows cannot be read
			}
			// The chunk follows the command, refused or not.
			keep := rcpts > 0 && !tooBig && len(data)+size <= sinkMaxSize
			if keep {
				data, err = readChunk(r, data, size)
			} else {
				_, err = r.Discard(size)
			}
			if err != nil {
				return
			}
			switch {
			case rcpts == 0:
				reply("503 5.5.1 RCPT first")
				continue
			case !keep:
				tooBig = true
			}
			if !last {
				reply("250 2.0.0 chunk received")
				continue
			}
			if tooBig {
				reply("552 5.3.4 message too big")
			} else {
				s.record(data, time.Now())
				reply("250 2.0.0 OK: queued")
			}
			mail, rcpts = false, 0
		case "RSET":
			mail, rcpts, data, tooBig = false, 0, data[:0], false
			reply("250 2.0.0 OK")
		case "NOOP":
			reply("250 2.0.0 OK")
		case "QUIT":
			reply("221 2.0.0 bye")
			w.Flush()
			return
		default:
			reply("502 5.5.2 command not implemented")
		}
	}
}

// bdatArgs parses a BDAT command line: the chunk's size and whether it is
// the last.
func bdatArgs(line []byte) (size int, last, ok bool) {
	f := bytes.Fields(line)
	if len(f) < 2 || len(f) > 3 || len(f) == 3 && !bytes.EqualFold(f[2], []byte("LAST")) {
		return 0, false, false
	}
	n, err := strconv.ParseUint(string(f[1]), 10, 31)
	return int(n), len(f) == 3, err == nil
}

// readChunk appends the n bytes of a BDAT chunk to data.
func readChunk(r *bufio.Reader, data []byte, n int) ([]byte, error) {
	start := len(data)
	data = slices.Grow(data, n)[:start+n]
	_, err := io.ReadFull(r, data[start:])
	return data, err
}

// readData reads a message's data up to its terminating dot line,
// undoing the dot-stuffing, and appends it to data. A message over max is
// read to its end and dropped (errTooBig).
func readData(r *bufio.Reader, data []byte, max int) ([]byte, error) {
	lineStart, tooBig := true, false
	for {
		chunk, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return data, err
		}
		if lineStart {
			if string(chunk) == ".\r\n" || string(chunk) == ".\n" {
				if tooBig {
					return data, errTooBig
				}
				return data, nil
			}
			if len(chunk) > 0 && chunk[0] == '.' {
				chunk = chunk[1:]
			}
		}
		lineStart = err == nil // the chunk ended a line
		if len(data)+len(chunk) > max {
			tooBig = true
			continue
		}
		data = append(data, chunk...)
	}
}
