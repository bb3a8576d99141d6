package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// sweepFixture runs the bad-input fixture sweep (badSpec, runs/fx) into dir and returns the spec
// path and the run folder.
func sweepFixture(t *testing.T, dir string) (spec, run string) {
	t.Helper()
	spec = writeFile(t, filepath.Join(dir, "fx.yaml"), badSpec)
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", filepath.Join(dir, "runs")); code != 0 {
		t.Fatalf("fixture sweep: exit %d\n%s", code, stderr)
	}
	return spec, filepath.Join(dir, "runs", "fx")
}

// TestCleanupKeepsUserFiles (issue 12, case 11): a resumed sweep, an analysis and a zoom remove
// only phaseprobe's own stale temporaries. Files a user put into a cell, its checkpoints/ and analysis/
// whose names merely contain ".tmp-" survive, and with analysis/ a symbolic link out of the run
// folder nothing outside the run folder is removed, not even a file named like a temporary.
func TestCleanupKeepsUserFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	spec, run := sweepFixture(t, dir)
	cell := filepath.Join(run, cell0)
	user := []string{
		writeFile(t, filepath.Join(cell, "notes.tmp-draft.txt"), "my notes"),
		writeFile(t, filepath.Join(cell, "checkpoints", "README.tmp-old"), "keep"),
		writeFile(t, filepath.Join(cell, "metrics.parquet.tmp-mine"), "keep"),
	}
	stale := []string{
		writeFile(t, filepath.Join(cell, "checkpoints", ".step-00000003.ckpt.tmp-phaseprobe-123"), "half"),
		writeFile(t, filepath.Join(cell, "metrics.parquet.tmp-phaseprobe-456"), "half"),
	}
	// The analysis folder is a link to a folder outside the run folder.
	ext := filepath.Join(dir, "elsewhere")
	os.MkdirAll(ext, 0o755)
	user = append(user,
		writeFile(t, filepath.Join(ext, "all_metrics.parquet.tmp-phaseprobe-42"), "not the run's"),
		writeFile(t, filepath.Join(ext, "README.tmp-old"), "keep"))
	if err := os.Symlink(ext, filepath.Join(run, "analysis")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(cell, "done.json")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", filepath.Join(dir, "runs")); code != 0 {
		t.Fatalf("resumed sweep: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(cell, "done.json")); err != nil {
		t.Fatalf("the cell was not redone: %v", err)
	}
	if code, _, stderr := runCLI(t, "analyze", run); code != 0 {
		t.Fatalf("analyze: exit %d\n%s", code, stderr)
	}
	// A zoom empties its staging folder of what a killed zoom left, and of nothing else.
	staging := filepath.Join(cell, "zoom-staging")
	os.MkdirAll(staging, 0o755)
	user = append(user, writeFile(t, filepath.Join(staging, "notes.tmp-mine"), "keep"))
	stale = append(stale, writeFile(t, filepath.Join(staging, ".step-00000004.ckpt.tmp-phaseprobe-789"), "half"))
	if code, _, stderr := runCLI(t, "zoom", run, "--window", "3:11", "--points", "2"); code != 0 {
		t.Fatalf("zoom: exit %d\n%s", code, stderr)
	}
	for _, p := range user {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("a file that is not phaseprobe's was removed: %s", p)
		}
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("phaseprobe's stale temporary %s was not removed", p)
		}
	}
	for _, p := range user {
		if strings.HasPrefix(p, ext) {
			continue
		}
		if raw, _ := os.ReadFile(p); len(raw) == 0 {
			t.Errorf("%s was emptied", p)
		}
	}
}

// lockSpec trains long enough (a few seconds on 2 cores) for a second command to start meanwhile.
const lockSpec = `
name: lk
task: {name: addition, params: {digits: 2}}
model: {d_model: [16], n_layers: [1], n_heads: [2]}
seeds: [0, 1]
train: {steps: 400, batch_size: 16}
checkpoints: {count: 6}
probe: {examples: 24, capture_examples: 12}
ensemble: 1
`

