package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// planSpec has 4 cells (d_model 8 and 16 × seeds 0 and 1) and a full slurm block.
const planSpec = `
name: tiny
task: {name: addition, params: {digits: 2}}
model: {d_model: [8, 16], n_layers: [1], n_heads: [2]}
seeds: [0, 1]
train: {steps: 30, batch_size: 16}
checkpoints: {count: 4}
probe: {examples: 24, capture_examples: 8}
ensemble: 2
slurm:
  partition: debug
  time: "00:10:00"
  cpus: 3
  mem: 2G
  gpus: 1
  extra: ["--account=lab", "--constraint=a100|h100"]
`

// fakeBinary writes a stand-in for phaseprobe that prints its arguments one per line, so running
// the job script shows exactly what an array task would execute.
func fakeBinary(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "fake-phaseprobe")
	if err := os.WriteFile(path, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\"\necho \"GOMAXPROCS=$GOMAXPROCS\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// sbatchLines returns the #SBATCH lines of a script, without the prefix.
func sbatchLines(script string) []string {
	var out []string
	for _, l := range strings.Split(script, "\n") {
		if v, ok := strings.CutPrefix(l, "#SBATCH "); ok {
			out = append(out, v)
		}
	}
	return out
}

// runArrayTask runs the job script as array task id would, with the fake binary, and returns the
// exit code and output.
func runArrayTask(t *testing.T, script, id string) (int, string) {
	t.Helper()
	c := exec.Command("bash", script)
	c.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID="+id, "SLURM_CPUS_PER_TASK=3")
	out, err := c.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func TestPlanListsEnsembles(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "tiny.yaml"), planSpec)
	out := filepath.Join(dir, "runs")
	code, stdout, stderr := runCLI(t, "plan", spec, "--out", out, "--no-timing")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "# sweep tiny: 4 cells in 2 ensembles of up to 2 seeds, backend cpu\n" +
		"0\td8-L1-H2 s0,1\taddition-d8-L1-H2-s0,addition-d8-L1-H2-s1\n" +
		"1\td16-L1-H2 s0,1\taddition-d16-L1-H2-s0,addition-d16-L1-H2-s1\n" +
		"# estimated disk"
	if !strings.HasPrefix(stdout, want) || strings.Contains(stdout, "estimated time") {
		t.Errorf("stdout:\n%s\nwant it to start with:\n%s\nand no time estimate (--no-timing)", stdout, want)
	}
	// Every line after the ensembles is a comment, so the ensemble lines stay easy to parse.
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n")[3:] {
		if !strings.HasPrefix(line, "#") {
			t.Errorf("estimate line %q does not start with #", line)
		}
	}
	// What the grid can reach: 5 checkpoints are too few for the curve test, and 2 widths for scale.
	for _, want := range []string{
		"#   addition L1 H2 (d_model × seeds: 8×2, 16×2)\n",
		"#     coupling     no  5 checkpoints: the curve test needs 8, so no cell can have the capability jump\n",
		"#     lead_lag     no  5 checkpoints: the curve test needs 8",
		"#     scale        no  not assessed: 2 widths (need 5)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a dry run created %s (stat: %v)", out, err)
	}
	// --ensemble 1: one ensemble per cell.
	code, stdout, stderr = runCLI(t, "plan", "--ensemble", "1", spec, "--no-timing")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := strings.Count(stdout, "\n") - strings.Count(stdout, "\n#"); n != 5 || !strings.Contains(stdout, "3\td16-L1-H2 s1\taddition-d16-L1-H2-s1\n") {
		t.Errorf("--ensemble 1: want 4 single-cell ensembles, got:\n%s", stdout)
	}
}

