package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/train"
)

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(stderr, "plan", "SPEC.yaml [--out DIR] [--ensemble K] [--backend B] [--jobs N] [--no-timing | --timing-steps N] [--slurm [--partition P] [--time T] [--cpus N] [--mem M] [--gpus N] [--binary PATH]]")
	out := fs.String("out", "runs", "runs folder: the sweep writes DIR/<spec name>/")
	ensemble := fs.Int("ensemble", 0, "seeds per ensemble (one graph, one array task); 0 = spec's ensemble, else the backend default")
	backend := fs.String("backend", "", "backend the jobs use: go, go:OPTIONS or xla:/abs/path/to/pjrt_plugin.so (default: spec's slurm.backend, else go)")
	slurm := fs.Bool("slurm", false, "write DIR/<spec name>/slurm/sweep.sbatch: a Slurm job array with one task per ensemble")
	partition := fs.String("partition", "", "Slurm partition (overrides slurm.partition)")
	timeLimit := fs.String("time", "", "Slurm time limit per task, e.g. 02:00:00 (overrides slurm.time)")
	cpus := fs.Int("cpus", 0, "CPUs per task, --cpus-per-task (overrides slurm.cpus; default 2)")
	mem := fs.String("mem", "", "memory per task, e.g. 4G (overrides slurm.mem)")
	gpus := fs.Int("gpus", 0, "GPUs per task, --gres=gpu:N (overrides slurm.gpus)")
	binary := fs.String("binary", "", "phaseprobe binary the jobs run (default: this one)")
	noTiming := fs.Bool("no-timing", false, "skip the time estimate (it trains a few steps of each ensemble shape on the backend)")
	timingSteps := fs.Int("timing-steps", 5, "training steps timed per ensemble shape for the time estimate (at least 2)")
	jobs := fs.Int("jobs", 1, "ensembles the sweep will train at once (bounds the disk held by checkpoints while it runs)")
	if err := parseFlags(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one spec file, got %d arguments", fs.NArg())
	}
	if *ensemble < 0 {
		return usagef("--ensemble %d: must be >= 0", *ensemble)
	}
	if *out == "" {
		return usagef("--out \"\": give a runs folder (e.g. --out runs)")
	}
	if *timingSteps < 2 {
		return usagef("--timing-steps %d: must be at least 2 (the first step compiles and is timed apart)", *timingSteps)
	}
	if *jobs < 1 {
		return usagef("--jobs %d: must be at least 1", *jobs)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !*slurm {
		for _, name := range []string{"partition", "time", "cpus", "mem", "gpus", "binary"} {
			if set[name] {
				return usagef("--%s applies to the job script: add --slurm", name)
			}
		}
	}
	specPath := fs.Arg(0)
	spec, err := train.LoadSpec(specPath)
	if err != nil {
		return usageError{err.Error()}
	}
	res := spec.Slurm
	if set["partition"] {
		res.Partition = *partition
	}
	if set["time"] {
		res.Time = *timeLimit
	}
	if set["cpus"] {
		if *cpus < 1 {
			return usagef("--cpus %d: must be at least 1", *cpus)
		}
		res.CPUs = *cpus
	}
	if set["mem"] {
		res.Mem = *mem
	}
	if set["gpus"] {
		if *gpus < 0 {
			return usagef("--gpus %d: must be >= 0", *gpus)
		}
		res.GPUs = *gpus
	}
	if set["backend"] {
		res.Backend = *backend
	}
	if res.Backend == "" {
		res.Backend = "cpu"
	}
	if res.CPUs == 0 {
		res.CPUs = 2
	}
	if err := checkSlurmResources(res); err != nil {
		return usageError{err.Error()}
	}
	k, err := planEnsemble(*ensemble, spec.Ensemble, res.Backend)
	if err != nil {
		return usageError{err.Error()}
	}
	cells, err := spec.Cells()
	if err != nil {
		return err
	}
	groups := train.Groups(cells, k)

	var job slurmJob
	if *slurm {
		if job, err = newSlurmJob(spec, groups, k, res, *out, *binary); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "# sweep %s: %d cells in %d ensembles of up to %d seeds, backend %s\n", spec.Name, len(cells), len(groups), k, res.Backend)
	for i, g := range groups {
		fmt.Fprintf(stdout, "%d\t%s\t%s\n", i, g.Label(), strings.Join(groupCellIDs(g), ","))
	}
	if err := printEstimates(ctx, stdout, spec, groups, k, *jobs, train.SweepDir(*out, spec), res.Backend, *noTiming, *timingSteps); err != nil {
		return err
	}
	if !*slurm {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	script, err := job.write(specPath)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, script)
	fmt.Fprintf(stderr, "next: sbatch %s\n", script)
	fmt.Fprintf(stderr, "      (to rerun some ensembles: sbatch --array=3,5 %s; finished cells are skipped)\n", script)
	fmt.Fprintf(stderr, "then: phaseprobe analyze %s   (merges the cells)\n", job.SweepDir)
	if len(groups) > 1000 {
		fmt.Fprintf(stderr, "note: %d array tasks; many clusters cap arrays at MaxArraySize (often 1001): raise --ensemble or split the spec\n", len(groups))
	}
	return nil
}

