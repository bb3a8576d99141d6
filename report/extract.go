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
	kind := "internal"
	if isTaskMetric(m.Metric) {
		kind = "task"
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
	return data.Series{Kind: "task", Split: split, Layer: data.NA, Head: data.NA, Position: data.NA, Metric: metric}
}

// primarySplit is the split the task curves are shown on: the probe split of the spec when it
// has rows, else "test", else "train", else the first split found.
func primarySplit(rows []data.MetricRow, preferred string) string {
	has := map[string]bool{}
	var first string
	for _, m := range rows {
		if m.Metric == "diverged" {
			continue
		}
		if first == "" {
			first = m.Split
		}
		has[m.Split] = true
	}
	for _, s := range []string{preferred, "test", "probe", "train"} {
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

// familyOrder is the order internal metric families are shown in; unknown families follow,
// alphabetically.
var familyOrder = []string{
	"effective_rank", "rankme", "participation_ratio", "stable_rank", "cka_final", "cka_next_width",
	"induction_score", "prev_token_score", "duplicate_token_score", "entropy", "specialisation",
	"probe_accuracy", "probe_selectivity", "probe_control_accuracy",
}

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
	type stats struct {
		abrupt  int
		q       []float64
		lo, hi  float64
		sum     map[int64]float64
		n       map[int64]int
		present bool
	}
	bySeries := map[data.Series]*stats{}
	get := func(s data.Series) *stats {
		s.Kind = ""
		st := bySeries[s]
		if st == nil {
			st = &stats{sum: map[int64]float64{}, n: map[int64]int{}}
			bySeries[s] = st
		}
		return st
	}
	for _, m := range internal {
		if m.Metric == "singular_value" || isNaNOrInf(data.Float(m.Value)) {
			continue
		}
		st := get(seriesOf(m))
		st.present = true
		st.sum[m.Step] += data.Float(m.Value)
		st.n[m.Step]++
	}
	for _, t := range trans {
		if t.Kind == "task" || isTaskMetric(t.Metric) {
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
	type cand struct {
		s      data.Series
		abrupt int
		q      float64 // median q, +Inf without one
		change float64
	}
	best := map[string]cand{}
	for s, st := range bySeries {
		if !st.present {
			continue
		}
		c := cand{s: s, abrupt: st.abrupt, q: math.Inf(1)}
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

// headScore is one attention head's score at the final checkpoint of one cell.
type headScore struct {
	data.Coords
	Layer, Head int32
	Metric      string // induction_score, prev_token_score, duplicate_token_score or specialisation
	Value       float64
	Step        int64
}

// headMetrics are the head-level scores that mark a specialised head, in order of preference.
var headMetrics = []string{"induction_score", "prev_token_score", "duplicate_token_score"}

// topHeads returns up to n heads to show, each the best cell of a distinct (layer, head): the
// heads with the highest final-step induction, previous-token or duplicate-token score over all
// cells. When there are no head scores, the layers with the highest specialisation are used, each
// with its head 0. Ties go to the lower layer, head and cell.
func topHeads(internal []data.MetricRow, n int) []headScore {
	last := map[string]int64{} // cell -> last step with a head score
	for _, m := range internal {
		if isHeadMetric(m) || m.Metric == "specialisation" {
			last[m.Cell] = max(last[m.Cell], m.Step)
		}
	}
	var cands []headScore
	for _, m := range internal {
		if m.Step != last[m.Cell] || isNaNOrInf(data.Float(m.Value)) {
			continue
		}
		if isHeadMetric(m) {
			cands = append(cands, headScore{Coords: m.Coords, Layer: m.Layer, Head: m.Head, Metric: m.Metric, Value: data.Float(m.Value), Step: m.Step})
		}
	}
	if len(cands) == 0 {
		for _, m := range internal {
			if m.Step == last[m.Cell] && m.Metric == "specialisation" && m.Layer != data.NA && !isNaNOrInf(data.Float(m.Value)) {
				cands = append(cands, headScore{Coords: m.Coords, Layer: m.Layer, Head: 0, Metric: m.Metric, Value: data.Float(m.Value), Step: m.Step})
			}
		}
	}
	slices.SortFunc(cands, func(a, b headScore) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Layer, b.Layer); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Head, b.Head); c != 0 {
			return c
		}
		if c := cmp.Compare(slices.Index(headMetrics, a.Metric), slices.Index(headMetrics, b.Metric)); c != 0 {
			return c
		}
		return compareCoords(a.Coords, b.Coords)
	})
	var out []headScore
	seen := map[[2]int32]bool{}
	for _, c := range cands {
		k := [2]int32{c.Layer, c.Head}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, c)
		if len(out) == n {
			break
		}
	}
	return out
}

func isHeadMetric(m data.MetricRow) bool {
	return m.Layer != data.NA && m.Head != data.NA && slices.Contains(headMetrics, m.Metric)
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

// beforeAfter chooses the checkpoints to show around a transition at onset (width in decades,
// NaN when unknown): the last checkpoint at or below onset minus half the width (at least one
// checkpoint below the onset) and the first at or above onset plus half the width. When onset is
// NaN they are the first and last checkpoints. steps must be sorted; before and after are equal
// only when there is one checkpoint.
func beforeAfter(steps []int64, onset, width float64) (before, after int64) {
	if len(steps) == 0 {
		return 0, 0
	}
	first, last := steps[0], steps[len(steps)-1]
	if isNaNOrInf(onset) {
		return first, last
	}
	half := 0.0
	if !isNaNOrInf(width) && width > 0 {
		half = width / 2
	}
	lo := math.Pow(10, math.Log10(onset+1)-half) - 1
	hi := math.Pow(10, math.Log10(onset+1)+half) - 1
	before, after = first, last
	for _, s := range steps {
		if float64(s) <= lo && float64(s) < onset {
			before = s
		}
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if float64(steps[i]) >= hi && float64(steps[i]) > onset {
			after = steps[i]
		}
	}
	if before == after && len(steps) > 1 {
		if before == last {
			before = steps[len(steps)-2]
		} else {
			after = last
		}
	}
	return before, after
}

// pattern accumulates the mean attention pattern [query, key] of one head at one step.
type pattern struct {
	sum [][]float64
	n   []int
}

// add adds the weights of one query position; patterns longer than seen before grow the matrix.
func (p *pattern) add(query int, weights []float32) {
	size := max(query+1, len(weights), len(p.sum))
	for len(p.sum) < size {
		p.sum = append(p.sum, nil)
		p.n = append(p.n, 0)
	}
	for i := range p.sum {
		for len(p.sum[i]) < size {
			p.sum[i] = append(p.sum[i], 0)
		}
	}
	for k, w := range weights {
		p.sum[query][k] += float64(w)
	}
	p.n[query]++
}

// mean returns the mean pattern [query][key]; rows of queries never seen are NaN.
func (p *pattern) mean() [][]float64 {
	out := make([][]float64, len(p.sum))
	for q, row := range p.sum {
		out[q] = make([]float64, len(row))
		for k, s := range row {
			if p.n[q] == 0 {
				out[q][k] = math.NaN()
			} else {
				out[q][k] = s / float64(p.n[q])
			}
		}
	}
	return out
}

// meanPatterns adds the attention rows of the given (layer, head) to acc, one mean pattern per
// step; steps restricts the steps (nil: all). Call pattern.mean for the [query][key] average over
// examples. Steps without rows get no entry.
func meanPatterns(rows []data.AttentionRow, layer, head int32, steps []int64, acc map[int64]*pattern) {
	for _, r := range rows {
		if r.Layer != layer || r.Head != head || (steps != nil && !slices.Contains(steps, r.Step)) {
			continue
		}
		p := acc[r.Step]
		if p == nil {
			p = &pattern{}
			acc[r.Step] = p
		}
		p.add(int(r.QueryPos), r.Pattern)
	}
}

// spectrum is the singular values of one site of one cell at one step, largest first.
type spectrum struct {
	data.Coords
	Site   string
	Step   int64
	Values []float64 // indexed by position (the singular value's index)
}

// spectraOf returns the singular-value spectra (metric "singular_value", position = index) of
// one site, per cell and step, sorted by cell then step. site "" picks the site with the most
// rows (ties: the deepest name alphabetically last).
func spectraOf(internal []data.MetricRow, site string) (string, []spectrum) {
	if site == "" {
		count := map[string]int{}
		for _, m := range internal {
			if m.Metric == "singular_value" {
				count[m.Site]++
			}
		}
		best := -1
		for s, n := range count {
			if n > best || (n == best && s > site) {
				site, best = s, n
			}
		}
		if best < 0 {
			return "", nil
		}
	}
	type key struct {
		cell string
		step int64
	}
	byKey := map[key]*spectrum{}
	for _, m := range internal {
		if m.Metric != "singular_value" || m.Site != site || m.Position < 0 {
			continue
		}
		k := key{m.Cell, m.Step}
		sp := byKey[k]
		if sp == nil {
			sp = &spectrum{Coords: m.Coords, Site: site, Step: m.Step}
			byKey[k] = sp
		}
		for len(sp.Values) <= int(m.Position) {
			sp.Values = append(sp.Values, math.NaN())
		}
		sp.Values[m.Position] = data.Float(m.Value)
	}
	out := make([]spectrum, 0, len(byKey))
	for _, sp := range byKey {
		out = append(out, *sp)
	}
	slices.SortFunc(out, func(a, b spectrum) int {
		if c := compareCoords(a.Coords, b.Coords); c != 0 {
			return c
		}
		return cmp.Compare(a.Step, b.Step)
	})
	return site, out
}