// startUntilLocked starts phaseprobe with args and waits until it holds the run folder's lock
// (its pid is in the lock file).
func startUntilLocked(t *testing.T, lockPath string, args ...string) *exec.Cmd {
	t.Helper()
	c := cli(args...)
	var errb bytes.Buffer
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		raw, _ := os.ReadFile(lockPath)
		if strings.Contains(string(raw), "pid "+strconv.Itoa(c.Process.Pid)+",") {
			return c
		}
		if time.Now().After(deadline) {
			c.Process.Kill()
			c.Wait()
			t.Fatalf("phaseprobe %v never took the lock %s\n%s", args, lockPath, errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOneWriterPerRunFolder (issue 12, case 12): while a sweep writes a run folder, a second sweep,
// an analysis or a zoom of it exits 1 at once, naming the holder's pid, and changes nothing; the first
// sweep finishes. A lock left by a SIGKILLed sweep does not block the rerun. Sweeps of different
// cells (Slurm array tasks) run side by side; two of the same cell do not.
func TestOneWriterPerRunFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "lk.yaml"), lockSpec)
	out := filepath.Join(dir, "runs")
	run := filepath.Join(out, "lk")
	lockPath := filepath.Join(run, data.LockFile)

	first := startUntilLocked(t, lockPath, "sweep", spec, "--out", out)
	pid := strconv.Itoa(first.Process.Pid)
	for _, args := range [][]string{{"sweep", spec, "--out", out}, {"analyze", run}, {"zoom", run, "--window", "10:100"}, {"sweep", spec, "--out", out, "--cells", "addition-d16-L1-H2-s1"}} {
		code, _, stderr := runCLI(t, args...)
		if code != 1 || !strings.Contains(stderr, "in use") || !strings.Contains(stderr, "pid "+pid) {
			t.Errorf("phaseprobe %v while pid %s sweeps: exit %d, want 1 with a message naming pid %s\n%s", args, pid, code, pid, stderr)
		}
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first sweep failed: %v\n%s", err, first.Stderr)
	}
	if done, _ := filepath.Glob(filepath.Join(run, "cells", "*", "done.json")); len(done) != 2 {
		t.Fatalf("the first sweep finished %d of 2 cells", len(done))
	}

	// SIGKILL a sweep holding the lock; the rerun is not blocked.
	os.RemoveAll(run)
	killed := startUntilLocked(t, lockPath, "sweep", spec, "--out", out)
	killed.Process.Signal(syscall.SIGKILL)
	killed.Wait()
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", out); code != 0 {
		t.Fatalf("rerun after SIGKILL: exit %d\n%s", code, stderr)
	}

	// Slurm array tasks: different cells side by side; the same cell twice is refused.
	os.RemoveAll(run)
	s0 := startUntilLocked(t, lockPath, "sweep", spec, "--out", out, "--cells", "addition-d16-L1-H2-s0")
	code, _, stderr := runCLI(t, "sweep", spec, "--out", out, "--cells", "addition-d16-L1-H2-s0")
	if code != 1 || !strings.Contains(stderr, "in use") || !strings.Contains(stderr, "pid "+strconv.Itoa(s0.Process.Pid)) {
		t.Errorf("a second sweep of the same cell: exit %d, want 1 naming the holder\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", out, "--cells", "addition-d16-L1-H2-s1"); code != 0 {
		t.Errorf("a sweep of another cell beside it: exit %d\n%s", code, stderr)
	}
	if err := s0.Wait(); err != nil {
		t.Fatalf("the array task of cell s0 failed: %v\n%s", err, s0.Stderr)
	}
}

// TestResumeAfterAMissingCheckpoint (issue 12, case 5): with a middle checkpoint and done.json of a
// cell deleted, a rerun retrains the cell from the last checkpoint before the gap, so its tables
// equal the uninterrupted run's row for row (no step lost, no loss moved to another step).
func TestResumeAfterAMissingCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	spec, run := sweepFixture(t, dir)
	cell := filepath.Join(run, cell0)
	want := readAll[data.MetricRow](t, run, data.MetricsFile)
	// LogSpacedSteps(20, 6) = 0 1 2 3 6 11 20: delete step 3, keep 6, 11 and 20.
	if err := os.Remove(filepath.Join(cell, "checkpoints", "step-00000003.ckpt")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(cell, "done.json"))
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", filepath.Join(dir, "runs")); code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(cell, "checkpoints", "step-00000003.ckpt")); err != nil {
		t.Errorf("the missing checkpoint was not rewritten: %v", err)
	}
	got := readAll[data.MetricRow](t, run, data.MetricsFile)
	if len(got) != len(want) {
		t.Fatalf("%d metric rows after the rerun, %d before", len(got), len(want))
	}
	for i := range want {
		if !equalNaN(got[i], want[i]) { // Value is a pointer: compare what it points to
			t.Fatalf("row %d differs after the rerun:\n%+v\n%+v", i, got[i], want[i])
		}
	}
}

// TestTrainInterruptedSaysNothingSaved (issue 12, case 13): SIGTERM during `train` exits 130 and
// does not claim that work was saved (train keeps no checkpoints and cannot resume).
func TestTrainInterruptedSaysNothingSaved(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	c := cli("train", "--task", "addition", "--param", "digits=2", "--d-model", "16", "--n-heads", "2", "--n-layers", "1", "--steps", "1000000")
	var errb bytes.Buffer
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	c.Process.Signal(syscall.SIGTERM)
	c.Wait()
	msg := errb.String()
	if code := c.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, msg)
	}
	if strings.Contains(msg, "saved") && !strings.Contains(msg, "nothing was saved") || strings.Contains(msg, "rerun the same command to resume") {
		t.Errorf("train claims its work is saved:\n%s", msg)
	}
	if !strings.Contains(msg, "nothing was saved") {
		t.Errorf("train does not say that nothing was saved:\n%s", msg)
	}
}
