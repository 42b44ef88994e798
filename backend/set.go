package backend

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/outboxmail/outbox"
)

// DefaultName is the name of the backend that delivers messages that name
// none.
const DefaultName = "default"

// SetConfig configures a Set.
type SetConfig struct {
	// Named maps backend names to their expressions (see Parse), e.g. the
	// [backends] table of a config file. It must hold DefaultName.
	Named map[string]string
	// Schemes opens the URLs of the expressions.
	Schemes Schemes
	// Wrap, when set, is applied to each named backend once built and
	// before anything references it, e.g. to add rate limits: every use of
	// the name shares the wrapped backend. It may return b itself.
	Wrap func(name string, b outbox.Backend) (outbox.Backend, error)
}

// Set is the backends of a configuration by name, each built once and
// shared wherever it is referenced (one SMTP pool, one cool-down, one rate
// limit per name). It is what the engine resolves a message's backend
// name with, and what enqueue checks a name against.
type Set struct {
	byName map[string]outbox.Backend
}

// NewSet builds every backend of cfg.Named, so that every mistake in the
// configuration shows at start-up, not at the first message. The error
// joins one *ParseError (or *CycleError) per broken backend. Nothing
// connects.
func NewSet(cfg SetConfig) (*Set, error) {
	if err := checkNames(cfg.Named); err != nil {
		return nil, err
	}
	if _, ok := cfg.Named[DefaultName]; !ok {
		return nil, fmt.Errorf("no %q backend: name the backend that delivers messages that choose none", DefaultName)
	}
	bd := newBuilder(cfg.Named, cfg.Schemes, cfg.Wrap)
	s := &Set{byName: make(map[string]outbox.Backend, len(cfg.Named))}
	var errs []error
	seen := make(map[error]bool)
	for _, name := range slices.Sorted(maps.Keys(cfg.Named)) {
		c, err := bd.resolve(name)
		if err != nil {
			if !seen[err] {
				seen[err] = true
				errs = append(errs, err)
			}
			continue
		}
		s.byName[name] = c.Backend
	}
	if err := errors.Join(errs...); err != nil {
		bd.closeAll()
		return nil, err
	}
	return s, nil
}

// Backend returns the backend called name; "" is DefaultName. A name not
// in the set is an error that names it: the engine then defers the
// message rather than send it through another backend.
func (s *Set) Backend(name string) (outbox.Backend, error) {
	if name == "" {
		name = DefaultName
	}
	b, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("backend %q is not configured", name)
	}
	return b, nil
}

// Has reports whether a message may choose the backend called name; ""
// (the default) always.
func (s *Set) Has(name string) bool {
	_, ok := s.byName[name]
	return ok || name == ""
}

// Names returns the backends' names, sorted.
func (s *Set) Names() []string { return slices.Sorted(maps.Keys(s.byName)) }

// Close closes every backend. Shared backends are closed once; closing
// is idempotent.
func (s *Set) Close() error {
	var errs []error
	for _, name := range s.Names() {
		errs = append(errs, s.byName[name].Close())
	}
	return errors.Join(errs...)
}