// planEnsemble picks the ensemble size the array tasks use: the flag, else the spec, else the
// backend's default. Every task is given it explicitly, so its ensemble is exactly the planned one.
func planEnsemble(flagK, specK int, backend string) (int, error) {
	if flagK > 0 {
		return flagK, nil
	}
	if specK > 0 {
		return specK, nil
	}
	name, _, _ := strings.Cut(backend, ":")
	if name != "" && name != "go" && name != "cpu" {
		// Opening a GPU backend here (often a login node without one) to ask its default would fail.
		return 0, fmt.Errorf("backend %q: set ensemble in the spec or --ensemble (8 suits a GPU)", backend)
	}
	b, err := train.NewBackend(backend)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	return train.DefaultEnsemble(b), nil
}

// checkSlurmResources rejects values that would break, or smuggle lines into, the job script.
func checkSlurmResources(r train.SlurmSpec) error {
	for _, f := range []struct{ name, v string }{
		{"slurm.partition", r.Partition}, {"slurm.time", r.Time}, {"slurm.mem", r.Mem}, {"slurm.backend", r.Backend},
	} {
		if strings.ContainsAny(f.v, " \t\r\n'\"") {
			return fmt.Errorf("spec: %s: %q: must not contain spaces, quotes or line breaks", f.name, f.v)
		}
	}
	name, cfg, _ := strings.Cut(r.Backend, ":")
	switch name {
	case "go", "cpu":
	case "xla":
		if !filepath.IsAbs(cfg) {
			return fmt.Errorf("spec: slurm.backend: %q: give the absolute path of a PJRT plugin, e.g. xla:/abs/path/to/xla_cuda_plugin.so", r.Backend)
		}
	default:
		return fmt.Errorf("spec: slurm.backend: %q: want cpu, cpu:OPTIONS, go, go:OPTIONS or xla:/abs/path/plugin.so", r.Backend)
	}
	for i, line := range r.Extra {
		if strings.ContainsAny(line, "\r\n") {
			return fmt.Errorf("spec: slurm.extra[%d]: %q: must be one line", i, line)
		}
		if !strings.HasPrefix(line, "--") {
			return fmt.Errorf("spec: slurm.extra[%d]: %q: want an sbatch option starting with \"--\", e.g. --account=lab", i, line)
		}
	}
	return nil
}

func groupCellIDs(g train.Group) []string {
	ids := make([]string, len(g.Cells))
	for i, c := range g.Cells {
		ids[i] = c.ID
	}
	return ids
}

// slurmJob is a planned job array: one task per ensemble group.
type slurmJob struct {
	Spec     train.Spec
	Groups   []train.Group
	Ensemble int
	Res      train.SlurmSpec
	Out      string // absolute runs folder
	SweepDir string // absolute Out/<sweep>
	Binary   string // absolute phaseprobe binary
}

// SlurmDir holds the script, the spec copy and the tasks' output files.
func (j slurmJob) SlurmDir() string { return filepath.Join(j.SweepDir, "slurm") }

func newSlurmJob(spec train.Spec, groups []train.Group, k int, res train.SlurmSpec, out, binary string) (slurmJob, error) {
	absOut, err := filepath.Abs(out)
	if err != nil {
		return slurmJob{}, fmt.Errorf("--out %s: %w", out, err)
	}
	// The output path goes into an #SBATCH line, where Slurm splits on spaces and expands '%'.
	if strings.ContainsAny(absOut, " \t\r\n'\"%\\") {
		return slurmJob{}, usagef("--out %q: a Slurm output path must not contain spaces, quotes, backslashes or '%%'", absOut)
	}
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return slurmJob{}, fmt.Errorf("find the phaseprobe binary (give --binary): %w", err)
		}
	}
	if binary, err = filepath.Abs(binary); err != nil {
		return slurmJob{}, fmt.Errorf("--binary: %w", err)
	}
	if st, err := os.Stat(binary); err != nil {
		return slurmJob{}, usagef("--binary: %v", err)
	} else if st.IsDir() {
		return slurmJob{}, usagef("--binary %s: is a folder", binary)
	}
	return slurmJob{Spec: spec, Groups: groups, Ensemble: k, Res: res, Out: absOut,
		SweepDir: train.SweepDir(absOut, spec), Binary: binary}, nil
}

