package backend

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/chaos"
	"github.com/outboxmail/outbox/backend/failover"
	"github.com/outboxmail/outbox/backend/fanout"
	"github.com/outboxmail/outbox/backend/roundrobin"
)

// combinator builds a combined backend from its children and the query
// written after its closing parenthesis.
type combinator func(children []outbox.Child, q url.Values) (outbox.Backend, error)

// combinators are the grammar's combinators, by keyword.
func combinators(name string) (combinator, bool) {
	switch name {
	case "fanout":
		return func(c []outbox.Child, q url.Values) (outbox.Backend, error) { return nilSafe(fanout.FromQuery(c, q)) }, true
	case "failover":
		return func(c []outbox.Child, q url.Values) (outbox.Backend, error) { return nilSafe(failover.FromQuery(c, q)) }, true
	case "roundrobin":
		return func(c []outbox.Child, q url.Values) (outbox.Backend, error) {
			return nilSafe(roundrobin.FromQuery(c, q))
		}, true
	case "chaos":
		return func(c []outbox.Child, q url.Values) (outbox.Backend, error) { return nilSafe(chaos.FromQuery(c, q)) }, true
	}
	return nil, false
}

// nilSafe turns a typed nil backend returned with an error into a nil
// interface.
func nilSafe[B outbox.Backend](b B, err error) (outbox.Backend, error) {
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Combinators lists the grammar's combinator keywords.
func Combinators() []string { return []string{"chaos", "failover", "fanout", "roundrobin"} }

// Parse builds the backend that expr describes:
//
//	backend    = name | url | combinator
//	combinator = ( "fanout" | "failover" | "roundrobin" | "chaos" )
//	             "(" backend { space backend } ")" [ "?" query ]
//	name       = [a-z][a-z0-9_-]*, a key of named
//
// URLs are opened through schemes (see Open); names are looked up in
// named, whose values are expressions of the same grammar and may name one
// another. Nothing connects: backends connect on first use. The error is a
// *ParseError that points at the problem (an unbalanced parenthesis, an
// unknown scheme, an unknown name, a cycle of names, an empty combinator,
// a bad parameter) by column, and never shows a password.
//
// Each call builds new backends; use NewSet to build the backends of a
// configuration once, sharing each named one wherever it is referenced.
func Parse(expr string, named map[string]string, schemes Schemes) (outbox.Backend, error) {
	if err := checkNames(named); err != nil {
		return nil, err
	}
	bd := newBuilder(named, schemes, nil)
	c, err := bd.expr("", expr)
	if err != nil {
		bd.closeAll()
		return nil, err
	}
	return c.Backend, nil
}

// ParseError is a backend expression that does not parse or build.
type ParseError struct {
	// Name is the named backend whose expression is wrong; "" for an
	// expression given directly.
	Name string
	// Expr is the expression, passwords hidden.
	Expr string
	// Column is where the problem is in Expr, counting from 1; 0 when the
	// problem is not at one place (a cycle of names).
	Column int
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, if any (an opener's).
	Err error
}

// Error describes the problem with the place it is at, e.g.
// `backend "default" = "fanout(relai debug)": column 8: unknown backend "relai"`.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("backend ")
	if e.Name != "" {
		fmt.Fprintf(&b, "%q = ", e.Name)
	}
	fmt.Fprintf(&b, "%q: ", e.Expr)
	if e.Column > 0 {
		fmt.Fprintf(&b, "column %d: ", e.Column)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// CycleError is a cycle of named backends that reference one another.
type CycleError struct {
	// Names is the cycle, its first name repeated at the end.
	Names []string
}

// Error names the cycle: "backend cycle: a → b → a".
func (e *CycleError) Error() string {
	return "backend cycle: " + strings.Join(e.Names, " → ")
}

// isName reports whether s is a backend name: a lower-case letter, then
// lower-case letters, digits, "_" and "-".
func isName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// checkNames refuses names that the grammar could not reference.
func checkNames(named map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(named)) {
		if !isName(name) {
			return fmt.Errorf("backend name %q: want a lower-case letter, then lower-case letters, digits, \"_\" or \"-\"", name)
		}
		if _, ok := combinators(name); ok {
			return fmt.Errorf("backend name %q: it is a combinator's keyword", name)
		}
	}
	return nil
}
