package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/internal/nanstat"
)

// curve is one metric of one cell over training steps, sorted by step.
type curve struct {
	data.Coords
	Steps  []float64
	Values []float64
}

// seriesOf returns the curve identity of a metric row (everything but coordinates, step and value).
func seriesOf(m data.MetricRow) data.Series {
	kind := data.KindInternal
	if isTaskMetric(m.Metric) {
		kind = data.KindTask
	}
	return data.Series{Kind: kind, Split: m.Split, Site: m.Site, Layer: m.Layer, Head: m.Head,
		Position: m.Position, Concept: m.Concept, Metric: m.Metric}
}

// sameSeries compares two series ignoring Kind, which metric rows do not carry.
func sameSeries(a, b data.Series) bool {
	a.Kind, b.Kind = "", ""
	return a == b
}

// curvesOf groups the rows of series s into one curve per cell, each sorted by step, the curves
// sorted by d_model, n_layers, n_heads and seed. Duplicate steps keep the last row.
func curvesOf(rows []data.MetricRow, s data.Series) []curve {
	byCell := map[string]map[int64]float64{}
	coords := map[string]data.Coords{}
	for _, m := range rows {
		if !sameSeries(seriesOf(m), s) {
			continue
		}
		if byCell[m.Cell] == nil {
			byCell[m.Cell] = map[int64]float64{}
			coords[m.Cell] = m.Coords
		}
		byCell[m.Cell][m.Step] = data.Float(m.Value)
	}
	var out []curve
	for cell, pts := range byCell {
		steps := make([]int64, 0, len(pts))
		for st := range pts {
			steps = append(steps, st)
		}
		slices.Sort(steps)
		c := curve{Coords: coords[cell], Steps: make([]float64, len(steps)), Values: make([]float64, len(steps))}
		for i, st := range steps {
			c.Steps[i], c.Values[i] = float64(st), pts[st]
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b curve) int { return compareCoords(a.Coords, b.Coords) })
	return out
}

// taskSeries is the series of a whole-answer task metric at a split.
func taskSeries(split, metric string) data.Series {
	return data.Series{Kind: data.KindTask, Split: split, Layer: data.NA, Head: data.NA, Position: data.NA, Metric: metric}
}

// primarySplit is the split the task curves (rows, sentinels left out as loadRun does) are
// shown on when the analysis recorded none (a run not yet analysed): the probe split of the
// spec when it has rows, else "test", else "train", else the first split found.
func primarySplit(rows []data.MetricRow, preferred string) string {
	has := map[string]bool{}
	var first string
	for _, m := range rows {
		if first == "" {
			first = m.Split
		}
		has[m.Split] = true
	}
	for _, s := range []string{preferred, data.SplitTest, data.SplitProbe, data.SplitTrain} {
		if s != "" && has[s] {
			return s
		}
	}
	return first
}

// widths returns the distinct d_model values of the cells, ascending.
func widths(cells []cellInfo) []int32 {
	var w []int32
	for _, c := range cells {
		if !slices.Contains(w, c.DModel) {
			w = append(w, c.DModel)
		}
	}
	slices.Sort(w)
	return w
}

// internalLabel names an internal curve the way TransformerLens users read it:
// "induction_score L1H0", "effective_rank blocks.1.hook_resid_post", "probe_accuracy
// blocks.0.hook_resid_post [carry]".
func internalLabel(metric, site string, layer, head int32, concept string) string {
	var b strings.Builder
	b.WriteString(metric)
	switch {
	case site != "":
		b.WriteString(" " + site)
	case layer != data.NA && head != data.NA:
		fmt.Fprintf(&b, " L%dH%d", layer, head)
	case layer != data.NA:
		fmt.Fprintf(&b, " L%d", layer)
	}
	if site != "" && head != data.NA {
		fmt.Fprintf(&b, " H%d", head)
	}
	if concept != "" {
		b.WriteString(" [" + concept + "]")
	}
	return b.String()
}

