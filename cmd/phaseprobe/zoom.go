package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/train"
)

// zoomFlags are zoom's flags.
type zoomFlags struct {
	cells, window, kind, backend string
	points, ensemble, jobs       int
	dryRun                       bool
}

func runZoom(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	f, dir, err := parseZoomFlags(stderr, args)
	if err != nil {
		return err
	}
	spec, err := train.LoadSpec(filepath.Join(dir, data.SweepFile))
	if err != nil {
		return usageError{err.Error()}
	}
	cells, err := spec.Cells()
	if err != nil {
		return err
	}
	chosen, err := chooseCells(f.cells, spec, cells)
	if err != nil {
		return err
	}
	windows, err := zoomWindows(dir, spec, cells, chosen, f.window, f.kind)
	if err != nil {
		return err
	}
	if f.backend == "" {
		f.backend = train.RunBackend(dir, spec)
		if f.backend == "" {
			f.backend = "cpu"
		}
	}
	b, err := train.NewBackend(f.backend)
	if err != nil {
		return usageError{err.Error()}
	}
	defer b.Close()
	prog := progressOf(stderr)
	opt := train.ZoomOptions{Points: f.points, Ensemble: f.ensemble, Backend: b.String(), Jobs: f.jobs, Log: log,
		Progress: func(label string, step, total int, loss float64) {
			if step < 0 {
				prog.Done(label)
				return
			}
			prog.Update(label, step, total, fmt.Sprintf("loss %.4f", loss))
		}}
	// One writer per run folder: the plan is made under the lock, so it sees the checkpoints the
	// replay will find.
	var lock *data.Lock
	if !f.dryRun {
		if lock, err = data.LockDir(dir, true, "zoom"); err != nil {
			return err
		}
		defer lock.Unlock()
	}
	plan, err := train.PlanZoom(dir, spec, windows, opt, train.DefaultEnsemble(b))
	if err != nil {
		return usageError{err.Error()}
	}
	if f.window != "auto" && len(plan.Empty) > 0 {
		return usagef("--window %s: %s", f.window, plan.Empty[0])
	}
	printZoomPlan(stdout, dir, spec, len(windows), plan, f.points)
	if f.dryRun {
		return nil
	}
	if len(plan.Groups) == 0 && len(plan.Recapture) == 0 {
		fmt.Fprintln(stdout, "nothing to do")
		return nil
	}
	if err := train.RunZoom(ctx, b, dir, spec, plan, opt); err != nil {
		if errors.Is(err, train.ErrReplayDiffers) {
			return fmt.Errorf("%w\nrefused: no checkpoint or table of that replay was merged", err)
		}
		return err
	}
	fmt.Fprintf(stdout, "zoomed %d cells; rerun phaseprobe analyze %s to test the denser curves\n", len(plan.Recapture), dir)
	return nil
}

// chooseCells is the cells of --cells (a comma-separated list; nil when it is empty, for every
// cell), each checked against the sweep.
func chooseCells(list string, spec train.Spec, cells []train.Cell) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	chosen := strings.Split(list, ",")
	if err := spec.CheckCellIDs(cells, chosen); err != nil {
		return nil, usagef("--cells: %v", err)
	}
	return chosen, nil
}

// parseZoomFlags parses and checks zoom's flags and returns them with the run folder.
func parseZoomFlags(stderr io.Writer, args []string) (zoomFlags, string, error) {
	fs := newFlagSet(stderr, "zoom", "RUN_DIR [flags]   (RUN_DIR is runs/<sweep>; see docs/zoom.md)")
	var f zoomFlags
	fs.StringVar(&f.cells, "cells", "", "comma-separated cell IDs to zoom (default every cell)")
	fs.StringVar(&f.window, "window", "auto", "auto (every transition in analysis/transitions.parquet) or STEP_A:STEP_B")
	fs.IntVar(&f.points, "points", 8, "extra checkpoints per window (>= 2), log-spaced in step between the window's enclosing checkpoints")
	fs.StringVar(&f.kind, "kind", "capability", "with --window auto: what to zoom into: capability (the default: every jump of exact match on the split the analysis judged the capability on, held-out when the cells have it), task (every task scoring), internal or all")
	fs.IntVar(&f.ensemble, "ensemble", 0, "seeds per replayed ensemble; 0 = the grouping the run trained with (any other is refused)")
	fs.StringVar(&f.backend, "backend", "", "backend of the replay (default: the one the run's checkpoints record, else cpu); another than the run's is refused")
	fs.IntVar(&f.jobs, "jobs", 1, "ensembles replayed at once")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan and its cost, change nothing")
	if err := parseFlags(fs, reorder(fs, args)); err != nil {
		return f, "", err
	}
	if fs.NArg() != 1 {
		return f, "", usagef("want exactly one run folder (runs/<sweep>), got %d arguments", fs.NArg())
	}
	dir := fs.Arg(0)
	if err := checkRunDir(dir); err != nil {
		return f, "", err
	}
	switch {
	case f.points < 2:
		return f, "", usagef("--points %d: need at least 2 checkpoints per window", f.points)
	case f.jobs < 1:
		return f, "", usagef("--jobs %d: must be at least 1", f.jobs)
	case f.ensemble < 0:
		return f, "", usagef("--ensemble %d: must be >= 0", f.ensemble)
	case !slices.Contains([]string{"capability", "task", "internal", "all"}, f.kind):
		return f, "", usagef("--kind %q: want capability, task, internal or all", f.kind)
	}
	return f, dir, nil
}

