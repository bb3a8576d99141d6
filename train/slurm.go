package train

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
)

// Slurm planning: a sweep as a Slurm job array with one array task per ensemble group, each task
// running `phaseprobe sweep --cells <its cells>` with the planned ensemble size. Every cell writes
// only under its own folder, so the array's tables are the local sweep's.

// DefaultSlurmCPUs is slurm.cpus when neither the spec nor a flag sets it.
const DefaultSlurmCPUs = 2

// WithDefaults fills the resources a job script cannot leave open: the backend ("cpu") and the
// CPUs per task (DefaultSlurmCPUs).
func (r SlurmSpec) WithDefaults() SlurmSpec {
	if r.Backend == "" {
		r.Backend = "cpu"
	}
	if r.CPUs == 0 {
		r.CPUs = DefaultSlurmCPUs
	}
	return r
}

// Check rejects resources that would break, or smuggle lines into, the job script: spaces,
// quotes or line breaks in a value, a backend that is not a backend spec (ParseBackendSpec), and
// extra lines that are not single sbatch options.
func (r SlurmSpec) Check() error {
	for _, f := range []struct{ name, v string }{
		{"slurm.partition", r.Partition}, {"slurm.time", r.Time}, {"slurm.mem", r.Mem}, {"slurm.backend", r.Backend},
	} {
		if strings.ContainsAny(f.v, " \t\r\n'\"") {
			return fmt.Errorf("spec: %s: %q: must not contain spaces, quotes or line breaks", f.name, f.v)
		}
	}
	if _, err := ParseBackendSpec(r.Backend); err != nil {
		return fmt.Errorf("spec: slurm.backend: %w", err)
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

// PlanEnsemble picks the ensemble size of a planned sweep's array tasks: flagK when positive,
// else specK when positive, else the default of the backend (DefaultEnsemble). Every task is given
// it explicitly, so its ensemble is exactly the planned one. A device backend is not opened to ask
// its default (planning often runs on a login node without the device): it is an error instead.
func PlanEnsemble(flagK, specK int, backend string) (int, error) {
	if flagK > 0 {
		return flagK, nil
	}
	if specK > 0 {
		return specK, nil
	}
	bs, err := ParseBackendSpec(backend)
	if err != nil {
		return 0, err
	}
	if !bs.OnCPU() {
		return 0, fmt.Errorf("backend %q: set ensemble in the spec or --ensemble (8 suits a GPU)", backend)
	}
	b, err := NewBackend(backend)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	return DefaultEnsemble(b), nil
}

// CellIDs lists the IDs of the group's cells, in order.
func (g Group) CellIDs() []string {
	ids := make([]string, len(g.Cells))
	for i, c := range g.Cells {
		ids[i] = c.ID
	}
	return ids
}

// SlurmJob is a planned job array: one task per ensemble group.
type SlurmJob struct {
	Spec     Spec
	Groups   []Group
	Ensemble int       // seeds per array task's ensemble
	Res      SlurmSpec // resources, WithDefaults applied and Check passed
	Out      string    // absolute runs folder
	SweepDir string    // absolute Out/<sweep>
	Binary   string    // absolute phaseprobe binary the tasks run
}

// NewSlurmJob plans the job array of the groups with ensembles of k seeds. out is the runs folder
// and binary the phaseprobe executable the tasks run; both are made absolute (the tasks start in
// another folder). Every error is about the values given: a runs folder whose absolute path cannot
// go into an #SBATCH line (spaces, quotes, backslashes or '%'), or a binary that is missing or a
// folder.
func NewSlurmJob(spec Spec, groups []Group, k int, res SlurmSpec, out, binary string) (SlurmJob, error) {
	absOut, err := filepath.Abs(out)
	if err != nil {
		return SlurmJob{}, fmt.Errorf("runs folder %s: %w", out, err)
	}
	// The output path goes into an #SBATCH line, where Slurm splits on spaces and expands '%'.
	if strings.ContainsAny(absOut, " \t\r\n'\"%\\") {
		return SlurmJob{}, fmt.Errorf("--out %q: a Slurm output path must not contain spaces, quotes, backslashes or '%%'", absOut)
	}
	if binary, err = filepath.Abs(binary); err != nil {
		return SlurmJob{}, fmt.Errorf("--binary: %w", err)
	}
	if st, err := os.Stat(binary); err != nil {
		return SlurmJob{}, fmt.Errorf("--binary: %v", err)
	} else if st.IsDir() {
		return SlurmJob{}, fmt.Errorf("--binary %s: is a folder", binary)
	}
	return SlurmJob{Spec: spec, Groups: groups, Ensemble: k, Res: res, Out: absOut,
		SweepDir: SweepDir(absOut, spec), Binary: binary}, nil
}

// SlurmDir holds the script, the spec copy and the tasks' output files.
func (j SlurmJob) SlurmDir() string { return filepath.Join(j.SweepDir, "slurm") }

// Write prepares the run folder (so the array tasks find sweep.yaml and never race to create it),
// copies the spec file at specPath beside the script so the jobs do not depend on the original,
// and writes the script, executable. It returns the script's path.
func (j SlurmJob) Write(specPath string) (string, error) {
	if _, err := PrepareSweep(j.Spec, j.Out); err != nil {
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
	script := filepath.Join(dir, "sweep.sbatch")
	if err := data.WriteFileAtomic(script, []byte(j.script(specCopy, script))); err != nil {
		return "", err
	}
	if err := os.Chmod(script, 0o755); err != nil {
		return "", err
	}
	return script, nil
}

// script renders the job-array script: the #SBATCH header, then the array task's cells, then the
// sweep command.
func (j SlurmJob) script(specCopy, self string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	j.header(w, self)
	w("")
	w("set -euo pipefail")
	w("")
	w("# The cells of each ensemble, indexed by SLURM_ARRAY_TASK_ID.")
	w("cells=(")
	for i, g := range j.Groups {
		w("  %s # %d: %s", shellQuote(strings.Join(g.CellIDs(), ",")), i, g.Label())
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

// header writes the script's first lines: how to use it, then one #SBATCH line per resource set.
func (j SlurmJob) header(w func(format string, args ...any), self string) {
	n := 0
	for _, g := range j.Groups {
		n += len(g.Cells)
	}
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
}

// shellQuote quotes s for bash: in single quotes, each single quote closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
