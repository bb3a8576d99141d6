package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/phaseprobe/phaseprobe/train"
)

func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := newFlagSet(stderr, "sweep", "SPEC.yaml --out DIR [flags]")
	out := fs.String("out", "runs", "runs folder: the sweep writes DIR/<spec name>/")
	jobs := fs.Int("jobs", 1, "ensembles trained at once")
	ensemble := fs.Int("ensemble", 0, "seeds per ensemble (one graph); 0 = spec's ensemble, else the backend default")
	backend := fs.String("backend", "cpu", "cpu (phaseprobe's CPU backend), cpu:OPTIONS, go (GoMLX's SimpleGo), go:OPTIONS or xla:/abs/path/to/pjrt_plugin.so")
	only := fs.String("cells", "", "comma-separated cell IDs to run (default all)")
	if err := parseFlags(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one spec file, got %d arguments", fs.NArg())
	}
	if *out == "" {
		return usagef("--out \"\": give a runs folder (e.g. --out runs)")
	}
	if *jobs < 1 {
		return usagef("--jobs %d: must be at least 1", *jobs)
	}
	if *ensemble < 0 {
		return usagef("--ensemble %d: must be >= 0", *ensemble)
	}
	spec, err := train.LoadSpec(fs.Arg(0))
	if err != nil {
		return usageError{err.Error()}
	}
	b, err := train.NewBackend(*backend)
	if err != nil {
		return usageError{err.Error()}
	}
	defer b.Close()
	prog := progressOf(stderr)
	opt := train.SweepOptions{Out: *out, Jobs: *jobs, Ensemble: *ensemble, Log: log,
		Progress: func(label string, step, total int, loss float64) {
			if step < 0 {
				prog.Done(label)
				return
			}
			prog.Update(label, step, total, fmt.Sprintf("loss %.4f", loss))
		}}
	if *only != "" {
		opt.Only = strings.Split(*only, ",")
	}
	if err := train.RunSweep(ctx, b, spec, opt); err != nil {
		switch {
		case errors.Is(err, train.ErrUnknownCell):
			return usagef("--cells: %v (phaseprobe plan %s lists its cells)", err, fs.Arg(0))
		case errors.Is(err, train.ErrMemory):
			return usageError{err.Error()}
		}
		return err
	}
	fmt.Fprintln(stdout, train.SweepDir(*out, spec))
	return nil
}

// reorder moves flags after positional arguments to the front, so both `sweep spec.yaml --out x`
// and `sweep --out x spec.yaml` work (Go's flag package stops at the first positional argument).
// A flag of fs that is boolean takes no separate value; every other flag (an unknown one too, which
// Parse then refuses) takes the next argument unless it is written --name=value.
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !isBoolFlag(fs, a) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

// isBoolFlag reports whether the flag a ("-name" or "--name") is one of fs's boolean flags, or
// -h / -help, which the flag package answers with the usage text.
func isBoolFlag(fs *flag.FlagSet, a string) bool {
	name := strings.TrimLeft(a, "-")
	if name == "h" || name == "help" {
		return true
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