// zoomWindows turns --window into windows per cell: STEP_A:STEP_B for every chosen cell, or with
// auto the window from the 10 % to the 90 % point of every transition the analysis found
// (transitions.parquet rows with abrupt = true, of the chosen kind, controls excluded) and, for the
// capability and task kinds, of every jump of those task curves in jumps.parquet, whatever its p
// (capability, the default: exact match on the split the analysis judged the capability on): the candidate
// jumps a coarse grid could not resolve are where the extra checkpoints are most needed
// (transition/zoom_sim_test.go measures this two-stage procedure's size and power).
func zoomWindows(dir string, spec train.Spec, cells []train.Cell, chosen []string, window, kind string) ([]train.ZoomWindow, error) {
	if len(chosen) == 0 {
		for _, c := range cells {
			chosen = append(chosen, c.ID)
		}
	}
	if window != "auto" {
		return fixedWindows(spec, chosen, window)
	}
	path := filepath.Join(dir, "analysis", data.TransitionsFile)
	if _, err := os.Stat(path); err != nil {
		return nil, usagef("--window auto needs %s: run phaseprobe analyze %s first (or give --window STEP_A:STEP_B)", path, dir)
	}
	seen := map[train.ZoomWindow]bool{}
	out, err := transitionWindows(path, spec, chosen, kind, seen)
	if err != nil || kind == "internal" {
		return out, err
	}
	jpath := filepath.Join(dir, "analysis", data.JumpsFile)
	if _, err := os.Stat(jpath); err != nil {
		return out, nil // an analysis from before candidate jumps were listed: the abrupt transitions only
	}
	jumps, err := jumpWindows(jpath, spec, chosen, kind, seen)
	if err != nil {
		return nil, err
	}
	return append(out, jumps...), nil
}

// fixedWindows is --window STEP_A:STEP_B for every chosen cell.
func fixedWindows(spec train.Spec, chosen []string, window string) ([]train.ZoomWindow, error) {
	as, bs, ok := strings.Cut(window, ":")
	a, errA := strconv.Atoi(strings.TrimSpace(as))
	b, errB := strconv.Atoi(strings.TrimSpace(bs))
	if !ok || errA != nil || errB != nil {
		return nil, usagef("--window %q: want auto or STEP_A:STEP_B (two whole numbers of steps, e.g. 100:300)", window)
	}
	if a < 0 || b > spec.Train.Steps {
		return nil, usagef("--window %s is outside the run: steps 0 to %d", window, spec.Train.Steps)
	}
	if a >= b {
		return nil, usagef("--window %s is empty: STEP_A must be less than STEP_B", window)
	}
	var out []train.ZoomWindow
	for _, id := range chosen {
		out = append(out, train.ZoomWindow{Cell: id, Lo: a, Hi: b, Source: "--window " + window})
	}
	return out, nil
}

// stepWindow is the window of whole steps in [0, steps] that holds [lo, hi] (at least one step
// wide).
func stepWindow(cell string, lo, hi float64, steps int) train.ZoomWindow {
	w := train.ZoomWindow{Cell: cell, Lo: max(0, int(math.Floor(lo))), Hi: min(steps, int(math.Ceil(hi)))}
	if w.Hi <= w.Lo {
		w.Hi = min(w.Lo+1, steps)
		w.Lo = w.Hi - 1
	}
	return w
}

