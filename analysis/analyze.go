package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/phaseprobe/phaseprobe/data"
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
// then the sweep-level tables in analysis/: all metrics merged, transitions, alignment and mirage.
func Analyze(ctx context.Context, runDir string, opt Options) (Summary, error) {
	opt = opt.resolve()
	var sum Summary
	dirs, err := data.CellDirs(runDir)
	if err != nil {
		return sum, err
	}
	if len(dirs) == 0 {
		return sum, fmt.Errorf("%s: no cells (run phaseprobe sweep first)", runDir)
	}
	var ready []string
	for _, d := range dirs {
		if cellReady(d) {
			ready = append(ready, d)
		}
	}
	if len(ready) == 0 {
		return sum, fmt.Errorf("%s: no finished cells yet (no cells/*/done.json)", runDir)
	}
	sum.Cells = len(ready)
	cellJobs := min(opt.Jobs, len(ready)) // no more workers than cells (the sweep-level stage has work for opt.Jobs)

	// Stage 1: internal metrics per cell.
	var mu sync.Mutex
	var errs []error
	next, err := nextWidths(ready)
	if err != nil {
		return sum, err
	}
	work := make(chan string)
	var wg sync.WaitGroup
	done := 0
	for range cellJobs {
		wg.Go(func() {
			for d := range work {
				skipped, n, err := analyzeCellDir(d, next[d], opt)
				mu.Lock()
				done++
				if err != nil {
					errs = append(errs, err)
				}
				if skipped {
					sum.Skipped++
				}
				sum.InternalRows += n
				if opt.Progress != nil {
					opt.Progress(filepath.Base(d), done, len(ready))
				}
				mu.Unlock()
			}
		})
	}
	for _, d := range ready {
		if ctx.Err() != nil {
			break
		}
		work <- d
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if err := errors.Join(errs...); err != nil {
		return sum, err
	}

	// Stage 2: sweep-level tables.
	outDir := filepath.Join(runDir, "analysis")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return sum, err
	}
	removeTemps(runDir, outDir, "")
	curves, diverged, err := mergeMetrics(ready, filepath.Join(outDir, data.AllMetricsFile))
	if err != nil {
		return sum, err
	}
	sum.Diverged = diverged
	sum.Split = curves.primarySplit()
	res, err := testCurves(ctx, curves, opt)
	if err != nil {
		return sum, err
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
	for _, t := range []struct {
		file  string
		write func(string) error
	}{
		{data.TransitionsFile, func(p string) error { return data.WriteTable(p, data.Meta{}, trans) }},
		{data.JumpsFile, func(p string) error { return data.WriteTable(p, data.Meta{}, jumps) }},
		{data.MirageFile, func(p string) error { return data.WriteTable(p, data.Meta{}, mir) }},
		{data.VerdictsFile, func(p string) error { return data.WriteTable(p, data.Meta{}, verd) }},
	} {
		if err := t.write(filepath.Join(outDir, t.file)); err != nil {
			return sum, err
		}
	}
	// alignment.parquet, written by earlier versions, is superseded by verdicts.parquet: remove it
	// when it is phaseprobe's own table, so a stale file is not read as current.
	old := filepath.Join(outDir, "alignment.parquet")
	if m, err := data.ReadMeta(old); err == nil && m.Table == "alignment" {
		os.Remove(old)
	}
	return sum, nil
}

// cellReady reports whether a cell's tables are complete: phaseprobe's sweep writes done.json last;
// a cell written by another tool (no checkpoints/ folder) is ready when its metrics table exists.
func cellReady(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "done.json")); err == nil {
		return true
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoints")); err == nil {
		return false // a phaseprobe cell still training or capturing
	}
	_, err := os.Stat(filepath.Join(dir, data.MetricsFile))
	return err == nil
}