func TestPlanSlurmScript(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "tiny.yaml"), planSpec)
	out := filepath.Join(dir, "runs")
	bin := fakeBinary(t, dir)
	code, stdout, stderr := runCLI(t, "plan", spec, "--slurm", "--out", out, "--binary", bin)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	slurmDir := filepath.Join(out, "tiny", "slurm")
	scriptPath := filepath.Join(slurmDir, "sweep.sbatch")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if last := lines[len(lines)-1]; last != scriptPath {
		t.Errorf("last stdout line %q, want the script's path %q", last, scriptPath)
	}
	for _, want := range []string{"sbatch " + scriptPath, "--array=3,5", "phaseprobe analyze " + filepath.Join(out, "tiny")} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	raw, err := os.ReadFile(scriptPath)
	if err != nil {
		t.Fatal(err)
	}
	script := string(raw)
	wantSbatch := []string{
		"--job-name=tiny",
		"--array=0-1",
		"--output=" + filepath.Join(slurmDir, "%A_%a.out"),
		"--cpus-per-task=3",
		"--partition=debug",
		"--time=00:10:00",
		"--mem=2G",
		"--gres=gpu:1",
		"--account=lab",
		"--constraint=a100|h100",
	}
	if got := sbatchLines(script); strings.Join(got, "\n") != strings.Join(wantSbatch, "\n") {
		t.Errorf("#SBATCH lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantSbatch, "\n"))
	}
	// The run folder exists before any job starts, and the jobs read a copy of the spec.
	if _, err := os.Stat(filepath.Join(out, "tiny", "sweep.yaml")); err != nil {
		t.Errorf("plan --slurm did not prepare the run folder: %v", err)
	}
	specCopy := filepath.Join(slurmDir, "spec.yaml")
	if got, err := os.ReadFile(specCopy); err != nil || string(got) != planSpec {
		t.Errorf("spec copy %s: %q (%v), want the spec file's bytes", specCopy, got, err)
	}

	// Each array task runs exactly its ensemble's cells.
	for id, cells := range []string{
		"addition-d8-L1-H2-s0,addition-d8-L1-H2-s1",
		"addition-d16-L1-H2-s0,addition-d16-L1-H2-s1",
	} {
		code, got := runArrayTask(t, scriptPath, string(rune('0'+id)))
		want := strings.Join([]string{"sweep", specCopy, "--out", out, "--cells", cells, "--ensemble", "2", "--backend", "cpu", "GOMAXPROCS=3"}, "\n") + "\n"
		if code != 0 || got != want {
			t.Errorf("array task %d: exit %d, ran:\n%s\nwant:\n%s", id, code, got, want)
		}
	}
	if code, got := runArrayTask(t, scriptPath, "2"); code != 2 || !strings.Contains(got, "0-1") {
		t.Errorf("array task 2 of 2: exit %d (%q), want exit 2 naming the range", code, got)
	}

	// Planning again is idempotent: same script, same run folder.
	if code, _, stderr := runCLI(t, "plan", spec, "--slurm", "--out", out, "--binary", bin); code != 0 {
		t.Fatalf("second plan: exit %d: %s", code, stderr)
	}
	if again, _ := os.ReadFile(scriptPath); !bytes.Equal(again, raw) {
		t.Errorf("second plan changed the script")
	}
}

func TestPlanSlurmFlagOverrides(t *testing.T) {
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "tiny.yaml"), planSpec)
	out := filepath.Join(dir, "runs")
	bin := fakeBinary(t, dir)
	code, _, stderr := runCLI(t, "plan", spec, "--slurm", "--out", out, "--binary", bin, "--ensemble", "1",
		"--partition", "gpu", "--time", "1-00:00:00", "--cpus", "8", "--mem", "16G", "--gpus", "2",
		"--backend", "xla:/opt/pjrt/xla_cuda_plugin.so")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	scriptPath := filepath.Join(out, "tiny", "slurm", "sweep.sbatch")
	raw, err := os.ReadFile(scriptPath)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(sbatchLines(string(raw)), "\n")
	for _, want := range []string{"--array=0-3", "--cpus-per-task=8", "--partition=gpu", "--time=1-00:00:00", "--mem=16G", "--gres=gpu:2", "--account=lab"} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("#SBATCH lines lack %q:\n%s", want, got)
		}
	}
	code, ran := runArrayTask(t, scriptPath, "3")
	if code != 0 || !strings.Contains(ran, "--cells\naddition-d16-L1-H2-s1\n--ensemble\n1\n--backend\nxla:/opt/pjrt/xla_cuda_plugin.so\n") {
		t.Errorf("array task 3: exit %d, ran:\n%s", code, ran)
	}
	// Without gpus and with defaults: no --gres line, 2 CPUs.
	bare := writeFile(t, filepath.Join(dir, "bare.yaml"), "name: bare\ntask: {name: addition}\ntrain: {steps: 5}\n")
	if code, _, stderr := runCLI(t, "plan", bare, "--slurm", "--out", out, "--binary", bin); code != 0 {
		t.Fatalf("bare spec: exit %d: %s", code, stderr)
	}
	raw, err = os.ReadFile(filepath.Join(out, "bare", "slurm", "sweep.sbatch"))
	if err != nil {
		t.Fatal(err)
	}
	want := "--job-name=bare\n--array=0-0\n--output=" + filepath.Join(out, "bare", "slurm", "%A_%a.out") + "\n--cpus-per-task=2"
	if got := strings.Join(sbatchLines(string(raw)), "\n"); got != want {
		t.Errorf("bare spec #SBATCH lines:\n%s\nwant:\n%s", got, want)
	}
}