// transitionWindows is the window of every abrupt transition of the chosen cells and kind in the
// transitions table at path (controls excluded), each window once (seen).
func transitionWindows(path string, spec train.Spec, chosen []string, kind string, seen map[train.ZoomWindow]bool) ([]train.ZoomWindow, error) {
	var out []train.ZoomWindow
	split, err := capabilitySplit(path)
	if err != nil {
		return nil, err
	}
	_, err = data.ReadTable(path, func(rows []data.TransitionRow) error {
		for _, r := range rows {
			if !r.Abrupt || r.Onset10 == nil || r.Onset90 == nil || r.Kind == data.KindControl || !slices.Contains(chosen, r.Cell) {
				continue
			}
			if kind == "capability" && !isCapability(r.Series, split) {
				continue
			}
			if kind != "all" && kind != "capability" && r.Kind != kind {
				continue
			}
			w := stepWindow(r.Cell, min(*r.Onset10, *r.Onset90), max(*r.Onset10, *r.Onset90), spec.Train.Steps)
			if seen[w] {
				continue
			}
			seen[w] = true
			name := r.Metric
			if r.Site != "" {
				name = r.Site + " " + name
			}
			w.Source = fmt.Sprintf("%s %s transition", r.Split, name)
			out = append(out, w)
		}
		return nil
	})
	return out, err
}

// jumpWindows is the window of every candidate jump of the chosen cells' task curves (capability:
// exact match on the split the analysis judged it on) in the jumps table at path, whatever its p, each window once (seen).
func jumpWindows(path string, spec train.Spec, chosen []string, kind string, seen map[train.ZoomWindow]bool) ([]train.ZoomWindow, error) {
	var out []train.ZoomWindow
	split, err := capabilitySplit(path)
	if err != nil {
		return nil, err
	}
	_, err = data.ReadTable(path, func(rows []data.JumpRow) error {
		for _, r := range rows {
			if r.Kind != data.KindTask || !slices.Contains(chosen, r.Cell) || (kind == "capability" && !isCapability(r.Series, split)) {
				continue
			}
			lo, hi := min(r.Onset10, r.Onset90), max(r.Onset10, r.Onset90)
			if math.IsNaN(lo) || math.IsNaN(hi) {
				continue
			}
			w := stepWindow(r.Cell, lo, hi, spec.Train.Steps)
			if seen[w] {
				continue
			}
			seen[w] = true
			w.Source = fmt.Sprintf("%s %s jump %d", r.Split, r.Metric, r.Jump)
			out = append(out, w)
		}
		return nil
	})
	return out, err
}

// isCapability reports whether a curve is the capability itself: exact match on the split the
// analysis judged the capability on, the curve the task-jump and mirage verdicts rest on.
func isCapability(s data.Series, split string) bool {
	return s.Kind == data.KindTask && s.Metric == data.MetricExactMatch && s.Split == split
}

// capabilitySplit is the split the analysis that wrote the table at path judged the capability on
// (recorded in its metadata): "test" when the cells have it, else "train". A table written without
// settings gives "test".
func capabilitySplit(path string) (string, error) {
	st, ok, err := data.ReadAnalysisSettings(path)
	if err != nil {
		return "", err
	}
	if !ok || st.Split == "" {
		return data.SplitTest, nil
	}
	return st.Split, nil
}

func printZoomPlan(w io.Writer, dir string, spec train.Spec, windows int, plan train.ZoomPlan, points int) {
	cells, _ := spec.Cells()
	segs := 0
	for _, g := range plan.Groups {
		segs += len(g.Segments)
	}
	fmt.Fprintf(w, "zoom %s: %d windows asked, %d to replay in %d replays of %d ensembles, %d points each\n", dir, windows,
		windows-len(plan.Skipped)-len(plan.Empty), segs, len(plan.Groups), points)
	fmt.Fprintf(w, "  training: %d optimizer steps replayed (%d model-steps; the sweep trained %d)\n", plan.TrainSteps, plan.ModelSteps,
		spec.Train.Steps*len(cells))
	fmt.Fprintf(w, "  checkpoints: %d new (%s); tables: +%s, %s rewritten in %d cells (%d checkpoints captured)\n", plan.NewCheckpoints,
		zoomBytes(plan.CheckpointBytes), zoomBytes(plan.TableBytes), zoomBytes(plan.RewriteBytes), len(plan.Recapture), plan.Captures)
	for _, g := range plan.Groups {
		for _, sg := range g.Segments {
			var pts []string
			for _, c := range g.Cells {
				if p := sg.Points[c.ID]; len(p) > 0 {
					pts = append(pts, fmt.Sprintf("%s %v", c.ID, p))
				}
			}
			fmt.Fprintf(w, "  replay %s: steps %d→%d, verified at %v; new: %s\n", g.Label(), sg.From, sg.To, sg.Verify, strings.Join(pts, "; "))
		}
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(w, "  skipped %s\n", s)
	}
	for _, s := range plan.Empty {
		fmt.Fprintf(w, "  skipped %s\n", s)
	}
}

func zoomBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
