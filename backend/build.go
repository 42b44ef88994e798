package backend

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/outboxmail/outbox"
)

// builder builds the backends of one Parse or NewSet: each named backend
// once, shared by every expression that references it.
type builder struct {
	named   map[string]string
	schemes Schemes
	wrap    func(name string, b outbox.Backend) (outbox.Backend, error)
	built   map[string]outbox.Child // by name; Name is the child's label
	failed  map[string]error
	stack   []string // names being built, for cycles
	made    []outbox.Backend
}

func newBuilder(named map[string]string, schemes Schemes, wrap func(string, outbox.Backend) (outbox.Backend, error)) *builder {
	return &builder{named: named, schemes: schemes, wrap: wrap,
		built: make(map[string]outbox.Child), failed: make(map[string]error)}
}

// closeAll closes everything built, after a failure.
func (bd *builder) closeAll() {
	for _, b := range bd.made {
		b.Close()
	}
}

// errUnknownName is resolve's answer for a name not in the config.
var errUnknownName = errors.New("unknown backend name")

// resolve returns the named backend, building it on first use.
func (bd *builder) resolve(name string) (outbox.Child, error) {
	if c, ok := bd.built[name]; ok {
		return c, nil
	}
	if err, ok := bd.failed[name]; ok {
		return outbox.Child{}, err
	}
	if i := slices.Index(bd.stack, name); i >= 0 {
		return outbox.Child{}, &CycleError{Names: append(slices.Clone(bd.stack[i:]), name)}
	}
	src, ok := bd.named[name]
	if !ok {
		return outbox.Child{}, errUnknownName
	}
	bd.stack = append(bd.stack, name)
	c, err := bd.expr(name, src)
	bd.stack = bd.stack[:len(bd.stack)-1]
	if err == nil && bd.wrap != nil {
		var w outbox.Backend
		if w, err = bd.wrap(name, c.Backend); err == nil {
			if w == nil {
				err = fmt.Errorf("backend %q: the wrapper returned no backend", name)
			} else if w != c.Backend {
				bd.made = append(bd.made, w)
				c.Backend = w
			}
		}
	}
	if err != nil {
		bd.failed[name] = err
		return outbox.Child{}, err
	}
	bd.built[name] = c
	return c, nil
}

// expr parses and builds one whole expression; owner names the named
// backend it belongs to ("" for a direct one).
func (bd *builder) expr(owner, src string) (outbox.Child, error) {
	p := &parser{bd: bd, owner: owner, src: src}
	p.space()
	if p.eof() {
		return outbox.Child{}, p.fail(0, "empty backend expression")
	}
	c, err := p.backend()
	if err != nil {
		return outbox.Child{}, err
	}
	p.space()
	switch {
	case p.eof():
		return c, nil
	case p.peek() == ')':
		return outbox.Child{}, p.fail(p.pos, `unbalanced parentheses: ")" has no "("`)
	}
	return outbox.Child{}, p.fail(p.pos, "a second backend: combine backends with fanout(…), failover(…) or roundrobin(…)")
}

// parser reads one expression.
type parser struct {
	bd    *builder
	owner string
	src   string
	pos   int
}

func (p *parser) eof() bool  { return p.pos >= len(p.src) }
func (p *parser) peek() byte { return p.src[p.pos] }

// isBlank reports whether c separates backends.
func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// space skips blanks.
func (p *parser) space() {
	for !p.eof() && isBlank(p.peek()) {
		p.pos++
	}
}

// word reads a run of characters that are neither blanks nor parentheses.
func (p *parser) word() string {
	start := p.pos
	for !p.eof() && !isBlank(p.peek()) && p.peek() != '(' && p.peek() != ')' {
		p.pos++
	}
	return p.src[start:p.pos]
}

// fail returns a *ParseError about the byte at offset at.
func (p *parser) fail(at int, format string, args ...any) *ParseError {
	return p.failErr(at, nil, format, args...)
}

func (p *parser) failErr(at int, err error, format string, args ...any) *ParseError {
	expr, col := redactExpr(p.src, at)
	return &ParseError{Name: p.owner, Expr: expr, Column: col, Msg: fmt.Sprintf(format, args...), Err: err}
}

