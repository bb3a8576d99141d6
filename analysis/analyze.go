package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/transition"
)

// Summary counts what Analyze wrote.
type Summary struct {
	Cells, Skipped, Diverged int
	InternalRows             int
	Transitions, Abrupt      int
	Alignments               int
	Verdicts                 map[string]int
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
	opt.Jobs = min(opt.Jobs, len(ready)) // no more workers than cells

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
	for range opt.Jobs {
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
	trans := findTransitions(curves)
	sum.Transitions = len(trans)
	for _, t := range trans {
		if t.Abrupt {
			sum.Abrupt++
		}
	}
	if err := data.WriteTable(filepath.Join(outDir, data.TransitionsFile), data.Meta{}, trans); err != nil {
		return sum, err
	}
	align := alignTransitions(trans, curves, opt.Seed)
	sum.Alignments = len(align)
	sum.Verdicts = map[string]int{}
	for _, a := range align {
		sum.Verdicts[a.Verdict]++
	}
	if err := data.WriteTable(filepath.Join(outDir, data.AlignmentFile), data.Meta{}, align); err != nil {
		return sum, err
	}
	if err := data.WriteTable(filepath.Join(outDir, data.MirageFile), data.Meta{}, mirage(trans, curves)); err != nil {
		return sum, err
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
	optJSON, err := json.Marshal(map[string]any{"probe_folds": opt.ProbeFolds, "probe_c": opt.ProbeC, "probe_sites": opt.ProbeSites,
		"sites": opt.Sites, "rank_tol": opt.RankTol, "seed": opt.Seed})
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

// curveKey identifies one curve of one cell.
type curveKey struct {
	cell   string
	series data.Series
}

// curve is one metric of one cell over checkpoints.
type curve struct {
	coords data.Coords
	series data.Series
	steps  []int64
	values []float64
}

// curves holds every curve of the sweep (they are small: one value per checkpoint).
type curves struct {
	byKey    map[curveKey]*curve
	cells    map[string]data.Coords
	diverged map[string]int64
}

var taskMetrics = map[string]bool{"exact_match": true, "token_accuracy": true, "position_accuracy": true, "logprob": true,
	"loss": true, "brier": true, "edit_distance": true}

// mergeMetrics copies every cell's task and internal metrics into one table (streaming) and keeps
// the checkpoint curves in memory for the transition analysis.
func mergeMetrics(dirs []string, path string) (*curves, int, error) {
	cs := &curves{byKey: map[curveKey]*curve{}, cells: map[string]data.Coords{}, diverged: map[string]int64{}}
	w, err := data.CreateTable[data.MetricRow](path, data.Meta{Config: []byte("null")})
	if err != nil {
		return nil, 0, err
	}
	add := func(rows []data.MetricRow) error {
		for _, r := range rows {
			if r.Metric == "diverged" {
				cs.diverged[r.Cell] = r.Step
			}
			if r.Split == "train_batch" || r.Metric == "diverged" || r.Metric == "singular_value" {
				continue
			}
			kind := "internal"
			if taskMetrics[r.Metric] && r.Site == "" {
				kind = "task"
			}
			s := data.Series{Kind: kind, Split: r.Split, Site: r.Site, Layer: r.Layer, Head: r.Head, Position: r.Position, Concept: r.Concept, Metric: r.Metric}
			k := curveKey{r.Cell, s}
			c := cs.byKey[k]
			if c == nil {
				c = &curve{coords: r.Coords, series: s}
				cs.byKey[k] = c
				cs.cells[r.Cell] = r.Coords
			}
			c.steps = append(c.steps, r.Step)
			c.values = append(c.values, r.Value)
		}
		return w.Write(rows...)
	}
	for _, d := range dirs {
		for _, f := range []string{data.MetricsFile, data.InternalMetricsFile} {
			if _, err := data.ReadTable(filepath.Join(d, f), add); err != nil {
				w.Abort()
				return nil, 0, err
			}
		}
	}
	if err := w.Close(); err != nil {
		return nil, 0, err
	}
	for _, c := range cs.byKey {
		sortCurve(c)
	}
	return cs, len(cs.diverged), nil
}

func sortCurve(c *curve) {
	idx := make([]int, len(c.steps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return c.steps[idx[a]] < c.steps[idx[b]] })
	st, vs := make([]int64, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		st[i], vs[i] = c.steps[j], c.values[j]
	}
	c.steps, c.values = st, vs
}

// logStep is the analysis axis: x = log10(step + 1).
func logStep(s int64) float64 { return math.Log10(float64(s) + 1) }

func stepOf(x float64) float64 {
	if math.IsNaN(x) {
		return math.NaN()
	}
	return math.Pow(10, x) - 1
}

// sortedKeys returns the curve keys in a fixed order, so outputs are deterministic.
func (cs *curves) sortedKeys() []curveKey {
	keys := make([]curveKey, 0, len(cs.byKey))
	for k := range cs.byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	return keys
}

// findTransitions runs transition.Detect on every curve (over log10(step+1)) with finite values.
func findTransitions(cs *curves) []data.TransitionRow {
	cfg := transition.DefaultConfig()
	var out []data.TransitionRow
	for _, k := range cs.sortedKeys() {
		c := cs.byKey[k]
		x := make([]float64, 0, len(c.steps))
		y := make([]float64, 0, len(c.steps))
		for i, s := range c.steps {
			if v := c.values[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
				x = append(x, logStep(s))
				y = append(y, v)
			}
		}
		row := data.TransitionRow{Coords: c.coords, Series: c.series, Points: int32(len(x)), OnsetStep: math.NaN(), SigmoidMidStep: math.NaN(),
			WidthDecades: math.NaN(), DeltaAIC: math.NaN(), SNR: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), CrossingStep: math.NaN(),
			SteepestStep: math.NaN(), ChangeStep: math.NaN(), Linearity: math.NaN(), Breakthroughness: math.NaN()}
		if len(x) < 6 {
			row.Reason = "fewer than 6 finite checkpoints"
			out = append(out, row)
			continue
		}
		row.Linearity = transition.Linearity(y)
		row.Breakthroughness = transition.Breakthroughness(y)
		if ch, err := transition.MostSignificantChange(y, 2); err == nil {
			row.ChangeStep = stepOf(x[ch.Index])
		}
		det, err := transition.Detect(x, y, cfg)
		if err != nil {
			row.Reason = err.Error()
			out = append(out, row)
			continue
		}
		row.Abrupt, row.Reason = det.Abrupt, det.Reason
		row.OnsetStep = stepOf(det.Onset)
		row.SigmoidMidStep = stepOf(det.Sigmoid.X0)
		row.WidthDecades = det.Sigmoid.Width
		row.DeltaAIC, row.SNR = det.DeltaAIC, det.SNR
		row.Lo, row.Hi = det.Sigmoid.Lo, det.Sigmoid.Hi
		row.CrossingStep, row.SteepestStep = stepOf(det.Crossing), stepOf(det.Steepest)
		out = append(out, row)
	}
	return out
}

// shapeKey is a model shape: the cells that differ only by seed.
type shapeKey struct {
	task                    string
	dModel, nLayers, nHeads int32
}

func shapeOf(c data.Coords) shapeKey { return shapeKey{c.Task, c.DModel, c.NLayers, c.NHeads} }

// alignTask are the task curves internal onsets are compared with.
var alignTask = []string{"exact_match", "token_accuracy", "logprob"}

// alignTransitions compares, per shape, every internal curve that is abrupt in at least one seed
// with each task curve, across seeds (transition.Align).
func alignTransitions(trans []data.TransitionRow, cs *curves, seed uint64) []data.AlignmentRow {
	// onsets[shape][series][seed] = onset x (NaN if not abrupt).
	type sk struct {
		shape  shapeKey
		series data.Series
	}
	onsets := map[sk]map[int64]float64{}
	seeds := map[shapeKey][]int64{}
	for _, t := range trans {
		k := sk{shapeOf(t.Coords), t.Series}
		if onsets[k] == nil {
			onsets[k] = map[int64]float64{}
		}
		x := math.NaN()
		if t.Abrupt {
			x = math.Log10(t.OnsetStep + 1)
		}
		onsets[k][t.Seed] = x
		if !slices.Contains(seeds[k.shape], t.Seed) {
			seeds[k.shape] = append(seeds[k.shape], t.Seed)
		}
	}
	// Tolerance: one checkpoint spacing, the median over the sweep's curves (curves of diverged or
	// foreign cells may have other step lists; the median keeps the result order-independent).
	var spacings []float64
	for _, c := range cs.byKey {
		if len(c.steps) > 2 {
			xs := make([]float64, len(c.steps))
			for i, s := range c.steps {
				xs[i] = logStep(s)
			}
			spacings = append(spacings, transition.CheckpointSpacing(xs))
		}
	}
	spacing := median(spacings)
	cfg := transition.DefaultAlignConfig(spacing)
	rng := rand.New(rand.NewPCG(seed, 0xa119))
	keys := make([]sk, 0, len(onsets))
	for k := range onsets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	var out []data.AlignmentRow
	for _, ik := range keys {
		if ik.series.Kind != "internal" {
			continue
		}
		anyAbrupt := false
		for _, x := range onsets[ik] {
			if !math.IsNaN(x) {
				anyAbrupt = true
			}
		}
		if !anyAbrupt {
			continue
		}
		ss := seeds[ik.shape]
		slices.Sort(ss)
		for _, tm := range alignTask {
			tk := sk{ik.shape, data.Series{Kind: "task", Split: "test", Layer: data.NA, Head: data.NA, Position: data.NA, Metric: tm}}
			if onsets[tk] == nil {
				tk.series.Split = "train"
				if onsets[tk] == nil {
					continue
				}
			}
			in, ta := make([]float64, len(ss)), make([]float64, len(ss))
			for i, s := range ss {
				in[i], ta[i] = nanIfMissing(onsets[ik], s), nanIfMissing(onsets[tk], s)
			}
			a, err := transition.Align(in, ta, cfg, rng)
			row := data.AlignmentRow{Sweep: "", Task: ik.shape.task, DModel: ik.shape.dModel, NLayers: ik.shape.nLayers, NHeads: ik.shape.nHeads,
				Site: ik.series.Site, Layer: ik.series.Layer, Head: ik.series.Head, Concept: ik.series.Concept, Metric: ik.series.Metric,
				Split: ik.series.Split, TaskMetric: tm, TaskSplit: tk.series.Split, Seeds: int32(len(ss))}
			for _, c := range cs.cells {
				row.Sweep = c.Sweep
				break
			}
			if err != nil {
				row.Verdict = string(transition.Inconclusive)
				row.MeanLag, row.CILow, row.CIHigh, row.SignP, row.PermP, row.MeanLagSteps = math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()
				out = append(out, row)
				continue
			}
			row.Internals, row.Tasks, row.Pairs = int32(a.Internal), int32(a.Task), int32(a.Pairs)
			row.MeanLag, row.CILow, row.CIHigh, row.SignP, row.PermP = a.MeanLag, a.CILow, a.CIHigh, a.SignP, a.PermP
			row.Verdict = string(a.Verdict)
			// Lag in steps at the mean task onset.
			mt, n := 0.0, 0
			for _, x := range ta {
				if !math.IsNaN(x) {
					mt += x
					n++
				}
			}
			row.MeanLagSteps = math.NaN()
			if n > 0 && !math.IsNaN(a.MeanLag) {
				mt /= float64(n)
				row.MeanLagSteps = math.Pow(10, mt+a.MeanLag) - math.Pow(10, mt)
			}
			out = append(out, row)
		}
	}
	return out
}

func nanIfMissing(m map[int64]float64, s int64) float64 {
	if v, ok := m[s]; ok {
		return v
	}
	return math.NaN()
}

// mirageMetrics are the task metrics of the mirage table, discrete first.
var mirageMetrics = []struct {
	name     string
	discrete bool
}{{"exact_match", true}, {"token_accuracy", false}, {"logprob", false}, {"brier", false}, {"edit_distance", false}}

// mirage summarises, per shape and task metric, how abrupt each scoring of the same outputs is:
// over training steps (seeds whose curve is abrupt) and over width at the final checkpoint
// (BIG-bench linearity and breakthroughness of the seed mean); for exact match, the gap to the
// product of per-position accuracies (independence).
func mirage(trans []data.TransitionRow, cs *curves) []data.MirageRow {
	type mk struct {
		shape  shapeKey
		split  string
		metric string
	}
	per := map[mk][]data.TransitionRow{}
	for _, t := range trans {
		if t.Kind == "task" && t.Site == "" && t.Position == data.NA {
			k := mk{shapeOf(t.Coords), t.Split, t.Metric}
			per[k] = append(per[k], t)
		}
	}
	sweep := ""
	for _, c := range cs.cells {
		sweep = c.Sweep
	}
	keys := make([]mk, 0, len(per))
	for k := range per {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	var out []data.MirageRow
	for _, k := range keys {
		discrete := false
		known := false
		for _, m := range mirageMetrics {
			if m.name == k.metric {
				discrete, known = m.discrete, true
			}
		}
		if !known {
			continue
		}
		ts := per[k]
		row := data.MirageRow{Sweep: sweep, Task: k.shape.task, DModel: k.shape.dModel, NLayers: k.shape.nLayers, NHeads: k.shape.nHeads,
			Axis: "step", Split: k.split, Metric: k.metric, Discrete: discrete, Seeds: int32(len(ts)),
			Linearity: math.NaN(), Breakthroughness: math.NaN(), IndependenceGap: math.NaN()}
		var daic, width []float64
		for _, t := range ts {
			if t.Abrupt {
				row.AbruptSeeds++
			}
			if !math.IsNaN(t.DeltaAIC) {
				daic = append(daic, t.DeltaAIC)
			}
			if !math.IsNaN(t.WidthDecades) {
				width = append(width, t.WidthDecades)
			}
		}
		row.MedianDeltaAIC, row.MedianWidth = median(daic), median(width)
		lin, brk := []float64{}, []float64{}
		for _, t := range ts {
			lin = append(lin, t.Linearity)
			brk = append(brk, t.Breakthroughness)
		}
		row.Linearity, row.Breakthroughness = median(lin), median(brk)
		if k.metric == "exact_match" {
			row.IndependenceGap = independenceGap(cs, k.shape, k.split)
		}
		out = append(out, row)
	}
	out = append(out, mirageOverWidth(cs, sweep)...)
	return out
}

// independenceGap is the mean over the shape's seeds of mean_t |EM(t) − Π_j acc_j(t)|.
func independenceGap(cs *curves, shape shapeKey, split string) float64 {
	var gaps []float64
	for cell, coords := range cs.cells {
		if shapeOf(coords) != shape {
			continue
		}
		em := cs.byKey[curveKey{cell, data.Series{Kind: "task", Split: split, Layer: data.NA, Head: data.NA, Position: data.NA, Metric: "exact_match"}}]
		if em == nil {
			continue
		}
		var pos [][]float64 // [position][checkpoint]
		for j := int32(0); ; j++ {
			c := cs.byKey[curveKey{cell, data.Series{Kind: "task", Split: split, Layer: data.NA, Head: data.NA, Position: j, Metric: "position_accuracy"}}]
			if c == nil || len(c.values) != len(em.values) {
				break
			}
			pos = append(pos, c.values)
		}
		if len(pos) == 0 {
			continue
		}
		p := make([][]float64, len(em.values)) // [checkpoint][position]
		for t := range p {
			for j := range pos {
				p[t] = append(p[t], pos[j][t])
			}
		}
		if g, err := transition.CompareIndependence(em.values, p); err == nil {
			gaps = append(gaps, g.MeanAbs)
		}
	}
	return mean(gaps)
}

// mirageOverWidth scores each task metric at the final checkpoint as a function of d_model (seed
// mean), per (n_layers, n_heads), with BIG-bench linearity and breakthroughness.
func mirageOverWidth(cs *curves, sweep string) []data.MirageRow {
	type fk struct {
		task            string
		nLayers, nHeads int32
		split, metric   string
	}
	vals := map[fk]map[int32][]float64{}
	for k, c := range cs.byKey {
		s := k.series
		if s.Kind != "task" || s.Position != data.NA || len(c.values) == 0 {
			continue
		}
		f := fk{c.coords.Task, c.coords.NLayers, c.coords.NHeads, s.Split, s.Metric}
		if vals[f] == nil {
			vals[f] = map[int32][]float64{}
		}
		vals[f][c.coords.DModel] = append(vals[f][c.coords.DModel], c.values[len(c.values)-1])
	}
	var out []data.MirageRow
	keys := make([]fk, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, k := range keys {
		widths := make([]int32, 0)
		for w := range vals[k] {
			widths = append(widths, w)
		}
		if len(widths) < 3 {
			continue
		}
		slices.Sort(widths)
		y := make([]float64, len(widths))
		seeds := 0
		for i, w := range widths {
			y[i] = mean(vals[k][w])
			seeds = max(seeds, len(vals[k][w]))
		}
		discrete := k.metric == "exact_match"
		known := false
		for _, m := range mirageMetrics {
			known = known || m.name == k.metric
		}
		if !known {
			continue
		}
		out = append(out, data.MirageRow{Sweep: sweep, Task: k.task, DModel: data.NA, NLayers: k.nLayers, NHeads: k.nHeads, Axis: "width",
			Split: k.split, Metric: k.metric, Discrete: discrete, Seeds: int32(seeds), MedianDeltaAIC: math.NaN(), MedianWidth: math.NaN(),
			Linearity: transition.Linearity(y), Breakthroughness: transition.Breakthroughness(y), IndependenceGap: math.NaN()})
	}
	return out
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
