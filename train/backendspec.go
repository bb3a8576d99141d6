package train

import (
	"fmt"
	"path/filepath"
	"strings"
)

// BackendSpec is a parsed backend spec (see NewBackend for the forms): the backend's name and
// the options after the first ':'.
type BackendSpec struct {
	Name    string // "cpu", "go" or "xla"
	Options string // cpu's and go's options, or xla's plugin path (and its options after ',')
}

// ParseBackendSpec checks a backend spec without opening the backend: the name is cpu (also for
// ""), go or xla, and xla names the absolute path of a PJRT plugin. A planner checks the backend
// of jobs that run elsewhere with it, on a machine that may lack the device or the plugin.
func ParseBackendSpec(spec string) (BackendSpec, error) {
	name, opts, _ := strings.Cut(spec, ":")
	switch name {
	case "":
		return BackendSpec{Name: "cpu", Options: opts}, nil
	case "cpu", "go":
		return BackendSpec{Name: name, Options: opts}, nil
	case "xla":
		if !filepath.IsAbs(opts) {
			return BackendSpec{}, fmt.Errorf("backend %q: give the absolute path of a PJRT plugin, e.g. xla:/opt/jax/jax_plugins/xla_cuda13/xla_cuda_plugin.so", spec)
		}
		return BackendSpec{Name: name, Options: opts}, nil
	}
	return BackendSpec{}, fmt.Errorf("unknown backend %q: want cpu, cpu:OPTIONS, go, go:OPTIONS or xla:/abs/path/plugin.so", spec)
}

// OnCPU reports whether the backend runs on the CPU (cpu or go), so it can be opened on any
// machine.
func (s BackendSpec) OnCPU() bool { return s.Name == "cpu" || s.Name == "go" }

// backendName is a backend spec's name without its options: "cpu" of "cpu:workers=2" (and of ""),
// "xla" of "xla:/path/plugin.so"; for a spec ParseBackendSpec refuses, the text before the first ':'.
func backendName(spec string) string {
	if bs, err := ParseBackendSpec(spec); err == nil {
		return bs.Name
	}
	name, _, _ := strings.Cut(spec, ":")
	return name
}
