package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBackendExamples loads each example of the README's Backends
// section (testdata/examples) under each profile and builds its backends,
// as serve does at start-up.
func TestBackendExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "examples", "*.toml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, path := range files {
		for _, profile := range append([]string{""}, profileNames()...) {
			t.Run(filepath.Base(path)+"/"+profile, func(t *testing.T) {
				args := []string{"--config", path}
				if profile != "" {
					args = append(args, "--profile", profile)
				}
				cfg, err := loadServeConfig(t, args, nil)
				if err != nil {
					if profile == profileStaging && strings.Contains(err.Error(), "profiles.staging.redirect_to: required") {
						return // the example has no staging section
					}
					t.Fatal(err)
				}
				if filepath.Base(path) == "staging.toml" && (profile == profileStaging) != (cfg.Redirect != nil) {
					t.Errorf("profile %q: redirect %+v", profile, cfg.Redirect)
				}
				set, _, err := openBackends(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if err := set.Close(); err != nil {
					t.Error(err)
				}
			})
		}
	}
}