// seriesLabel is internalLabel of a series.
func seriesLabel(s data.Series) string {
	return internalLabel(s.Metric, s.Site, s.Layer, s.Head, s.Concept)
}

// familyOrder is the order internal metric families are shown in: the internal and control
// curves of the vocabulary in its order (rank and CKA, head scores, probes), except
// familiesLast; those and names the vocabulary does not know follow, alphabetically.
var familyOrder = func() []string {
	var out []string
	for _, info := range data.Metrics() {
		if info.Kind != data.KindTask && !info.Sentinel && !info.Spectrum && !familiesLast[info.Name] {
			out = append(out, info.Name)
		}
	}
	return out
}()

// familiesLast are the internal metrics shown only after every other family, so that the
// default DefaultFamilies panels go to the others: the integer-valued numerical rank (a coarse
// copy of the rank measures), the probe's log-loss (its accuracy and selectivity carry the
// probe) and the shuffled-label baseline (the control task is the baseline shown).
var familiesLast = map[string]bool{data.MetricNumericalRank: true, data.MetricProbeLogLoss: true, data.MetricProbeShuffledAccuracy: true}

// family is one internal metric and the series chosen to show it.
type family struct {
	Metric string
	Series data.Series
	Abrupt int // cells whose curve of Series is abrupt in the transitions table
}

// pickFamilies chooses, for each internal metric (except singular_value, which has its own
// plot), its most relevant series: the one abrupt in the most cells according to trans, ties
// broken by the smallest median q of "contains an abrupt transition" (the analysis's BH q), then
// by the largest relative change of its cell-mean curve
// (which decides alone when there are no transitions), then by name. Families come in
// familyOrder, then alphabetically; at most max (all when max ≤ 0).
func pickFamilies(internal []data.MetricRow, trans []data.TransitionRow, max int) []family {
	bySeries := map[data.Series]*seriesStats{}
	get := func(s data.Series) *seriesStats {
		s.Kind = ""
		st := bySeries[s]
		if st == nil {
			st = &seriesStats{sum: map[int64]float64{}, n: map[int64]int{}}
			bySeries[s] = st
		}
		return st
	}
	for _, m := range internal {
		if m.Metric == data.MetricSingularValue || isNaNOrInf(data.Float(m.Value)) {
			continue
		}
		st := get(seriesOf(m))
		st.present = true
		st.sum[m.Step] += data.Float(m.Value)
		st.n[m.Step]++
	}
	for _, t := range trans {
		if t.Kind == data.KindTask || isTaskMetric(t.Metric) {
			continue
		}
		s := t.Series
		s.Kind = ""
		st := bySeries[s]
		if st == nil {
			continue
		}
		if t.Abrupt {
			st.abrupt++
		}
		if t.Q != nil && !isNaNOrInf(*t.Q) {
			st.q = append(st.q, *t.Q)
		}
	}
	best := bestSeries(bySeries)
	var out []family
	for metric, c := range best {
		out = append(out, family{Metric: metric, Series: c.s, Abrupt: c.abrupt})
	}
	slices.SortFunc(out, func(a, b family) int {
		ia, ib := orderIndex(a.Metric), orderIndex(b.Metric)
		if ia != ib {
			return cmp.Compare(ia, ib)
		}
		return strings.Compare(a.Metric, b.Metric)
	})
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out
}

// seriesStats is what pickFamilies gathers of one internal series (kind left out) over the cells.
type seriesStats struct {
	abrupt  int       // cells where the series is abrupt
	q       []float64 // the cells' BH q-values
	lo, hi  float64
	sum     map[int64]float64 // step → sum over cells
	n       map[int64]int     // step → cells
	present bool              // the series has rows
}

// familyCandidate is a series considered for its metric's panel.
type familyCandidate struct {
	s      data.Series
	abrupt int
	q      float64 // median q, +Inf without one
	change float64
}

