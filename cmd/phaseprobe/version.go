package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
)

// buildVersion is what `phaseprobe version` reports, read from the binary's build information.
type buildVersion struct {
	Module    string `json:"module"`
	Version   string `json:"version"` // "(devel)" for a build from a checkout
	Go        string `json:"go"`
	GoMLX     string `json:"gomlx"`
	Revision  string `json:"vcs_revision,omitempty"`
	Time      string `json:"vcs_time,omitempty"`
	Modified  bool   `json:"vcs_modified"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	HasVCS    bool   `json:"-"`
	HasModule bool   `json:"-"`
}

func readBuildVersion() buildVersion {
	v := buildVersion{Module: "github.com/phaseprobe/phaseprobe", Version: "unknown", Go: runtime.Version(), GoMLX: "unknown",
		OS: runtime.GOOS, Arch: runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.HasModule = true
	if bi.Main.Path != "" {
		v.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/gomlx/gomlx" {
			v.GoMLX = d.Version
			if d.Replace != nil {
				v.GoMLX += " => " + d.Replace.Path + " " + d.Replace.Version
			}
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision, v.HasVCS = s.Value, true
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the one-line form: "phaseprobe (devel) abc1234-dirty go1.26.0 gomlx v0.26.0 linux/amd64".
func (v buildVersion) String() string {
	s := "phaseprobe " + v.Version
	if v.HasVCS {
		rev := v.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if v.Modified {
			rev += "-dirty"
		}
		s += " " + rev
		if v.Time != "" {
			s += " (" + v.Time + ")"
		}
	}
	return fmt.Sprintf("%s %s gomlx %s %s/%s", s, v.Go, v.GoMLX, v.OS, v.Arch)
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer, _ *slog.Logger) error {
	fs := newFlagSet(stderr, "version", "[--json]")
	asJSON := fs.Bool("json", false, "print the build information as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("version takes no arguments, got %q", fs.Arg(0))
	}
	v := readBuildVersion()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := fmt.Fprintln(stdout, v)
	return err
}
