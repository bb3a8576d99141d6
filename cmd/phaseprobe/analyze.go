package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/phaseprobe/phaseprobe/analysis"
	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/train"
)

func runAnalyze(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := newFlagSet(stderr, "analyze", "RUN_DIR [flags]   (RUN_DIR is runs/<sweep>)")
	jobs := fs.Int("jobs", 1, "cells analysed at once")
	folds := fs.Int("probe-folds", 3, "k of the probes' k-fold cross-validation")
	c := fs.Float64("probe-c", 1, "logistic probes' inverse L2 penalty (sklearn's C)")
	seed := fs.Uint64("seed", 0, "seed of the probe folds, control tasks and bootstrap")
	sites := fs.String("sites", "", "comma-separated activation sites to analyse (default all captured)")
	if err := parseFlags(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one run folder (runs/<sweep>), got %d arguments", fs.NArg())
	}
	dir := fs.Arg(0)
	if st, err := os.Stat(filepath.Join(dir, data.CellsDir)); err != nil || !st.IsDir() {
		return usagef("%s is not a run folder: it has no cells/ (give runs/<sweep>)", dir)
	}
	if *jobs < 1 || *folds < 2 || !(*c > 0) || math.IsInf(*c, 0) {
		return usagef("--jobs must be >= 1, --probe-folds >= 2 and --probe-c a finite number > 0 (got --probe-c %g)", *c)
	}
	var siteList []string
	if *sites != "" {
		siteList = strings.Split(*sites, ",")
		for _, s := range siteList {
			if strings.TrimSpace(s) == "" {
				return usagef("--sites %q: an empty site name; give comma-separated names such as blocks.0.hook_resid_post", *sites)
			}
		}
	}
	if err := checkAnalysisMemory(dir, *jobs); err != nil {
		return err
	}
	// analyze writes into every cell and analysis/: it is the run folder's only writer meanwhile.
	lock, err := data.LockDir(dir, true, "analyze")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	inputs, err := analysisInputs(dir)
	if err != nil {
		return err
	}
	prog := progressOf(stderr)
	sum, err := analysis.Analyze(ctx, dir, analysis.Options{Jobs: *jobs, ProbeFolds: *folds, ProbeC: *c, Seed: *seed, Sites: siteList,
		Progress:      func(cell string, done, total int) { prog.Update("analyze", done, total, cell) },
		CurveProgress: func(done, total int) { prog.Update("test curves", done, total, "") }})
	prog.Done("analyze")
	prog.Done("test curves")
	if err != nil {
		return err
	}
	// What this analysis was computed from, for phaseprobe status.
	if err := writeManifest(filepath.Join(dir, "analysis"), "analyze", inputs, analysisOutputs(dir)); err != nil {
		return err
	}
	verdicts := make([]string, 0, len(sum.Verdicts))
	for v, n := range sum.Verdicts {
		verdicts = append(verdicts, fmt.Sprintf("%s %d", v, n))
	}
	sort.Strings(verdicts)
	if total := sweepCells(dir); sum.Cells < total {
		log.Warn("partial sweep: the analysis covers only the finished cells", "finished", sum.Cells, "cells", total,
			"hint", "rerun phaseprobe sweep to finish the others, then analyze again")
	}
	log.Info("analysis", "cells", sum.Cells, "reused", sum.Skipped, "diverged", sum.Diverged, "internal_rows", sum.InternalRows,
		"curves", sum.Transitions, "abrupt", sum.Abrupt, "verdict_rows", sum.VerdictRows, "verdicts", verdicts)
	fmt.Fprintln(stdout, filepath.Join(dir, "analysis"))
	return nil
}

// checkAnalysisMemory refuses, before any work, an analysis whose jobs would need more memory than
// the machine has (from the largest cell's config); that refusal is a usage error.
func checkAnalysisMemory(dir string, jobs int) error {
	cells, err := data.CellDirs(dir)
	if err != nil || len(cells) == 0 {
		return nil
	}
	var need float64
	for _, cd := range cells {
		m, err := analysis.EstimateCellMemory(cd)
		if err != nil {
			return err
		}
		need = max(need, m)
	}
	j := min(jobs, len(cells))
	if err := train.CheckMemory(fmt.Sprintf("analysing %d cells with %d jobs", len(cells), j), need*float64(j), train.MachineMemory()); err != nil {
		return usageError{err.Error()}
	}
	return nil
}

// sweepCells is the number of cells of the sweep in dir: of its sweep.yaml, or (a folder written
// by another tool) its cell folders.
func sweepCells(dir string) int {
	if spec, err := train.LoadSpec(filepath.Join(dir, data.SweepFile)); err == nil {
		if cells, err := spec.Cells(); err == nil {
			return len(cells)
		}
	}
	dirs, _ := data.CellDirs(dir)
	return len(dirs)
}
