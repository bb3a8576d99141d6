package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/phaseprobe/phaseprobe/analysis"
	"github.com/phaseprobe/phaseprobe/train"
)

// planFlags are plan's flags; set holds the names given on the command line.
type planFlags struct {
	out, backend, partition, timeLimit, mem, binary string
	ensemble, cpus, gpus, timingSteps, jobs         int
	slurm, noTiming                                 bool
	set                                             map[string]bool
}

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer, _ *slog.Logger) error {
	f, specPath, err := parsePlanFlags(stderr, args)
	if err != nil {
		return err
	}
	spec, err := train.LoadSpec(specPath)
	if err != nil {
		return usageError{err.Error()}
	}
	res := f.resources(spec.Slurm).WithDefaults()
	if err := res.Check(); err != nil {
		return usageError{err.Error()}
	}
	k, err := train.PlanEnsemble(f.ensemble, spec.Ensemble, res.Backend)
	if err != nil {
		return usageError{err.Error()}
	}
	cells, err := spec.Cells()
	if err != nil {
		return err
	}
	groups := train.Groups(cells, k)
	var job train.SlurmJob
	if f.slurm {
		binary := f.binary
		if binary == "" {
			if binary, err = os.Executable(); err != nil {
				return fmt.Errorf("find the phaseprobe binary (give --binary): %w", err)
			}
		}
		if job, err = train.NewSlurmJob(spec, groups, k, res, f.out, binary); err != nil {
			return usageError{err.Error()}
		}
	}
	fmt.Fprintf(stdout, "# sweep %s: %d cells in %d ensembles of up to %d seeds, backend %s\n", spec.Name, len(cells), len(groups), k, res.Backend)
	for i, g := range groups {
		fmt.Fprintf(stdout, "%d\t%s\t%s\n", i, g.Label(), strings.Join(g.CellIDs(), ","))
	}
	// A sweep this machine cannot hold is refused as sweep would refuse it, before anything is
	// timed; a Slurm job may run on larger nodes, so there it is a note and the timing is skipped.
	need, what := train.SweepMemory(spec, groups, f.jobs)
	noTiming := f.noTiming
	if err := train.CheckMemory(what, need, train.MachineMemory()); err != nil {
		if !f.slurm {
			return usageError{err.Error()}
		}
		mem := "the job's memory"
		if res.Mem != "" {
			mem = "the job's --mem " + res.Mem
		}
		fmt.Fprintf(stdout, "# memory: %v; not timed here (%s must hold it)\n", err, mem)
		noTiming = true
	}
	if err := printEstimates(ctx, stdout, spec, groups, k, f.jobs, train.SweepDir(f.out, spec), res.Backend, noTiming, f.timingSteps); err != nil {
		return err
	}
	printReach(stdout, spec, cells)
	if !f.slurm {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	script, err := job.Write(specPath)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, script)
	printSlurmNext(stderr, script, job)
	return nil
}

