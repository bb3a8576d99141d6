package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// slurmSpec is the sweep the Slurm test runs: 4 cells, one array task each, 1 CPU per task so
// that two tasks run at once on 2 cores.
const slurmSpec = `
name: slurmtest
task: {name: addition, params: {digits: 2}}
model: {d_model: [8, 16], n_layers: [1], n_heads: [2]}
seeds: [0, 1]
train: {steps: 30, batch_size: 16, optimizer: {lr: 0.003}}
checkpoints: {count: 4}
probe: {examples: 32, capture_examples: 8}
ensemble: 1
slurm:
  partition: debug
  time: "00:05:00"
  cpus: 1
  mem: 256M
  extra: ["--comment=phaseprobe-slurm-test"]
`

// requireOrSkip skips the test, or fails it when PHASEPROBE_REQUIRE_SLURM=1 (as CI sets).
func requireOrSkip(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("PHASEPROBE_REQUIRE_SLURM") == "1" {
		t.Fatalf("PHASEPROBE_REQUIRE_SLURM=1 but %s", why)
	}
	t.Skip(why)
}

// compareRows reports the first row where two tables differ.
func compareRows[T any](t *testing.T, name string, want, got []T) {
	t.Helper()
	if len(want) == 0 {
		t.Errorf("%s: no rows", name)
	}
	if len(want) != len(got) {
		t.Errorf("%s: %d rows from the local sweep, %d from the Slurm array", name, len(want), len(got))
		return
	}
	for i := range want {
		if !reflect.DeepEqual(want[i], got[i]) {
			t.Errorf("%s differs between the local sweep and the Slurm array; first at row %d:\n%+v\n%+v", name, i, want[i], got[i])
			return
		}
	}
}

