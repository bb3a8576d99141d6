// Command phaseprobe trains families of small transformers on toy tasks, captures their
// activations at log-spaced checkpoints, and tests whether internal transitions line up with
// task-level jumps. Run `phaseprobe help` for the subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
)

// usageError marks bad command-line input: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// command is a subcommand. run gets the arguments after the subcommand's name, stdout for results,
// stderr for messages, flag usage and progress bars (the process's progress writer, which prints
// messages above the live bars), and the logger that mainExit builds (it writes to stderr); it
// passes the logger to the stages it runs and returns an error instead of exiting.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error
}

func commands() []command {
	return []command{
		{"train", "train one model (or a seed ensemble) on one task and print its task metrics", runTrain},
		{"sweep", "train a model family from a YAML spec, capturing activations at checkpoints", runSweep},
		{"plan", "list a sweep's cells and ensembles; with --slurm, write a Slurm job-array script", runPlan},
		{"analyze", "compute internal metrics, test every curve for transitions, and decide the verdicts for a run folder", runAnalyze},
		{"report", "write the HTML report (verdicts, mirage table, plots) of a run folder", runReport},
		{"export", "write a cell's model at a checkpoint step for another library (--format transformerlens)", runExport},
		{"status", "show a run folder's state: each cell's progress and disk use, whether analysis and report are current", runStatus},
		{"version", "print phaseprobe's version, its Go and GoMLX versions and the source revision it was built from", runVersion},
		{"zoom", "replay a stretch of a finished run with extra checkpoints across each transition, verified bit for bit", runZoom},
	}
}

func mainUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: phaseprobe <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'phaseprobe <command> --help' for a command's flags.")
	fmt.Fprintln(w, "Global: PHASEPROBE_LOG=debug|info|warn|error sets the log level (default info);")
	fmt.Fprintln(w, "        PHASEPROBE_CPUPROFILE=FILE writes a Go CPU profile of the command (go tool pprof FILE).")
}

func main() {
	os.Exit(mainExit(os.Args[1:], os.Stdout, os.Stderr))
}

func mainExit(args []string, stdout, stderr io.Writer) int {
	level := slog.LevelInfo
	if v := os.Getenv("PHASEPROBE_LOG"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			fmt.Fprintf(stderr, "phaseprobe: PHASEPROBE_LOG=%q: want debug, info, warn or error\n", v)
			return 2
		}
	}
	// Logs go through the progress bars' writer, which prints them above the live bars.
	prog := newProgress(stderr)
	defer prog.Flush()
	log := slog.New(slog.NewTextHandler(prog, &slog.HandlerOptions{Level: level}))
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		mainUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == args[0] {
			cmd = &c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "phaseprobe: unknown command %q\n\n", args[0])
		mainUsage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile, err := startCPUProfile(os.Getenv("PHASEPROBE_CPUPROFILE"))
	if err != nil {
		fmt.Fprintf(stderr, "phaseprobe: %v\n", err)
		return 2
	}
	err = cmd.run(ctx, args[1:], stdout, prog, log)
	stopProfile()
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, context.Canceled) && cmd.name == "train":
		fmt.Fprintf(stderr, "phaseprobe train: interrupted; nothing was saved (train keeps no checkpoints: use phaseprobe sweep for a run that resumes)\n")
		return 130
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "phaseprobe %s: interrupted; finished work is saved — rerun the same command to resume\n", cmd.name)
		return 130
	default:
		var ue usageError
		fmt.Fprintf(stderr, "phaseprobe %s: %v\n", cmd.name, err)
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
}

// newFlagSet makes a subcommand's flag set whose errors come back as usage errors and whose
// usage text goes to stderr.
func newFlagSet(stderr io.Writer, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: phaseprobe %s %s\n\nflags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// paramFlag collects repeated key=value task parameters.
type paramFlag map[string]any

func (p paramFlag) String() string { return fmt.Sprint(map[string]any(p)) }

func (p paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	p[k] = v
	return nil
}

// startCPUProfile starts a Go CPU profile written to path (nothing when path is empty) and returns
// the function that ends it.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("PHASEPROBE_CPUPROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("PHASEPROBE_CPUPROFILE=%s: %w", path, err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