// bestSeries picks, for each metric, its most relevant present series (see pickFamilies).
func bestSeries(bySeries map[data.Series]*seriesStats) map[string]familyCandidate {
	best := map[string]familyCandidate{}
	for s, st := range bySeries {
		if !st.present {
			continue
		}
		c := familyCandidate{s: s, abrupt: st.abrupt, q: math.Inf(1)}
		if len(st.q) > 0 {
			c.q = nanstat.Median(st.q)
		}
		lo, hi, scale := math.Inf(1), math.Inf(-1), 0.0
		for step, sum := range st.sum {
			v := sum / float64(st.n[step])
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			scale = math.Max(scale, math.Abs(v))
		}
		if scale > 0 {
			c.change = (hi - lo) / scale
		}
		old, ok := best[s.Metric]
		if !ok || better(c.abrupt, c.q, c.change, seriesLabel(c.s), old.abrupt, old.q, old.change, seriesLabel(old.s)) {
			best[s.Metric] = c
		}
	}
	return best
}

// better reports whether candidate a beats candidate b.
func better(aAbrupt int, aQ, aChange float64, aName string, bAbrupt int, bQ, bChange float64, bName string) bool {
	if aAbrupt != bAbrupt {
		return aAbrupt > bAbrupt
	}
	if aQ != bQ {
		return aQ < bQ
	}
	if aChange != bChange {
		return aChange > bChange
	}
	return aName < bName
}

func orderIndex(metric string) int {
	if i := slices.Index(familyOrder, metric); i >= 0 {
		return i
	}
	return len(familyOrder)
}

func isNaNOrInf(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// onset is the onset of one curve of one cell.
type onset struct {
	data.Coords
	Step     float64 // onset step: the midpoint of the curve's largest jump
	InWarmup bool    // that onset lies in the learning-rate warm-up
}

// onsetsOf returns the onsets of series s in the cells where its curve is abrupt with a finite
// onset step (TransitionRow.MidStep), sorted like the cells. Series are compared without Kind.
func onsetsOf(trans []data.TransitionRow, s data.Series) []onset {
	var out []onset
	for _, t := range trans {
		if !sameSeries(t.Series, s) || !t.Abrupt {
			continue
		}
		if st, ok := finite(t.MidStep); ok && st >= 0 {
			out = append(out, onset{Coords: t.Coords, Step: st, InWarmup: t.InWarmup})
		}
	}
	slices.SortFunc(out, func(a, b onset) int { return compareCoords(a.Coords, b.Coords) })
	return out
}

// finite returns *p and whether p is non-nil and finite.
func finite(p *float64) (float64, bool) {
	if p == nil || isNaNOrInf(*p) {
		return math.NaN(), false
	}
	return *p, true
}

// taskOnset returns the step of the task transition of a cell and its width in decades: the
// midpoint of the largest jump of its exact-match curve in trans (abrupt or not); else the first
// 50 % crossing of the exact-match curve em on log10(step+1), by linear interpolation; else NaN.
// The width is NaN when unknown.
func taskOnset(trans []data.TransitionRow, cell string, s data.Series, em curve) (step, widthDecades float64) {
	for _, t := range trans {
		if t.Cell != cell || !sameSeries(t.Series, s) {
			continue
		}
		if v, ok := finite(t.MidStep); ok && v >= 0 {
			w, _ := finite(t.Width)
			return v, w
		}
	}
	for i := 1; i < len(em.Steps); i++ {
		y0, y1 := em.Values[i-1], em.Values[i]
		if isNaNOrInf(y0) || isNaNOrInf(y1) || y0 >= 0.5 || y1 < 0.5 {
			continue
		}
		x0, x1 := math.Log10(em.Steps[i-1]+1), math.Log10(em.Steps[i]+1)
		x := x0 + (0.5-y0)/(y1-y0)*(x1-x0)
		return math.Pow(10, x) - 1, math.NaN()
	}
	return math.NaN(), math.NaN()
}
