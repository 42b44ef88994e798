package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/redirect"
)

// The profiles a config file can hold, selected by OUTBOX_PROFILE or
// --profile.
const (
	profileDevelopment = "development"
	profileStaging     = "staging"
	profileProduction  = "production"
)

// profileNames lists the profiles, for messages.
func profileNames() []string {
	return []string{profileDevelopment, profileStaging, profileProduction}
}

// fileProfiles is the [profiles] table. Each profile may override the
// backend keys; only the active one is applied.
type fileProfiles struct {
	Development *fileBackends `toml:"development"`
	Staging     *fileStaging  `toml:"staging"`
	Production  *fileBackends `toml:"production"`
}

// fileStaging is [profiles.staging]: the backend keys, and where every
// recipient not allowed goes instead.
type fileStaging struct {
	fileBackends
	RedirectTo *[]string `toml:"redirect_to"`
	Allow      *[]string `toml:"allow"`
}

// section returns the backend keys of the profile called name, nil when
// the file has no such section.
func (p fileProfiles) section(name string) *fileBackends {
	switch name {
	case profileDevelopment:
		return p.Development
	case profileStaging:
		if p.Staging != nil {
			return &p.Staging.fileBackends
		}
	case profileProduction:
		return p.Production
	}
	return nil
}

// applyProfile applies the section of the profile called name onto c,
// after the top of the file: its backend keys, and for staging the
// redirect.
func applyProfile(name string, p fileProfiles, c *Config, keys *refKeys) error {
	var errs []error
	if f := p.section(name); f != nil {
		errs = append(errs, applyBackends("profiles."+name+".", *f, c, keys))
	}
	if name == profileStaging && p.Staging != nil && p.Staging.RedirectTo != nil {
		c.Redirect = &redirect.Config{To: *p.Staging.RedirectTo}
		if p.Staging.Allow != nil {
			c.Redirect.Allow = *p.Staging.Allow
		}
	}
	return errors.Join(errs...)
}

// checkOtherProfiles loads the file at path under each profile it has a
// section for, other than active, with the same environment, checks it
// and builds its backends as serve would (nothing connects), so that a
// mistake in the production section stops a development start rather
// than waiting for the first production one.
func checkOtherProfiles(path, active string, getenv func(string) string) error {
	if path == "" {
		return nil
	}
	var f fileConfig
	if _, err := toml.DecodeFile(path, &f); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var errs []error
	for _, name := range profileNames() {
		if name == active || f.Profiles.section(name) == nil {
			continue
		}
		c, err := loadConfig(path, name, getenv)
		if err == nil {
			err = c.validate()
		}
		if err == nil {
			err = checkBackends(c)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("profile %s (not the active one): %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// checkBackends builds c's backends and closes them.
func checkBackends(c Config) error {
	set, _, err := openBackends(c)
	if err != nil {
		return err
	}
	return set.Close()
}

// validateProfile checks the active profile: a known name, and for
// staging a redirect to valid addresses.
func (c Config) validateProfile() []error {
	switch c.Profile {
	case "", profileDevelopment, profileProduction:
		return nil
	case profileStaging:
	default:
		return []error{fmt.Errorf("profile: unknown profile %q (OUTBOX_PROFILE or --profile): want %s", c.Profile, strings.Join(profileNames(), ", "))}
	}
	const key = "profiles.staging.redirect_to"
	if c.Redirect == nil || len(c.Redirect.To) == 0 {
		return []error{fmt.Errorf("%s: required by the staging profile: the addresses that get every message instead of its recipients (e.g. [\"qa@example.com\"])", key)}
	}
	var errs []error
	for i, a := range c.Redirect.To {
		if _, err := outbox.ParseAddress(a); err != nil || strings.ContainsAny(a, "<> ") {
			errs = append(errs, fmt.Errorf("%s[%d]: %q is not an address (e.g. qa@example.com)", key, i, a))
		}
	}
	for i, a := range c.Redirect.Allow {
		if !allowEntry(a) {
			errs = append(errs, fmt.Errorf("profiles.staging.allow[%d]: %q is not an address or @domain (e.g. qa@example.com or @example.com)", i, a))
		}
	}
	return errs
}

// allowEntry reports whether a is an allow-list entry: an address or a
// domain written "@example.com".
func allowEntry(a string) bool {
	if d, ok := strings.CutPrefix(a, "@"); ok {
		return d != "" && !strings.ContainsAny(d, "@ \t<>,") && validHostname(d)
	}
	_, err := outbox.ParseAddress(a)
	return err == nil && !strings.ContainsAny(a, "<> ")
}
