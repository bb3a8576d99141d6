package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/phaseprobe/phaseprobe/train"
)

// printEstimates prints plan's estimates as '#' lines after the ensemble lines: the state of the
// run folder if it exists, the disk per table and in total, and (unless noTiming) the time of
// each ensemble measured by training timingSteps steps of its shape on the backend.
func printEstimates(ctx context.Context, w io.Writer, spec train.Spec, groups []train.Group, k, jobs int, sweepDir, backend string, noTiming bool, timingSteps int) error {
	if _, err := os.Stat(sweepDir); err == nil {
		if st, err := readSweepStatus(sweepDir); err == nil {
			var counts []string
			for _, s := range cellStates {
				if n := st.States[s]; n > 0 {
					counts = append(counts, fmt.Sprintf("%d %s", n, s))
				}
			}
			fmt.Fprintf(w, "# run folder %s exists: %s (phaseprobe status %s for each cell)\n", sweepDir, strings.Join(counts, ", "), sweepDir)
		}
	}
	est, err := train.EstimateDisk(spec, jobs, k)
	if err != nil {
		return err
	}
	keep := spec.Checkpoints.Keep
	if keep == "" {
		keep = "all"
	}
	fmt.Fprintf(w, "# estimated disk (an estimate: table schemas × the spec's examples, positions, sites and %d checkpoints, with compression factors measured on phaseprobe's tables):\n", len(spec.Checkpoints.Steps))
	for _, t := range est.Tables {
		fmt.Fprintf(w, "#   %-20s %10s  (%d rows)\n", t.File, humanBytes(t.Bytes), t.Rows)
	}
	ck := fmt.Sprintf("#   %-20s %10s  (checkpoints.keep: %s", "checkpoints", humanBytes(est.Checkpoints), keep)
	if est.CheckpointsPeak > est.Checkpoints {
		ck += fmt.Sprintf("; up to %s while the ensembles of --jobs %d train", humanBytes(est.CheckpointsPeak), jobs)
	}
	fmt.Fprintln(w, ck+")")
	fmt.Fprintf(w, "#   %-20s %10s  (%d cells; analysis/ and report/ come on top)\n", "total", humanBytes(est.Total), est.Cells)
	if noTiming {
		return nil
	}
	b, err := train.NewBackend(backend)
	if err != nil {
		fmt.Fprintf(w, "# time: not measured: backend %s cannot be opened here (%v); plan on a machine with it, or pass --no-timing\n", backend, err)
		return nil
	}
	defer b.Close()
	fmt.Fprintf(w, "# estimated time per ensemble on backend %s (an estimate: %d training steps of each shape timed here, on this machine's load, and one checkpoint's evaluation; Parquet writing not included):\n", b, timingSteps)
	type key struct {
		m train.Config
		n int
	}
	timed := map[key]train.EnsembleTiming{}
	var total time.Duration
	for i, g := range groups {
		kk := key{g.Model, len(g.Cells)}
		et, ok := timed[kk]
		if !ok {
			if et, err = train.TimeEnsemble(ctx, b, spec, g, timingSteps); err != nil {
				return fmt.Errorf("time ensemble %s: %w", g.Label(), err)
			}
			timed[kk] = et
		}
		d := et.Estimate(spec, len(g.Cells))
		total += d
		fmt.Fprintf(w, "#   %d %-24s ~%s  (first step %s, then %s a step × %d, evaluation %s × %d cells × %d checkpoints)\n", i, g.Label(), d.Round(time.Second),
			et.First.Round(time.Millisecond), et.Step.Round(10*time.Microsecond), max(spec.Train.Steps-1, 0), et.Eval.Round(10*time.Microsecond), len(g.Cells), len(spec.Checkpoints.Steps))
	}
	wall := total / time.Duration(min(max(jobs, 1), len(groups)))
	fmt.Fprintf(w, "#   total ~%s of ensemble time; ~%s with --jobs %d if the ensembles do not compete for cores\n", total.Round(time.Second), wall.Round(time.Second), jobs)
	return nil
}
