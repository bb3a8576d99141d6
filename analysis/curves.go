package analysis

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"slices"

	"github.com/phaseprobe/phaseprobe/data"
)

// curveKey identifies one curve of one cell.
type curveKey struct {
	cell   string
	series data.Series
}

// String is the key's stable text, used to seed each curve's random stream.
func (k curveKey) String() string {
	s := k.series
	return fmt.Sprintf("%s|%s|%s|%s|%d|%d|%d|%s|%s", k.cell, s.Kind, s.Split, s.Site, s.Layer, s.Head, s.Position, s.Concept, s.Metric)
}

// curve is one metric of one cell over checkpoints.
type curve struct {
	coords data.Coords
	series data.Series
	steps  []int64
	values []float64
}

// finite returns the curve's checkpoints with finite values, as x = log10(step+1), y, and steps.
func (c *curve) finite() (x, y []float64, steps []int64) {
	for i, s := range c.steps {
		if v := c.values[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			x = append(x, logStep(s))
			y = append(y, v)
			steps = append(steps, s)
		}
	}
	return x, y, steps
}

// last is the curve's value at its last checkpoint with a finite value, NaN if none.
func (c *curve) last() float64 {
	for i := len(c.values) - 1; i >= 0; i-- {
		if v := c.values[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v
		}
	}
	return math.NaN()
}

// curves holds every curve of the sweep (they are small: one value per checkpoint).
type curves struct {
	byKey     map[curveKey]*curve
	cells     map[string]data.Coords
	diverged  map[string]int64
	schedules map[string]*data.LRSchedule // nil for a cell without a readable config.json
	examples  map[string]int              // each cell's evaluation-set size (probe.examples); 0 unknown
	sweep     string
}

// logStep is the analysis axis: x = log10(step + 1).
func logStep(s int64) float64 { return math.Log10(float64(s) + 1) }

func stepOf(x float64) float64 {
	if math.IsNaN(x) {
		return math.NaN()
	}
	return math.Pow(10, x) - 1
}

// compareSeries orders series by kind, split, site, layer, head, position, concept and metric, with
// numbers compared as numbers.
func compareSeries(a, b data.Series) int {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Split, b.Split), cmp.Compare(a.Site, b.Site), cmp.Compare(a.Layer, b.Layer),
		cmp.Compare(a.Head, b.Head), cmp.Compare(a.Position, b.Position), cmp.Compare(a.Concept, b.Concept), cmp.Compare(a.Metric, b.Metric))
}

// sortedKeys returns the curve keys in a fixed order, so outputs are deterministic.
func (cs *curves) sortedKeys() []curveKey {
	keys := make([]curveKey, 0, len(cs.byKey))
	for k := range cs.byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b curveKey) int { return cmp.Or(cmp.Compare(a.cell, b.cell), compareSeries(a.series, b.series)) })
	return keys
}

// get returns a cell's curve of a series, nil if it has none.
func (cs *curves) get(cell string, s data.Series) *curve { return cs.byKey[curveKey{cell, s}] }

// taskSeries is the series of a whole-answer task metric at a split.
func taskSeries(split, metric string) data.Series {
	return data.Series{Kind: data.KindTask, Split: split, Layer: data.NA, Head: data.NA, Position: data.NA, Metric: metric}
}

// primarySplit is the split the capability is judged on: the held-out split "test" when the cells
// have it, else "train".
func (cs *curves) primarySplit() string {
	for cell := range cs.cells {
		if cs.get(cell, taskSeries(data.SplitTest, data.MetricExactMatch)) != nil {
			return data.SplitTest
		}
	}
	return data.SplitTrain
}

// shapeKey is a model shape: the cells that differ only by seed.
type shapeKey struct {
	task                    string
	dModel, nLayers, nHeads int32
}

func shapeOf(c data.Coords) shapeKey { return shapeKey{c.Task, c.DModel, c.NLayers, c.NHeads} }

func compareShapes(a, b shapeKey) int {
	return cmp.Or(cmp.Compare(a.task, b.task), cmp.Compare(a.nLayers, b.nLayers), cmp.Compare(a.nHeads, b.nHeads), cmp.Compare(a.dModel, b.dModel))
}

// familyKey is a family of widths: shapes that differ only by d_model.
type familyKey struct {
	task            string
	nLayers, nHeads int32
}

func familyOf(c data.Coords) familyKey { return familyKey{c.Task, c.NLayers, c.NHeads} }

func compareFamilies(a, b familyKey) int {
	return cmp.Or(cmp.Compare(a.task, b.task), cmp.Compare(a.nLayers, b.nLayers), cmp.Compare(a.nHeads, b.nHeads))
}

// streamSeed derives the seed of one curve's (or one question's) random stream from the analysis
// seed and its name, so results do not depend on the order work is scheduled in.
func streamSeed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// resolution is the step of a curve's values: 1/N for the task metrics that count answers over
// the N examples of an evaluation set (exact match; per-position accuracy), 0 (continuous, or
// not known here) for every other metric or when N is unknown. transition.TestCurve does not
// test a curve that moves by fewer than CurveConfig.MinQuanta such steps.
func resolution(metric string, examples int) float64 {
	if examples <= 0 {
		return 0
	}
	switch metric {
	case data.MetricExactMatch, data.MetricPositionAccuracy:
		return 1 / float64(examples)
	}
	return 0
}
