package cmd

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// NewCmdVersion returns `trawl version`.
func NewCmdVersion(io *IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print trawl's version and VCS revision",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			fmt.Fprintln(io.Out, versionString(debug.ReadBuildInfo()))
			return nil
		},
	}
}

// versionString formats what the build info knows: the module version, the
// VCS revision and whether the tree was modified, and the Go version.
func versionString(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return "trawl (unknown version: no build information)"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	revision, modified := "unknown", ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
			if len(revision) > 12 {
				revision = revision[:12]
			}
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	return fmt.Sprintf("trawl %s revision %s%s %s", version, revision, modified, info.GoVersion)
}