// TestPlanRejects: bad specs, bad #SBATCH lines and bad flags exit 2 with a message naming the
// offending value, and write nothing.
func TestPlanRejects(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.yaml"), planSpec)
	withSlurm := func(name, block string) string {
		return writeFile(t, filepath.Join(dir, name), "name: x\ntask: {name: addition}\ntrain: {steps: 5}\nslurm:\n"+block)
	}
	out := filepath.Join(dir, "runs")
	bin := fakeBinary(t, dir)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{writeFile(t, filepath.Join(dir, "bad.yaml"), "task: {name: addition}\ntrain: {steps: 5, epochs: 2}\n")}, "epochs"},
		{[]string{writeFile(t, filepath.Join(dir, "heads.yaml"), "task: {name: addition}\nmodel: {d_model: [30], n_heads: [4]}\ntrain: {steps: 5}\n")}, "d_model = 30"},
		{[]string{withSlurm("noflag.yaml", "  extra: [\"account=lab\"]\n"), "--slurm"}, `"account=lab"`},
		{[]string{withSlurm("directive.yaml", "  extra: [\"#SBATCH --account=lab\"]\n"), "--slurm"}, `"#SBATCH --account=lab"`},
		{[]string{withSlurm("newline.yaml", "  extra: [\"--account=lab\\n#SBATCH --qos=high\"]\n"), "--slurm"}, `"--account=lab\n#SBATCH --qos=high"`},
		{[]string{withSlurm("space.yaml", "  partition: \"gpu debug\"\n"), "--slurm"}, `"gpu debug"`},
		{[]string{withSlurm("backend.yaml", "  backend: cuda\n"), "--slurm"}, `"cuda"`},
		{[]string{good, "--slurm", "--backend", "xla:plugin.so"}, "absolute path"},
		{[]string{withSlurm("xla.yaml", "  backend: xla:/opt/p.so\n"), "--slurm"}, "set ensemble"},
		{[]string{good, "--partition", "gpu"}, "--slurm"},
		{[]string{good, "--slurm", "--cpus", "0"}, "--cpus 0"},
		{[]string{good, "--slurm", "--gpus", "-1"}, "--gpus -1"},
		{[]string{good, "--slurm", "--ensemble", "-2"}, "--ensemble -2"},
		{[]string{good, "--slurm", "--time", "1:00:00\n#SBATCH --qos=x"}, "line breaks"},
		{[]string{good, "--slurm", "--binary", filepath.Join(dir, "no-such-binary")}, "no-such-binary"},
		{[]string{good, good}, "2 arguments"},
		// A batch no machine holds: refused as sweep refuses it, before any timing allocates it.
		{[]string{writeFile(t, filepath.Join(dir, "huge.yaml"), strings.Replace(planSpec, "batch_size: 16", "batch_size: 1000000000", 1))}, "not enough memory"},
	}
	for _, c := range cases {
		args := append([]string{"plan", "--out", out}, c.args...)
		if joined := strings.Join(c.args, " "); strings.Contains(joined, "--slurm") && !strings.Contains(joined, "--binary") {
			args = append(args, "--binary", bin)
		}
		code, _, stderr := runCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("phaseprobe %q: exit %d, stderr %q; want exit 2 and %q", args, code, stderr, c.want)
		}
	}
	// --out with a space cannot go into #SBATCH --output.
	spaced := filepath.Join(dir, "my runs")
	if code, _, stderr := runCLI(t, "plan", good, "--slurm", "--out", spaced, "--binary", bin); code != 2 || !strings.Contains(stderr, "my runs") {
		t.Errorf("--out with a space: exit %d, stderr %q; want exit 2 naming it", code, stderr)
	}
	for _, p := range []string{out, spaced} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("a rejected plan created %s (stat: %v)", p, err)
		}
	}
}