// TestSlurmJobArrayMatchesLocalSweep brings up a one-node Slurm cluster (scripts/slurm-local.sh),
// runs a 4-cell sweep as the job array `plan --slurm` writes, and checks that every array task
// succeeded and that every cell's tables equal those of the same sweep run locally, row for row.
// It needs root, slurm-wlm and munge; it skips without them unless PHASEPROBE_REQUIRE_SLURM=1.
func TestSlurmJobArrayMatchesLocalSweep(t *testing.T) {
	if testing.Short() && os.Getenv("PHASEPROBE_REQUIRE_SLURM") != "1" {
		t.Skip("starts a Slurm cluster and trains models")
	}
	if os.Geteuid() != 0 {
		requireOrSkip(t, "the local Slurm cluster needs root")
	}
	path := os.Getenv("PATH") + string(os.PathListSeparator) + "/usr/sbin" + string(os.PathListSeparator) + "/sbin"
	t.Setenv("PATH", path)
	for _, b := range []string{"munged", "slurmctld", "slurmd", "sbatch", "sinfo", "squeue", "scancel"} {
		if _, err := exec.LookPath(b); err != nil {
			requireOrSkip(t, fmt.Sprintf("%s not found (apt-get install slurm-wlm munge)", b))
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		requireOrSkip(t, "the go command is needed to build phaseprobe")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()

	// The cluster lives in a short path: the MUNGE socket's path must fit in 108 bytes.
	cluster, err := os.MkdirTemp("", "pp-slurm-")
	if err != nil {
		t.Fatal(err)
	}
	ctl := filepath.Join(root, "scripts", "slurm-local.sh")
	conf := filepath.Join(cluster, "slurm.conf")
	t.Cleanup(func() {
		if out, err := exec.Command(ctl, "stop", cluster).CombinedOutput(); err != nil {
			t.Errorf("slurm-local.sh stop: %v\n%s", err, out)
		}
		if t.Failed() {
			for _, name := range []string{"slurmctld.log", "slurmd.log", "munged.log"} {
				if b, err := os.ReadFile(filepath.Join(cluster, "log", name)); err == nil {
					t.Logf("--- %s (tail)\n%s", name, tail(string(b), 3000))
				}
			}
		}
		os.RemoveAll(cluster)
	})
	startCtx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(startCtx, ctl, "start", cluster).CombinedOutput(); err != nil {
		t.Fatalf("slurm-local.sh start: %v\n%s", err, out)
	}
	t.Logf("cluster up in %v", time.Since(start).Round(time.Millisecond))

	dir := t.TempDir()
	bin := filepath.Join(dir, "phaseprobe")
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/phaseprobe")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built phaseprobe at %v", time.Since(start).Round(time.Millisecond))

	spec := writeFile(t, filepath.Join(dir, "slurmtest.yaml"), slurmSpec)
	slurmRuns, localRuns := filepath.Join(dir, "slurm-runs"), filepath.Join(dir, "local-runs")
	env := append(os.Environ(), "SLURM_CONF="+conf, "GOMLX_NO_AUTO_INSTALL=1")

	// plan --slurm, run by the built binary so that the script names it through os.Executable.
	plan := exec.Command(bin, "plan", spec, "--slurm", "--out", slurmRuns)
	plan.Env = env
	var planErr bytes.Buffer
	plan.Stderr = &planErr
	planOut, err := plan.Output()
	if err != nil {
		t.Fatalf("phaseprobe plan --slurm: %v\n%s", err, planErr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(planOut)), "\n")
	script := lines[len(lines)-1]
	raw, err := os.ReadFile(script)
	if err != nil {
		t.Fatalf("plan printed %q, not the script: %v\n%s", script, err, planOut)
	}
	if !strings.Contains(string(raw), "#SBATCH --array=0-3\n") || !strings.Contains(string(raw), "'"+bin+"' sweep ") {
		t.Fatalf("script lacks the 4-task array or the built binary:\n%s", raw)
	}

	ctx, cancelJob := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelJob()
	sbatch := exec.CommandContext(ctx, "sbatch", "--wait", script)
	sbatch.Env = env
	out, err := sbatch.CombinedOutput()
	slurmDir := filepath.Dir(script)
	logs, _ := filepath.Glob(filepath.Join(slurmDir, "*_*.out"))
	slices.Sort(logs)
	if err != nil {
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("--- %s\n%s", filepath.Base(l), tail(string(b), 2000))
		}
		t.Fatalf("sbatch --wait: %v (an array task failed or timed out)\n%s", err, out)
	}
	t.Logf("job array finished at %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(out)))

	// One output file per array task, each with the line `sweep` prints on success: the sweep folder.
	sweepDir := filepath.Join(slurmRuns, "slurmtest")
	var tasks []string
	for _, l := range logs {
		name := strings.TrimSuffix(filepath.Base(l), ".out")
		_, task, _ := strings.Cut(name, "_")
		tasks = append(tasks, task)
		b, _ := os.ReadFile(l)
		if !slices.Contains(strings.Split(string(b), "\n"), sweepDir) {
			t.Errorf("array task %s did not finish its sweep; %s:\n%s", task, l, tail(string(b), 2000))
		}
	}
	if want := []string{"0", "1", "2", "3"}; !slices.Equal(tasks, want) {
		t.Errorf("array task output files for tasks %v, want %v", tasks, want)
	}
	cells, err := data.CellDirs(sweepDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if _, err := os.Stat(filepath.Join(c, "done.json")); err != nil {
			t.Errorf("cell %s is not finished: %v", filepath.Base(c), err)
		}
	}
	if len(cells) != 4 {
		t.Fatalf("%d cells in %s, want 4", len(cells), sweepDir)
	}

	local := exec.Command(bin, "sweep", spec, "--out", localRuns)
	local.Env = env
	if out, err := local.CombinedOutput(); err != nil {
		t.Fatalf("local sweep: %v\n%s", err, tail(string(out), 2000))
	}
	t.Logf("local sweep finished at %v", time.Since(start).Round(time.Millisecond))

	a := filepath.Join(localRuns, "slurmtest")
	compareRows(t, data.MetricsFile, readAll[data.MetricRow](t, a, data.MetricsFile), readAll[data.MetricRow](t, sweepDir, data.MetricsFile))
	compareRows(t, data.ActivationsFile, readAll[data.ActivationRow](t, a, data.ActivationsFile), readAll[data.ActivationRow](t, sweepDir, data.ActivationsFile))
	compareRows(t, data.AttentionFile, readAll[data.AttentionRow](t, a, data.AttentionFile), readAll[data.AttentionRow](t, sweepDir, data.AttentionFile))
	compareRows(t, data.OutputsFile, readAll[data.OutputRow](t, a, data.OutputsFile), readAll[data.OutputRow](t, sweepDir, data.OutputsFile))
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
