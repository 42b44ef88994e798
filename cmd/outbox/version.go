package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionCmd prints the module version (or "devel" for a build from a
// work tree) and the VCS revision when the build recorded one.
func versionCmd(fs *flag.FlagSet, e *env) func(ctx context.Context, args []string) error {
	return func(context.Context, []string) error {
		version, revision := "devel", ""
		if bi, ok := debug.ReadBuildInfo(); ok {
			if v := bi.Main.Version; v != "" && v != "(devel)" {
				version = v
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					revision = " " + s.Value[:12]
				}
			}
		}
		_, err := fmt.Fprintf(e.stdout, "outbox %s%s %s\n", version, revision, runtime.Version())
		return err
	}
}