// write prepares the run folder (so the array tasks find sweep.yaml and never race to create it),
// copies the spec beside the script so the jobs do not depend on the original, and writes the
// script. It returns the script's path.
func (j slurmJob) write(specPath string) (string, error) {
	if _, err := train.PrepareSweep(j.Spec, j.Out); err != nil {
		return "", err
	}
	dir := j.SlurmDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return "", fmt.Errorf("read spec: %w", err)
	}
	specCopy := filepath.Join(dir, "spec.yaml")
	if err := data.WriteFileAtomic(specCopy, raw); err != nil {
		return "", err
	}
	if err := os.Chmod(specCopy, 0o644); err != nil {
		return "", err
	}
	script := filepath.Join(dir, "sweep.sbatch")
	if err := data.WriteFileAtomic(script, []byte(j.script(specCopy, script))); err != nil {
		return "", err
	}
	if err := os.Chmod(script, 0o755); err != nil {
		return "", err
	}
	return script, nil
}

// script renders the job-array script: one array task per ensemble group, each running
// `phaseprobe sweep --cells <its cells>` with the planned ensemble size.
func (j slurmJob) script(specCopy, self string) string {
	var b strings.Builder
	n := 0
	for _, g := range j.Groups {
		n += len(g.Cells)
	}
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("#!/bin/bash")
	w("# Written by `phaseprobe plan --slurm` for sweep %s: %d cells in %d ensembles of up to %d seeds.", j.Spec.Name, n, len(j.Groups), j.Ensemble)
	w("#   submit:    sbatch %s", self)
	w("#   rerun some ensembles (finished cells are skipped): sbatch --array=3,5 %s", self)
	w("#   try one task here: SLURM_ARRAY_TASK_ID=0 bash %s", self)
	w("#   afterwards: phaseprobe analyze %s", j.SweepDir)
	w("#SBATCH --job-name=%s", j.Spec.Name)
	w("#SBATCH --array=0-%d", len(j.Groups)-1)
	w("#SBATCH --output=%s", filepath.Join(j.SlurmDir(), "%A_%a.out"))
	w("#SBATCH --cpus-per-task=%d", j.Res.CPUs)
	if j.Res.Partition != "" {
		w("#SBATCH --partition=%s", j.Res.Partition)
	}
	if j.Res.Time != "" {
		w("#SBATCH --time=%s", j.Res.Time)
	}
	if j.Res.Mem != "" {
		w("#SBATCH --mem=%s", j.Res.Mem)
	}
	if j.Res.GPUs > 0 {
		w("#SBATCH --gres=gpu:%d", j.Res.GPUs)
	}
	for _, line := range j.Res.Extra {
		w("#SBATCH %s", line)
	}
	w("")
	w("set -euo pipefail")
	w("")
	w("# The cells of each ensemble, indexed by SLURM_ARRAY_TASK_ID.")
	w("cells=(")
	for i, g := range j.Groups {
		w("  %s # %d: %s", shellQuote(strings.Join(groupCellIDs(g), ",")), i, g.Label())
	}
	w(")")
	w("task=${SLURM_ARRAY_TASK_ID:?not set: submit this script with sbatch}")
	w(`if [ "$task" -lt 0 ] || [ "$task" -ge "${#cells[@]}" ]; then`)
	w(`  echo "SLURM_ARRAY_TASK_ID=$task: this sweep has array tasks 0-%d" >&2`, len(j.Groups)-1)
	w("  exit 2")
	w("fi")
	w("# The pure-Go backend uses as many threads as GOMAXPROCS: keep them to the CPUs granted.")
	w(`if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then export GOMAXPROCS=$SLURM_CPUS_PER_TASK; fi`)
	w("")
	w(`exec %s sweep %s --out %s --cells "${cells[$task]}" --ensemble %d --backend %s`,
		shellQuote(j.Binary), shellQuote(specCopy), shellQuote(j.Out), j.Ensemble, shellQuote(j.Res.Backend))
	return b.String()
}

// shellQuote quotes s for bash: in single quotes, each single quote closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
