package report

import (
	"cmp"
	"context"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/phaseprobe/phaseprobe/data"
)

// matGrid adapts a [row][col] matrix to plotter.GridXYZ with x = column, y = row.
type matGrid [][]float64

func (m matGrid) Dims() (c, r int) {
	if len(m) == 0 {
		return 0, 0
	}
	return len(m[0]), len(m)
}

func (m matGrid) Z(c, r int) float64 { return m[r][c] }

func (m matGrid) X(c int) float64 { return float64(c) }

func (m matGrid) Y(r int) float64 { return float64(r) }

// attentionMap is the colour map of attention weights: white (0) through yellow and red to black (1).
func attentionMap() palette.ColorMap {
	cm := moreland.BlackBody()
	cm.SetMin(0)
	cm.SetMax(1)
	return palette.Reverse(cm)
}

// headView is one head of figure (e) with its patterns before and after the task transition.
type headView struct {
	headScore
	Onset         float64
	Before, After int64
	Patterns      map[int64][][]float64
}

// attentionFigure is figure (e): mean attention patterns of the most specialised heads before and
// after the task transition of their cell.
func (b *builder) attentionFigure(ctx context.Context) (figure, error) {
	f := figure{ID: "attention", Title: "Attention patterns of the most specialised heads",
		Caption: "Mean attention weight over the captured probe examples, query position (rows, top = first) against key position (columns), " +
			"at the last checkpoint before and the first after the task transition of the head's cell (exact-match onset, widened by half the transition width on each side). " +
			"Heads are the highest induction, previous-token or duplicate-token scores at the final checkpoint, each shown in the cell where it scores highest."}
	heads, ok := b.shownHeads(&f)
	if !ok {
		return f, nil
	}
	views := make([]headView, len(heads))
	byCell := map[string][]int{}
	for i, h := range heads {
		views[i] = headView{headScore: h, Patterns: map[int64][][]float64{}}
		byCell[h.Cell] = append(byCell[h.Cell], i)
	}
	for cell, idx := range byCell {
		if err := ctx.Err(); err != nil {
			return f, err
		}
		if err := b.cellPatterns(ctx, &f, cell, idx, views); err != nil {
			return f, err
		}
	}
	cm := attentionMap()
	grid := attentionGrid(views, cm.Palette(256))
	if len(grid) == 0 {
		f.Note = strings.TrimSpace(f.Note + " No attention rows were found for the chosen heads.")
		return f, nil
	}
	f.Caption += " Rows, top to bottom: " + strings.Join(attentionLabels(views), "; ") + "."
	bar := plot.New()
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	bar.HideX()
	bar.Y.Label.Text = "mean attention weight"
	setFonts(bar)
	bar.Y.Min, bar.Y.Max = 0, 1
	b.save(&f, figureLayout{Grid: grid, Side: bar, SideWidth: 1.1 * vg.Inch, PanelsW: 2 * 3 * vg.Inch, H: vg.Length(len(grid)) * 2.9 * vg.Inch})
	return f, nil
}

// shownHeads returns the heads the figure shows: the top-scoring ones, else (no head scores yet)
// head 0 of each layer of the widest cell with attention patterns, saying so in f's note. ok is
// false when no cell captured attention patterns (the note says that too).
func (b *builder) shownHeads(f *figure) (heads []headScore, ok bool) {
	heads = topHeads(b.r.Internal, b.opts.Heads)
	if len(heads) > 0 {
		return heads, true
	}
	var c *cellInfo
	for i := range b.r.Cells {
		ci := &b.r.Cells[i]
		if fileExists(filepath.Join(ci.Dir, data.AttentionFile)) && (c == nil || ci.DModel > c.DModel) {
			c = ci
		}
	}
	if c == nil {
		f.Note = "No attention patterns were captured (no cell has an attention.parquet)."
		return nil, false
	}
	for l := int32(0); l < max(c.NLayers, 1) && len(heads) < b.opts.Heads; l++ {
		heads = append(heads, headScore{Coords: c.Coords, Layer: l, Head: 0, Value: math.NaN()})
	}
	f.Note = fmt.Sprintf("No head scores yet (run phaseprobe analyze): showing head 0 of each layer of %s.", c.Cell)
	return heads, true
}

