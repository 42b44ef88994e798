package backend

import (
	"time"
)

// Saturable is a backend that can tell when it takes no message now, such
// as a limit.Backend: see its Saturated method.
type Saturable interface {
	Saturated() (saturated bool, until time.Time)
}

// Saturated returns the stored backend names (as in outbox.Record.Backend)
// of the set's backends that take no message now, and the earliest time
// one of them may again; it is what outbox.EngineConfig.Saturated wants. A
// backend counts when its outermost wrapper is Saturable (a named
// backend's limits). The default backend is named both "" and
// DefaultName, as a message may store either.
func (s *Set) Saturated() (names []string, until time.Time) {
	for _, name := range s.Names() {
		sb, ok := s.byName[name].(Saturable)
		if !ok {
			continue
		}
		sat, at := sb.Saturated()
		if !sat {
			continue
		}
		if name == DefaultName {
			names = append(names, "")
		}
		names = append(names, name)
		if until.IsZero() || at.Before(until) {
			until = at
		}
	}
	return names, until
}
