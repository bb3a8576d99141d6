package analysis

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/internal/pool"
)

// Summary counts what Analyze wrote.
type Summary struct {
	Cells, Skipped, Diverged int
	InternalRows             int
	Transitions, Abrupt      int
	VerdictRows              int
	Verdicts                 map[string]int // "question: verdict" → rows
	Split                    string         // the split the capability is judged on
}

// Analyze runs the analysis stage on a run folder (runs/<sweep>): internal metrics for every
// finished cell (cells whose internal_metrics.parquet is newer than their done.json are skipped),
// then the sweep-level tables in analysis/: all metrics merged, transitions, jumps, mirage and
// verdicts.
func Analyze(ctx context.Context, runDir string, opt Options) (Summary, error) {
	opt = opt.resolve()
	var sum Summary
	ready, err := readyCells(runDir)
	if err != nil {
		return sum, err
	}
	sum.Cells = len(ready)
	if err := analyzeCells(ctx, ready, opt, &sum); err != nil {
		return sum, err
	}
	err = analyzeSweep(ctx, runDir, ready, opt, &sum)
	return sum, err
}

// readyCells lists the cell folders of runDir whose tables are complete (cellReady); it is an
// error when there is none.
func readyCells(runDir string) ([]string, error) {
	dirs, err := data.CellDirs(runDir)
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s: no cells (run phaseprobe sweep first)", runDir)
	}
	var ready []string
	for _, d := range dirs {
		if cellReady(d) {
			ready = append(ready, d)
		}
	}
	if len(ready) == 0 {
		return nil, fmt.Errorf("%s: no finished cells yet (no cells/*/done.json)", runDir)
	}
	return ready, nil
}

// analyzeCells is the first stage: every cell's internal_metrics.parquet (analyzeCellDir), at
// most opt.Jobs cells at once, counted into sum.
func analyzeCells(ctx context.Context, ready []string, opt Options, sum *Summary) error {
	next, err := nextWidths(ready)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	done := 0
	cellJobs := min(opt.Jobs, len(ready)) // no more workers than cells (the sweep-level stage has work for opt.Jobs)
	return pool.Each(ctx, cellJobs, ready, func(_ int, d string) error {
		skipped, n, err := analyzeCellDir(d, next[d], opt)
		mu.Lock()
		defer mu.Unlock()
		done++
		if skipped {
			sum.Skipped++
		}
		sum.InternalRows += n
		if opt.Progress != nil {
			opt.Progress(filepath.Base(d), done, len(ready))
		}
		return err
	})
}

// analyzeSweep is the second stage: it merges the cells' metrics into analysis/metrics.parquet,
// tests every curve, and writes the transitions, jumps, mirage and verdicts tables, each with the
// settings it was computed with in its metadata (data.AnalysisSettings).
func analyzeSweep(ctx context.Context, runDir string, ready []string, opt Options, sum *Summary) error {
	outDir := filepath.Join(runDir, data.AnalysisDir)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	data.RemoveTemps(runDir, outDir, "") // what a killed analysis left
	curves, diverged, err := mergeMetrics(ready, filepath.Join(outDir, data.AllMetricsFile))
	if err != nil {
		return err
	}
	sum.Diverged = diverged
	sum.Split = curves.primarySplit()
	res, err := testCurves(ctx, curves, opt)
	if err != nil {
		return err
	}
	trans, jumps := transitionRows(curves, res, opt)
	sum.Transitions = len(trans)
	for _, t := range trans {
		if t.Abrupt {
			sum.Abrupt++
		}
	}
	classes := classifyCells(curves, res, sum.Split, opt.Decisions)
	mir := mirageAtJump(curves, classes, sum.Split, opt)
	verd := verdicts(curves, res, classes, mir, sum.Split, opt)
	sum.Verdicts = map[string]int{}
	for _, v := range verd {
		sum.Verdicts[v.Question+": "+v.Verdict]++
	}
	sum.VerdictRows = len(verd)
	settings, err := json.Marshal(opt.sweepSettings(sum.Split))
	if err != nil {
		return err
	}
	meta := data.Meta{Config: settings}
	for _, t := range []struct {
		file  string
		write func(string) error
	}{
		{data.TransitionsFile, func(p string) error { return data.WriteTable(p, meta, trans) }},
		{data.JumpsFile, func(p string) error { return data.WriteTable(p, meta, jumps) }},
		{data.MirageFile, func(p string) error { return data.WriteTable(p, meta, mir) }},
		{data.VerdictsFile, func(p string) error { return data.WriteTable(p, meta, verd) }},
	} {
		if err := t.write(filepath.Join(outDir, t.file)); err != nil {
			return err
		}
	}
	// alignment.parquet, written by earlier versions, is superseded by verdicts.parquet: remove it
	// when it is phaseprobe's own table, so a stale file is not read as current.
	old := filepath.Join(outDir, "alignment.parquet")
	if m, err := data.ReadMeta(old); err == nil && m.Table == "alignment" {
		os.Remove(old)
	}
	return nil
}

// cellReady reports whether a cell's tables are complete: phaseprobe's sweep writes done.json last;
// a cell written by another tool (no checkpoints/ folder) is ready when its metrics table exists.
func cellReady(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, data.DoneFile)); err == nil {
		return true
	}
	if _, err := os.Stat(filepath.Join(dir, data.CheckpointsDir)); err == nil {
		return false // a phaseprobe cell still training or capturing
	}
	_, err := os.Stat(filepath.Join(dir, data.MetricsFile))
	return err == nil
}
