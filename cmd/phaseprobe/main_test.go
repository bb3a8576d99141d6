package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestMain lets the tests run the real CLI as a child process: the test binary re-executes itself
// with PHASEPROBE_AS_CLI=1 and behaves exactly as `phaseprobe` (so a test can SIGKILL a process,
// not just return from a function).
func TestMain(m *testing.M) {
	if os.Getenv("PHASEPROBE_AS_CLI") == "1" {
		os.Exit(mainExit(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// cli returns a command running phaseprobe with args.
func cli(args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), "PHASEPROBE_AS_CLI=1", "GOMLX_NO_AUTO_INSTALL=1")
	return c
}

// runCLI runs phaseprobe to completion and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	c := cli(args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// killSpec is long enough (several seconds on 2 cores) to be killed in the middle of training.
const killSpec = `
name: kill
task: {name: addition, params: {digits: 2}}
model: {d_model: [16, 24], n_layers: [1], n_heads: [2]}
seeds: [0, 1]
train: {steps: 400, batch_size: 32, optimizer: {lr: 0.003}}
checkpoints: {count: 8}
probe: {examples: 48, capture_examples: 12}
ensemble: 1
`

// readAll reads a table of every cell of a sweep.
func readAll[T data.TableRow](t *testing.T, sweepDir, file string) []T {
	t.Helper()
	dirs, err := data.CellDirs(sweepDir)
	if err != nil {
		t.Fatal(err)
	}
	var all []T
	for _, d := range dirs {
		if _, err := data.ReadTable(filepath.Join(d, file), func(rows []T) error {
			all = append(all, rows...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return all
}

// TestKilledSweepResumesToTheSameTables kills `phaseprobe sweep` with SIGKILL mid-run, reruns it,
// and compares every table with an uninterrupted run's: equal row for row (the pure-Go backend is
// deterministic, and resume restores weights, optimizer state and data order).
func TestKilledSweepResumesToTheSameTables(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "kill.yaml"), killSpec)
	straight, killed := filepath.Join(dir, "straight"), filepath.Join(dir, "killed")
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", straight); code != 0 {
		t.Fatalf("uninterrupted sweep: exit %d\n%s", code, stderr)
	}

	c := cli("sweep", spec, "--out", killed)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once some checkpoint past step 0 exists but the sweep has not finished.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ck, _ := filepath.Glob(filepath.Join(killed, "kill", "cells", "*", "checkpoints", "step-0000001*.ckpt"))
		done, _ := filepath.Glob(filepath.Join(killed, "kill", "cells", "*", "done.json"))
		if len(ck) > 0 && len(done) < 4 {
			break
		}
		if len(done) == 4 || time.Now().After(deadline) {
			t.Fatalf("could not catch the sweep mid-run (done cells: %d)", len(done))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	done, _ := filepath.Glob(filepath.Join(killed, "kill", "cells", "*", "done.json"))
	if len(done) == 4 {
		t.Fatal("the sweep finished before it was killed; the test proves nothing")
	}
	code, _, stderr := runCLI(t, "sweep", spec, "--out", killed)
	if code != 0 {
		t.Fatalf("resumed sweep: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "resuming") && len(done) == 0 {
		t.Logf("no ensemble resumed from a checkpoint (killed before the first one was complete)")
	}
	a, b := filepath.Join(straight, "kill"), filepath.Join(killed, "kill")
	compare := func(name string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			xv, yv := reflect.ValueOf(x), reflect.ValueOf(y)
			if xv.Len() != yv.Len() {
				t.Errorf("%s: %d rows uninterrupted, %d resumed", name, xv.Len(), yv.Len())
				return
			}
			for i := range xv.Len() {
				if !reflect.DeepEqual(xv.Index(i).Interface(), yv.Index(i).Interface()) {
					t.Errorf("%s differs between the uninterrupted and the resumed sweep; first at row %d:\n%+v\n%+v", name, i, xv.Index(i).Interface(), yv.Index(i).Interface())
					return
				}
			}
		}
	}
	compare(data.MetricsFile, readAll[data.MetricRow](t, a, data.MetricsFile), readAll[data.MetricRow](t, b, data.MetricsFile))
	compare(data.ActivationsFile, readAll[data.ActivationRow](t, a, data.ActivationsFile), readAll[data.ActivationRow](t, b, data.ActivationsFile))
	compare(data.AttentionFile, readAll[data.AttentionRow](t, a, data.AttentionFile), readAll[data.AttentionRow](t, b, data.AttentionFile))
	compare(data.OutputsFile, readAll[data.OutputRow](t, a, data.OutputsFile), readAll[data.OutputRow](t, b, data.OutputsFile))
	if n := len(readAll[data.MetricRow](t, a, data.MetricsFile)); n == 0 {
		t.Fatal("no metric rows")
	}
	// No temporary files survive the kill and the rerun.
	filepath.Walk(killed, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.Contains(filepath.Base(p), ".tmp") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

// TestCLIExitCodes: usage errors exit 2 with a message naming the offending value.
func TestCLIExitCodes(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{}, 2, "usage"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"train", "--task", "nope"}, 2, `"nope"`},
		{[]string{"train", "--task", "addition", "--param", "digits=0"}, 2, `"digits"`},
		{[]string{"train", "--task", "addition", "--d-model", "30", "--n-heads", "4"}, 2, "d_model = 30"},
		{[]string{"train", "--task", "addition", "--lr", "-1"}, 2, "lr = -1"},
		{[]string{"train", "--task", "addition", "--steps", "0"}, 2, "steps = 0"},
		{[]string{"train", "--task", "addition", "--backend", "xla:relative.so"}, 2, "absolute path"},
		{[]string{"train", "--task", "addition", "--backend", "xla:/no/such/plugin.so"}, 2, "/no/such/plugin.so"},
		{[]string{"train", "--task", "addition", "--bogus"}, 2, "bogus"},
		{[]string{"sweep", filepath.Join(dir, "missing.yaml")}, 2, "missing.yaml"},
		{[]string{"sweep", writeFile(t, filepath.Join(dir, "bad.yaml"), "task: {name: addition}\ntrain: {steps: 5, epochs: 2}\n")}, 2, "epochs"},
		{[]string{"train", "--help"}, 0, "-d-model"},
		{[]string{"status", "--help"}, 0, "-json"},
		{[]string{"plan", "--help"}, 0, "-no-timing"},
		{[]string{"plan", "--help"}, 0, "-timing-steps"},
		{[]string{"version", "--help"}, 0, "-json"},
		{[]string{"help"}, 0, "status"},
		{[]string{"help"}, 0, "version"},
		{[]string{"help"}, 0, "export"},
		{[]string{"export", "--help"}, 0, "-format"},
		{[]string{"status"}, 2, "one run folder"},
		{[]string{"plan"}, 2, "one spec file"},
		{[]string{"zoom", "--help"}, 0, "-window"},
		{[]string{"zoom", "--help"}, 0, "-dry-run"},
		{[]string{"help"}, 0, "zoom"},
		{[]string{"zoom"}, 2, "want exactly one run folder"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("phaseprobe %v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

// TestVersion: version and --version print the module version, Go's and GoMLX's (go.mod pins
// v0.26.0), and --json the same as fields.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "phaseprobe ") || !strings.Contains(stdout, " go1.") || !strings.Contains(stdout, "gomlx v0.26.0") {
			t.Errorf("phaseprobe %v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	code, stdout, _ := runCLI(t, "version", "--json")
	var v map[string]any
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || code != 0 || v["gomlx"] != "v0.26.0" || v["module"] != "github.com/phaseprobe/phaseprobe" {
		t.Errorf("version --json: exit %d, %v: %s", code, err, stdout)
	}
}

// TestTrainPrintsMetrics runs `phaseprobe train` briefly and checks the metrics line.
func TestTrainPrintsMetrics(t *testing.T) {
	code, stdout, stderr := runCLI(t, "train", "--task", "addition", "--param", "digits=2", "--d-model", "16", "--n-heads", "2",
		"--n-layers", "1", "--steps", "20", "--batch", "16", "--eval-examples", "50")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"exact_match", "token_accuracy", "logprob", "brier", "edit_distance", "50 held-out"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

// TestStagesLogToTheCLIsLogger: the CLI hands the logger it builds to the stages it runs instead of
// installing it as slog.Default(): a sweep's and an analysis's records reach stderr, and
// slog.Default() is the one the process had, with nothing written to it.
func TestStagesLogToTheCLIsLogger(t *testing.T) {
	var global bytes.Buffer
	mine := slog.New(slog.NewTextHandler(&global, nil))
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(mine)
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "logs.yaml"), "name: logs\n"+okSpec)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", spec, "--out", filepath.Join(dir, "runs")}, `msg="cell captured"`},
		{[]string{"analyze", filepath.Join(dir, "runs", "logs")}, `msg=analysis`},
	} {
		var out, errb bytes.Buffer
		if code := mainExit(c.args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d\n%s", c.args, code, errb.String())
		}
		if !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: stderr has no %s:\n%s", c.args, c.want, errb.String())
		}
		if slog.Default() != mine || global.Len() > 0 {
			t.Errorf("%v: slog.Default() replaced (%v) or written to:\n%s", c.args, slog.Default() != mine, global.String())
		}
	}
}

// TestCPUProfile checks PHASEPROBE_CPUPROFILE: a command run with it writes a pprof profile (gzip
// data) to the named file, and a file that cannot be created stops the command with exit status 2
// and a message naming the variable.
func TestCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	t.Setenv("PHASEPROBE_CPUPROFILE", path)
	var out, errb bytes.Buffer
	if code := mainExit([]string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("version with a profile: exit %d, stderr %s", code, errb.String())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Fatalf("profile is not gzip data: % x", raw[:min(len(raw), 8)])
	}
	t.Setenv("PHASEPROBE_CPUPROFILE", filepath.Join(t.TempDir(), "missing", "cpu.prof"))
	errb.Reset()
	if code := mainExit([]string{"version"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "PHASEPROBE_CPUPROFILE") {
		t.Fatalf("unwritable profile: exit %d, stderr %q", code, errb.String())
	}
}
