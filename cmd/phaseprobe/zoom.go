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

func runZoom(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(stderr, "zoom", "RUN_DIR [flags]   (RUN_DIR is runs/<sweep>; see docs/zoom.md)")
	cellsFlag := fs.String("cells", "", "comma-separated cell IDs to zoom (default every cell)")
	window := fs.String("window", "auto", "auto (every transition in analysis/transitions.parquet) or STEP_A:STEP_B")
	points := fs.Int("points", 8, "extra checkpoints per window (>= 2), log-spaced in step between the window's enclosing checkpoints")
	kind := fs.String("kind", "capability", "with --window auto: what to zoom into: capability (the default: every jump of held-out exact match), task (every task scoring), internal or all")
	ensemble := fs.Int("ensemble", 0, "seeds per replayed ensemble; 0 = the grouping the run trained with (any other is refused)")
	backend := fs.String("backend", "", "backend of the replay (default: the one the run's checkpoints record, else cpu); another than the run's is refused")
	jobs := fs.Int("jobs", 1, "ensembles replayed at once")
	dryRun := fs.Bool("dry-run", false, "print the plan and its cost, change nothing")
	if err := parseFlags(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one run folder (runs/<sweep>), got %d arguments", fs.NArg())
	}
	dir := fs.Arg(0)
	if err := checkRunDir(dir); err != nil {
		return err
	}
	if *points < 2 {
		return usagef("--points %d: need at least 2 checkpoints per window", *points)
	}
	if *jobs < 1 {
		return usagef("--jobs %d: must be at least 1", *jobs)
	}
	if *ensemble < 0 {
		return usagef("--ensemble %d: must be >= 0", *ensemble)
	}
	if !slices.Contains([]string{"capability", "task", "internal", "all"}, *kind) {
		return usagef("--kind %q: want capability, task, internal or all", *kind)
	}
	spec, err := train.LoadSpec(filepath.Join(dir, "sweep.yaml"))
	if err != nil {
		return usageError{err.Error()}
	}
	cells, err := spec.Cells()
	if err != nil {
		return err
	}
	var chosen []string
	if *cellsFlag != "" {
		for _, id := range strings.Split(*cellsFlag, ",") {
			if !slices.ContainsFunc(cells, func(c train.Cell) bool { return c.ID == id }) {
				return usagef("--cells: cell %q is not in sweep %s", id, spec.Name)
			}
			chosen = append(chosen, id)
		}
	}
	windows, err := zoomWindows(dir, spec, cells, chosen, *window, *kind)
	if err != nil {
		return err
	}
	if *backend == "" {
		*backend = train.RunBackend(dir, spec)
		if *backend == "" {
			*backend = "cpu"
		}
	}
	b, err := train.NewBackend(*backend)
	if err != nil {
		return usageError{err.Error()}
	}
	defer b.Close()
	prog := progressOf(stderr)
	opt := train.ZoomOptions{Points: *points, Ensemble: *ensemble, Backend: b.String(), Jobs: *jobs, Log: slog.Default(),
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
	if !*dryRun {
		if lock, err = data.LockDir(dir, true, "zoom"); err != nil {
			return err
		}
		defer lock.Unlock()
	}
	plan, err := train.PlanZoom(dir, spec, windows, opt, train.DefaultEnsemble(b))
	if err != nil {
		return usageError{err.Error()}
	}
	if *window != "auto" && len(plan.Empty) > 0 {
		return usagef("--window %s: %s", *window, plan.Empty[0])
	}
	printZoomPlan(stdout, dir, spec, len(windows), plan, *points)
	if *dryRun {
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

// zoomWindows turns --window into windows per cell: STEP_A:STEP_B for every chosen cell, or with
// auto the window from the 10 % to the 90 % point of every transition the analysis found
// (transitions.parquet rows with abrupt = true, of the chosen kind, controls excluded) and, for the
// capability and task kinds, of every jump of those task curves in jumps.parquet, whatever its p
// (capability, the default: held-out exact match only): the candidate
// jumps a coarse grid could not resolve are where the extra checkpoints are most needed
// (transition/zoom_sim_test.go measures this two-stage procedure's size and power).
func zoomWindows(dir string, spec train.Spec, cells []train.Cell, chosen []string, window, kind string) ([]train.ZoomWindow, error) {
	if len(chosen) == 0 {
		for _, c := range cells {
			chosen = append(chosen, c.ID)
		}
	}
	var out []train.ZoomWindow
	if window != "auto" {
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
		for _, id := range chosen {
			out = append(out, train.ZoomWindow{Cell: id, Lo: a, Hi: b, Source: "--window " + window})
		}
		return out, nil
	}
	path := filepath.Join(dir, "analysis", data.TransitionsFile)
	if _, err := os.Stat(path); err != nil {
		return nil, usagef("--window auto needs %s: run phaseprobe analyze %s first (or give --window STEP_A:STEP_B)", path, dir)
	}
	seen := map[train.ZoomWindow]bool{}
	_, err := data.ReadTable(path, func(rows []data.TransitionRow) error {
		for _, r := range rows {
			if !r.Abrupt || r.Onset10 == nil || r.Onset90 == nil || r.Kind == data.KindControl || !slices.Contains(chosen, r.Cell) {
				continue
			}
			if kind == "capability" && !isCapability(r.Series) {
				continue
			}
			if kind != "all" && kind != "capability" && r.Kind != kind {
				continue
			}
			lo, hi := min(*r.Onset10, *r.Onset90), max(*r.Onset10, *r.Onset90)
			w := train.ZoomWindow{Cell: r.Cell, Lo: max(0, int(math.Floor(lo))), Hi: min(spec.Train.Steps, int(math.Ceil(hi)))}
			if w.Hi <= w.Lo {
				w.Hi = min(w.Lo+1, spec.Train.Steps)
				w.Lo = w.Hi - 1
			}
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
	if err != nil {
		return nil, err
	}
	if kind == "internal" {
		return out, nil
	}
	jpath := filepath.Join(dir, "analysis", data.JumpsFile)
	if _, err := os.Stat(jpath); err != nil {
		return out, nil // an analysis from before candidate jumps were listed: the abrupt transitions only
	}
	_, err = data.ReadTable(jpath, func(rows []data.JumpRow) error {
		for _, r := range rows {
			if r.Kind != data.KindTask || !slices.Contains(chosen, r.Cell) || (kind == "capability" && !isCapability(r.Series)) {
				continue
			}
			lo, hi := min(r.Onset10, r.Onset90), max(r.Onset10, r.Onset90)
			if math.IsNaN(lo) || math.IsNaN(hi) {
				continue
			}
			w := train.ZoomWindow{Cell: r.Cell, Lo: max(0, int(math.Floor(lo))), Hi: min(spec.Train.Steps, int(math.Ceil(hi)))}
			if w.Hi <= w.Lo {
				w.Hi = min(w.Lo+1, spec.Train.Steps)
				w.Lo = w.Hi - 1
			}
			if seen[w] {
				continue
			}
			seen[w] = true
			w.Source = fmt.Sprintf("%s %s jump %d", r.Split, r.Metric, r.Jump)
			out = append(out, w)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// isCapability reports whether a curve is the capability itself: exact match on the held-out
// split, the curve the task-jump and mirage verdicts rest on.
func isCapability(s data.Series) bool {
	return s.Kind == data.KindTask && s.Metric == "exact_match" && s.Split == "test"
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