// analyzeCellDir writes a cell's internal_metrics.parquet, unless one computed with the same
// options is already newer than the cell's capture (done.json, or activations.parquet for a cell
// written by another tool). The file's metadata holds the cell's config and the analysis options.
func analyzeCellDir(dir, nextWidth string, opt Options) (skipped bool, rows int, err error) {
	out := filepath.Join(dir, data.InternalMetricsFile)
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !json.Valid(cfg) {
		cfg = []byte("null")
	}
	optJSON, err := opt.cellKey()
	if err != nil {
		return false, 0, err
	}
	meta, _ := json.Marshal(map[string]json.RawMessage{"cell": cfg, "analysis": optJSON})
	if st, err := os.Stat(out); err == nil {
		marker := filepath.Join(dir, "done.json")
		if _, err := os.Stat(marker); err != nil {
			marker = filepath.Join(dir, data.ActivationsFile)
		}
		if dst, err := os.Stat(marker); err == nil && !st.ModTime().Before(dst.ModTime()) {
			if m, err := data.ReadMeta(out); err == nil && bytes.Equal(m.Config, meta) {
				return true, 0, nil
			}
		}
	}
	removeTemps(filepath.Dir(filepath.Dir(dir)), dir, data.InternalMetricsFile)
	ci, err := readCellInputs(dir)
	if err != nil {
		return false, 0, err
	}
	ms, err := analyzeCell(ci, opt)
	if err != nil {
		return false, 0, err
	}
	if nextWidth != "" {
		cross, err := crossWidthCKA(ci, nextWidth, opt)
		if err != nil {
			return false, 0, err
		}
		ms = append(ms, cross...)
	}
	if err := data.WriteTable(out, data.Meta{Config: meta}, ms); err != nil {
		return false, 0, err
	}
	return false, len(ms), nil
}

func median(v []float64) float64 {
	v = slices.DeleteFunc(slices.Clone(v), math.IsNaN)
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func mean(v []float64) float64 {
	s, n := 0.0, 0
	for _, x := range v {
		if !math.IsNaN(x) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// removeTemps deletes the temporary files that a killed analysis left in dir (a cell folder or
// analysis/ of runDir), those of one table if name is set: only phaseprobe's own (data.IsTemp), and
// none when dir is a link out of runDir.
func removeTemps(runDir, dir, name string) { data.RemoveTemps(runDir, dir, name) }

// errStop ends a ReadTable early.
var errStop = errors.New("stop")

// cellCoords reads a cell's coordinates from the first row of its metrics table.
func cellCoords(dir string) (data.Coords, error) {
	var c data.Coords
	found := false
	_, err := data.ReadTable(filepath.Join(dir, data.MetricsFile), func(rows []data.MetricRow) error {
		if len(rows) > 0 {
			c, found = rows[0].Coords, true
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return c, err
	}
	if !found {
		return c, fmt.Errorf("%s: no rows", filepath.Join(dir, data.MetricsFile))
	}
	return c, nil
}

// nextWidths maps each cell to the cell of the next larger d_model with the same task, depth,
// head count and seed (the family's neighbour), if the sweep has one.
func nextWidths(dirs []string) (map[string]string, error) {
	type fam struct {
		task            string
		nLayers, nHeads int32
		seed            int64
	}
	type member struct {
		dir    string
		dModel int32
	}
	groups := map[fam][]member{}
	for _, d := range dirs {
		c, err := cellCoords(d)
		if err != nil {
			return nil, err
		}
		f := fam{c.Task, c.NLayers, c.NHeads, c.Seed}
		groups[f] = append(groups[f], member{d, c.DModel})
	}
	next := map[string]string{}
	for _, ms := range groups {
		slices.SortFunc(ms, func(a, b member) int { return int(a.dModel - b.dModel) })
		for i := 0; i+1 < len(ms); i++ {
			if ms[i+1].dModel > ms[i].dModel {
				next[ms[i].dir] = ms[i+1].dir
			}
		}
	}
	return next, nil
}