// cellPatterns reads one cell's attention.parquet and fills in the views idx of its heads: the
// cell's task onset, the checkpoints before and after it (beforeAfter) and the mean pattern of
// each head there. A cell without attention.parquet gets a line in f's note.
func (b *builder) cellPatterns(ctx context.Context, f *figure, cell string, idx []int, views []headView) error {
	dir := ""
	for _, c := range b.r.Cells {
		if c.Cell == cell {
			dir = c.Dir
		}
	}
	path := filepath.Join(dir, data.AttentionFile)
	if dir == "" || !fileExists(path) {
		f.Note = strings.TrimSpace(f.Note + fmt.Sprintf(" Cell %s has no attention.parquet.", cell))
		return nil
	}
	acc := make([]map[int64]*pattern, len(idx))
	for j := range acc {
		acc[j] = map[int64]*pattern{}
	}
	var steps []int64
	if _, err := data.ReadTable(path, func(rows []data.AttentionRow) error {
		for _, r := range rows {
			if !slices.Contains(steps, r.Step) {
				steps = append(steps, r.Step)
			}
		}
		for j, i := range idx {
			meanPatterns(rows, views[i].Layer, views[i].Head, nil, acc[j])
		}
		return ctx.Err()
	}); err != nil {
		return err
	}
	slices.Sort(steps)
	var em curve
	if cs := curvesOf(b.r.Task, b.exactSeries()); len(cs) > 0 {
		for _, c := range cs {
			if c.Cell == cell {
				em = c
			}
		}
	}
	onset, width := taskOnset(b.r.Transitions, cell, b.exactSeries(), em)
	before, after := beforeAfter(steps, onset, width)
	for j, i := range idx {
		v := &views[i]
		v.Onset, v.Before, v.After = onset, before, after
		for _, st := range []int64{before, after} {
			if p := acc[j][st]; p != nil {
				v.Patterns[st] = p.mean()
			}
		}
	}
	return nil
}

// attentionGrid draws one row of heat maps per view with patterns: before and after the onset (a
// nil panel where a checkpoint has none).
func attentionGrid(views []headView, pal palette.Palette) [][]*plot.Plot {
	var grid [][]*plot.Plot
	for _, v := range views {
		if len(v.Patterns) == 0 {
			continue
		}
		var row []*plot.Plot
		for k, st := range []int64{v.Before, v.After} {
			m, ok := v.Patterns[st]
			if !ok || len(m) == 0 {
				row = append(row, nil)
				continue
			}
			when := "before"
			if k == 1 {
				when = "after"
			}
			if math.IsNaN(v.Onset) {
				when = map[int]string{0: "first checkpoint", 1: "last checkpoint"}[k]
			}
			title := fmt.Sprintf("L%dH%d of d_model %d seed %d\nstep %d (%s)", v.Layer, v.Head, v.DModel, v.Seed, st, when)
			p := newPlot(title, "key position", "query position")
			hm := plotter.NewHeatMap(matGrid(m), pal)
			hm.Min, hm.Max = 0, 1
			hm.NaN = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
			// Rasterized heat maps are not drawn under an inverted Y scale (gonum/plot v0.17): draw cells.
			hm.Rasterized = false
			p.Add(hm)
			p.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
			p.X.Tick.Marker = intTicks{}
			p.Y.Tick.Marker = intTicks{}
			row = append(row, p)
		}
		grid = append(grid, row)
	}
	return grid
}

// attentionLabels names the rows of the grid: head, cell, score and task onset.
func attentionLabels(views []headView) []string {
	var labels []string
	for _, v := range views {
		if len(v.Patterns) == 0 {
			continue
		}
		s := fmt.Sprintf("L%dH%d in %s", v.Layer, v.Head, v.Cell)
		if !math.IsNaN(v.Value) {
			s += fmt.Sprintf(" (%s %.2f)", strings.ReplaceAll(v.Metric, "_", " "), v.Value)
		}
		if !math.IsNaN(v.Onset) {
			s += fmt.Sprintf(", task onset ≈ step %.0f", v.Onset)
		}
		labels = append(labels, s)
	}
	return labels
}

// intTicks labels integer positions, at most about eight labels per axis.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	a, z := int(math.Ceil(lo)), int(math.Floor(hi))
	every := max(1, (z-a+1+7)/8)
	var t []plot.Tick
	for i := a; i <= z; i++ {
		if i%every == 0 {
			t = append(t, plot.Tick{Value: float64(i), Label: fmt.Sprint(i)})
		}
	}
	return t
}

// headScore is one attention head's score at the final checkpoint of one cell.
type headScore struct {
	data.Coords
	Layer, Head int32
	Metric      string // induction_score, prev_token_score, duplicate_token_score or specialisation
	Value       float64
	Step        int64
}

// headMetrics are the head-level scores that mark a specialised head, in order of preference
// (the vocabulary's): the metrics with a head axis (data.AxisHead) whose value is high for a
// specialised head. Attention entropy, low for a focused head, is left out.
var headMetrics = func() []string {
	var out []string
	for _, m := range data.MetricNames(data.KindInternal) {
		if info, _ := data.LookupMetric(m); info.Axes.Has(data.AxisHead) && m != data.MetricEntropy {
			out = append(out, m)
		}
	}
	return out
}()

// topHeads returns up to n heads to show, each the best cell of a distinct (layer, head): the
// heads with the highest final-step induction, previous-token or duplicate-token score over all
// cells. When there are no head scores, the layers with the highest specialisation are used, each
// with its head 0. Ties go to the lower layer, head and cell.
func topHeads(internal []data.MetricRow, n int) []headScore {
	last := map[string]int64{} // cell -> last step with a head score
	for _, m := range internal {
		if isHeadMetric(m) || m.Metric == data.MetricSpecialisation {
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
			if m.Step == last[m.Cell] && m.Metric == data.MetricSpecialisation && m.Layer != data.NA && !isNaNOrInf(data.Float(m.Value)) {
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