// backend reads one backend: a combinator, a URL or a name.
func (p *parser) backend() (outbox.Child, error) {
	start := p.pos
	switch p.peek() {
	case ')':
		return outbox.Child{}, p.fail(start, `unexpected ")"`)
	case '(':
		return outbox.Child{}, p.fail(start, `"(" must follow %s`, keywords())
	}
	w := p.word()
	if !p.eof() && p.peek() == '(' {
		return p.combinator(start, w)
	}
	if strings.Contains(w, ":") {
		b, err := Open(w, p.bd.schemes)
		if err != nil {
			return outbox.Child{}, p.failErr(start, err, "%v", err)
		}
		p.bd.made = append(p.bd.made, b)
		label := w
		if u, err := ParseURL(w); err == nil {
			label = display(u)
		}
		return outbox.Child{Name: label, Backend: b}, nil
	}
	if !isName(w) {
		return outbox.Child{}, p.fail(start, `%q is neither a backend name nor a URL (a URL has a scheme, as in "console:"; a name has lower-case letters, digits, "_" and "-")`, redact(w))
	}
	c, err := p.bd.resolve(w)
	if errors.Is(err, errUnknownName) {
		return outbox.Child{}, p.fail(start, "unknown backend %q (%s)", w, p.known())
	}
	return c, err
}

// combinator reads the children and query of the combinator kw written
// at start; p is at its "(".
func (p *parser) combinator(start int, kw string) (outbox.Child, error) {
	build, ok := combinators(kw)
	if !ok {
		return outbox.Child{}, p.fail(start, `"%s(": unknown combinator (want %s; a "(" or ")" in a password must be percent-encoded)`, conceal(kw), keywords())
	}
	open := p.pos
	p.pos++
	var children []outbox.Child
	for {
		p.space()
		if p.eof() {
			return outbox.Child{}, p.fail(open, `unbalanced parentheses: "(" is never closed`)
		}
		if p.peek() == ')' {
			p.pos++
			break
		}
		c, err := p.backend()
		if err != nil {
			return outbox.Child{}, err
		}
		children = append(children, c)
	}
	if len(children) == 0 {
		return outbox.Child{}, p.fail(start, "%s() has no backend", kw)
	}
	var q url.Values
	if !p.eof() && p.peek() == '?' {
		at := p.pos
		raw := p.word()[1:]
		var err error
		if q, err = url.ParseQuery(raw); err != nil {
			return outbox.Child{}, p.fail(at, "%s: bad query %q: %v", kw, raw, err)
		}
	}
	if !p.eof() && !isBlank(p.peek()) && p.peek() != ')' {
		return outbox.Child{}, p.fail(p.pos, `expected a blank or ")" after %s(…)`, kw)
	}
	b, err := build(children, q)
	if err != nil {
		return outbox.Child{}, p.failErr(start, err, "%s: %v", kw, err)
	}
	p.bd.made = append(p.bd.made, b)
	return outbox.Child{Name: kw + "(…)", Backend: b}, nil
}

// known lists the named backends, for an error about an unknown one.
func (p *parser) known() string {
	if len(p.bd.named) == 0 {
		return "no backend is named in the configuration"
	}
	names := make([]string, 0, len(p.bd.named))
	for n := range p.bd.named {
		names = append(names, n)
	}
	slices.Sort(names)
	return "named backends: " + strings.Join(names, ", ")
}

// keywords lists the combinators for messages.
func keywords() string {
	k := Combinators()
	return strings.Join(k[:len(k)-1], ", ") + " or " + k[len(k)-1]
}

// redactExpr hides the passwords of the URLs in src, and maps the byte
// offset at of src to a column (from 1) of the result; at inside a hidden
// password points at its URL.
func redactExpr(src string, at int) (string, int) {
	var b strings.Builder
	col := -1
	i := 0
	for i < len(src) {
		c := src[i]
		if isBlank(c) || c == '(' || c == ')' {
			if i == at {
				col = b.Len()
			}
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(src) && !isBlank(src[j]) && src[j] != '(' && src[j] != ')' {
			j++
		}
		if tok := src[i:j]; strings.Contains(tok, "://") && redact(tok) == tok {
			// An unencoded "(" or ")" in a password cuts its URL short:
			// with an "@" before the next blank, the URL runs to it.
			k := j
			for k < len(src) && !isBlank(src[k]) {
				k++
			}
			if strings.Contains(src[j:k], "@") {
				j = k
			}
		}
		tok := src[i:j]
		red := redact(tok)
		if at >= i && at < j {
			col = b.Len()
			if red == tok {
				col += at - i
			}
		}
		b.WriteString(red)
		i = j
	}
	if col < 0 {
		col = b.Len()
	}
	return b.String(), col + 1
}