// parsePlanFlags parses and checks plan's flags and returns them with the spec file's path.
func parsePlanFlags(stderr io.Writer, args []string) (planFlags, string, error) {
	fs := newFlagSet(stderr, "plan", "SPEC.yaml [--out DIR] [--ensemble K] [--backend B] [--jobs N] [--no-timing | --timing-steps N] [--slurm [--partition P] [--time T] [--cpus N] [--mem M] [--gpus N] [--binary PATH]]")
	var f planFlags
	fs.StringVar(&f.out, "out", "runs", "runs folder: the sweep writes DIR/<spec name>/")
	fs.IntVar(&f.ensemble, "ensemble", 0, "seeds per ensemble (one graph, one array task); 0 = spec's ensemble, else the backend default")
	fs.StringVar(&f.backend, "backend", "", "backend the jobs use: cpu, cpu:OPTIONS, go, go:OPTIONS or xla:/abs/path/to/pjrt_plugin.so (default: spec's slurm.backend, else cpu)")
	fs.BoolVar(&f.slurm, "slurm", false, "write DIR/<spec name>/slurm/sweep.sbatch: a Slurm job array with one task per ensemble")
	fs.StringVar(&f.partition, "partition", "", "Slurm partition (overrides slurm.partition)")
	fs.StringVar(&f.timeLimit, "time", "", "Slurm time limit per task, e.g. 02:00:00 (overrides slurm.time)")
	fs.IntVar(&f.cpus, "cpus", 0, fmt.Sprintf("CPUs per task, --cpus-per-task (overrides slurm.cpus; default %d)", train.DefaultSlurmCPUs))
	fs.StringVar(&f.mem, "mem", "", "memory per task, e.g. 4G (overrides slurm.mem)")
	fs.IntVar(&f.gpus, "gpus", 0, "GPUs per task, --gres=gpu:N (overrides slurm.gpus)")
	fs.StringVar(&f.binary, "binary", "", "phaseprobe binary the jobs run (default: this one)")
	fs.BoolVar(&f.noTiming, "no-timing", false, "skip the time estimate (it trains a few steps of each ensemble shape on the backend)")
	fs.IntVar(&f.timingSteps, "timing-steps", 5, "training steps timed per ensemble shape for the time estimate (at least 2)")
	fs.IntVar(&f.jobs, "jobs", 1, "ensembles the sweep will train at once (bounds the disk held by checkpoints while it runs)")
	if err := parseFlags(fs, reorder(fs, args)); err != nil {
		return f, "", err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	switch {
	case fs.NArg() != 1:
		return f, "", usagef("want exactly one spec file, got %d arguments", fs.NArg())
	case f.ensemble < 0:
		return f, "", usagef("--ensemble %d: must be >= 0", f.ensemble)
	case f.out == "":
		return f, "", usagef("--out \"\": give a runs folder (e.g. --out runs)")
	case f.timingSteps < 2:
		return f, "", usagef("--timing-steps %d: must be at least 2 (the first step compiles and is timed apart)", f.timingSteps)
	case f.jobs < 1:
		return f, "", usagef("--jobs %d: must be at least 1", f.jobs)
	}
	if !f.slurm {
		for _, name := range []string{"partition", "time", "cpus", "mem", "gpus", "binary"} {
			if f.set[name] {
				return f, "", usagef("--%s applies to the job script: add --slurm", name)
			}
		}
	}
	if f.set["cpus"] && f.cpus < 1 {
		return f, "", usagef("--cpus %d: must be at least 1", f.cpus)
	}
	if f.set["gpus"] && f.gpus < 0 {
		return f, "", usagef("--gpus %d: must be >= 0", f.gpus)
	}
	return f, fs.Arg(0), nil
}

// resources is the spec's Slurm resources with the flags given on the command line applied.
func (f planFlags) resources(res train.SlurmSpec) train.SlurmSpec {
	if f.set["partition"] {
		res.Partition = f.partition
	}
	if f.set["time"] {
		res.Time = f.timeLimit
	}
	if f.set["cpus"] {
		res.CPUs = f.cpus
	}
	if f.set["mem"] {
		res.Mem = f.mem
	}
	if f.set["gpus"] {
		res.GPUs = f.gpus
	}
	if f.set["backend"] {
		res.Backend = f.backend
	}
	return res
}

// printSlurmNext tells the user how to submit the written script and what comes after.
func printSlurmNext(stderr io.Writer, script string, job train.SlurmJob) {
	fmt.Fprintf(stderr, "next: sbatch %s\n", script)
	fmt.Fprintf(stderr, "      (to rerun some ensembles: sbatch --array=3,5 %s; finished cells are skipped)\n", script)
	fmt.Fprintf(stderr, "then: phaseprobe analyze %s   (merges the cells)\n", job.SweepDir)
	if len(job.Groups) > 1000 {
		fmt.Fprintf(stderr, "note: %d array tasks; many clusters cap arrays at MaxArraySize (often 1001): raise --ensemble or split the spec\n", len(job.Groups))
	}
}

// printReach prints, per family of widths, which verdicts the grid can reach at analyze's default
// levels (analysis.Decisions.DesignReach): before a sweep is trained, the seeds and widths a claim
// needs.
func printReach(w io.Writer, spec train.Spec, cells []train.Cell) {
	type key struct {
		task            string
		nLayers, nHeads int
	}
	seeds := map[key]map[int]int{}
	var order []key
	for _, c := range cells {
		k := key{c.Task, c.Model.NLayers, c.Model.NHeads}
		if seeds[k] == nil {
			seeds[k] = map[int]int{}
			order = append(order, k)
		}
		seeds[k][c.Model.DModel]++
	}
	d := analysis.DefaultDecisions()
	fmt.Fprintf(w, "# verdicts the grid can reach (docs/inference.md; analyze's default levels, as if every cell learned and jumped: a yes is necessary, not sufficient):\n")
	if sp := analysis.CheckpointSpacing(spec.Checkpoints.Steps); !math.IsNaN(sp) {
		fmt.Fprintf(w, "#   checkpoints %.2g decades apart (median): a jump narrower than that is resolved only near a checkpoint (phaseprobe zoom adds checkpoints inside it)\n", sp)
	}
	for _, k := range order {
		f := analysis.DesignFamily{Task: k.task, NLayers: k.nLayers, NHeads: k.nHeads, Checkpoints: len(spec.Checkpoints.Steps)}
		for wd := range seeds[k] {
			f.Widths = append(f.Widths, wd)
		}
		slices.Sort(f.Widths)
		var counts []string
		for _, wd := range f.Widths {
			f.Seeds = append(f.Seeds, seeds[k][wd])
			counts = append(counts, fmt.Sprintf("%d×%d", wd, seeds[k][wd]))
		}
		fmt.Fprintf(w, "#   %s L%d H%d (d_model × seeds: %s)\n", k.task, k.nLayers, k.nHeads, strings.Join(counts, ", "))
		for _, r := range d.DesignReach(f) {
			mark := "?  "
			if r.Known {
				mark = map[bool]string{true: "yes", false: "no "}[r.OK]
			}
			fmt.Fprintf(w, "#     %-12s %s %s\n", r.Question, mark, r.Text)
		}
	}
}
