package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend"
	"github.com/outboxmail/outbox/backend/limit"
)

// fileBackends are the keys that choose backends, at the top of the file
// or in a profile: backend, [backends], [[routes]] and [limits.NAME].
type fileBackends struct {
	Backend  *string              `toml:"backend"`
	Backends map[string]string    `toml:"backends"`
	Routes   *[]fileRoute         `toml:"routes"`
	Limits   map[string]fileLimit `toml:"limits"`
}

// fileRoute is one [[routes]] table.
type fileRoute struct {
	SenderDomain    string `toml:"sender_domain"`
	RecipientDomain string `toml:"recipient_domain"`
	Tag             string `toml:"tag"`
	Backend         string `toml:"backend"`
}

// fileLimit is one [limits.NAME] table.
type fileLimit struct {
	// Rate is one rate ("20/s") or a list of them (["20/s", "10000/d"]).
	Rate          any     `toml:"rate"`
	Burst         *int    `toml:"burst"`
	MaxConcurrent *int    `toml:"max_concurrent"`
	MaxPerDomain  *int    `toml:"max_per_domain"`
	Recovery      *string `toml:"recovery"`
}

// applyBackends applies the backend keys of one layer onto c; prefix is
// "" for the top of the file or "profiles.NAME." for a profile, and
// names the keys in errors. A profile's backend or [backends] default
// replaces the default backend of the top of the file, whichever key set
// it there; [backends] and [limits] merge by name; [[routes]] replaces
// the list.
func applyBackends(prefix string, f fileBackends, c *Config, keys *refKeys) error {
	var errs []error
	_, hasDefault := f.Backends[backend.DefaultName]
	if f.Backend != nil && hasDefault {
		errs = append(errs, fmt.Errorf("%sbackend and %sbackends.%s are both set: the default backend is one or the other", prefix, prefix, backend.DefaultName))
	}
	if f.Backend != nil {
		c.Backend = *f.Backend
		delete(c.Backends, backend.DefaultName)
	}
	for _, name := range slices.Sorted(maps.Keys(f.Backends)) {
		expr := f.Backends[name]
		key := prefix + "backends." + name
		if err := checkBackendName(name); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		if strings.TrimSpace(expr) == "" {
			errs = append(errs, fmt.Errorf("%s: must not be empty (e.g. \"console:\" or \"smtp://relay.example.com:587\")", key))
			continue
		}
		if c.Backends == nil {
			c.Backends = make(map[string]string)
		}
		c.Backends[name] = expr
	}
	if hasDefault && f.Backend == nil {
		c.Backend = defaultConfig().Backend
	}
	if f.Routes != nil {
		c.Routes = make([]backend.Rule, len(*f.Routes))
		for i, r := range *f.Routes {
			c.Routes[i] = backend.Rule{SenderDomain: r.SenderDomain, RecipientDomain: r.RecipientDomain, Tag: r.Tag, Backend: r.Backend}
		}
		keys.routes = prefix + "routes"
	}
	for _, name := range slices.Sorted(maps.Keys(f.Limits)) {
		key := prefix + "limits." + name
		lc, err := f.Limits[name].config(key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c.Limits == nil {
			c.Limits = make(map[string]limit.Config)
		}
		c.Limits[name] = lc
		keys.limits[name] = key
	}
	return errors.Join(errs...)
}

// checkBackendName checks a [backends] key against the grammar's names.
func checkBackendName(name string) error {
	if slices.Contains(backend.Combinators(), name) {
		return fmt.Errorf("%q is a combinator's keyword; choose another name", name)
	}
	ok := name != "" && name[0] >= 'a' && name[0] <= 'z'
	for _, r := range name {
		ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}
	if !ok {
		return fmt.Errorf("%q is not a backend name: want a lower-case letter, then lower-case letters, digits, \"_\" or \"-\"", name)
	}
	return nil
}

// config converts a [limits.NAME] table; key names it in errors.
func (f fileLimit) config(key string) (limit.Config, error) {
	var lc limit.Config
	var errs []error
	rates, err := rateStrings(f.Rate)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s.rate: %w", key, err))
	}
	for _, s := range rates {
		r, err := limit.ParseRate(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.rate: %w", key, err))
			continue
		}
		lc.Rates = append(lc.Rates, r)
	}
	ints := []struct {
		name string
		src  *int
		dst  *int
		zero string // what 0 means
	}{
		{"burst", f.Burst, &lc.Burst, "each rate's count"},
		{"max_concurrent", f.MaxConcurrent, &lc.MaxConcurrent, "no limit"},
		{"max_per_domain", f.MaxPerDomain, &lc.MaxPerDomain, "no limit"},
	}
	for _, n := range ints {
		if n.src == nil {
			continue
		}
		if *n.src < 0 {
			errs = append(errs, fmt.Errorf("%s.%s: must not be negative (0 means %s), got %d", key, n.name, n.zero, *n.src))
			continue
		}
		*n.dst = *n.src
	}
	if f.Recovery != nil {
		d, err := parseDuration(*f.Recovery)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s.recovery: %w", key, err))
		case d <= 0:
			errs = append(errs, fmt.Errorf("%s.recovery: must be positive, got %s", key, d))
		default:
			lc.Recovery = d
		}
	}
	if lc.Recovery == 0 {
		lc.Recovery = limit.DefaultRecovery
	}
	return lc, errors.Join(errs...)
}

// rateStrings reads the rate key: absent, one string or a list of strings.
func rateStrings(v any) ([]string, error) {
	const want = `want a rate such as "20/s" or a list such as ["20/s", "10000/d"]`
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string: %s", x, want)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is not a string: %s", v, want)
}

// refKeys are the config keys that set the references to backends by
// name, for errors: routes, and limits by backend name.
type refKeys struct {
	routes string
	limits map[string]string
}

// checkBackendRefs checks what refers to a backend by name once every
// layer of the file is applied: each [limits.NAME] must name a backend,
// and each route a condition and a known backend.
func (c Config) checkBackendRefs(keys refKeys) error {
	known := c.knownBackend()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(c.Limits)) {
		if !known(name) {
			errs = append(errs, fmt.Errorf("%s: no backend is named %q (named backends: %s)", keys.limits[name], name, strings.Join(slices.Sorted(maps.Keys(c.named())), ", ")))
		}
	}
	if _, err := backend.NewRouter(c.Routes, known); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", keys.routes, err))
	}
	return errors.Join(errs...)
}

// routing returns what a client needs to choose a message's backend at
// enqueue as serve does (see outbox.ClientConfig), without building the
// backends: the names it knows, and the router of [[routes]].
func (c Config) routing() (known func(name string) bool, route func(*outbox.Message) string, err error) {
	named := c.knownBackend()
	known = func(name string) bool { return name == "" || named(name) } // as backend.Set.Has
	router, err := backend.NewRouter(c.Routes, known)
	if err != nil {
		return nil, nil, fmt.Errorf("routes: %w", err)
	}
	return known, router.Route, nil
}

// knownBackend reports whether a backend is named name.
func (c Config) knownBackend() func(name string) bool {
	named := c.named()
	return func(name string) bool { _, ok := named[name]; return ok }
}

// named returns the named backends as backend.SetConfig takes them: the
// [backends] table, with the backend key as the default unless the table
// names one.
func (c Config) named() map[string]string {
	named := maps.Clone(c.Backends)
	if named == nil {
		named = make(map[string]string, 1)
	}
	if _, ok := named[backend.DefaultName]; !ok {
		named[backend.DefaultName] = c.Backend
	}
	return named
}
