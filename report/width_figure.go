package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/internal/nanstat"
)

// fixedSteps picks the early, middle and final checkpoints of the over-width figure from steps
// (sorted, distinct): the final one, and those nearest to one third and two thirds of
// log10(final + 1). Fewer come back when steps has fewer than three.
func fixedSteps(steps []int64) []int64 {
	if len(steps) == 0 {
		return nil
	}
	last := steps[len(steps)-1]
	var out []int64
	for _, frac := range []float64{1.0 / 3, 2.0 / 3} {
		target := frac * lg(float64(last)+1)
		best := steps[0]
		for _, s := range steps {
			if math.Abs(lg(float64(s)+1)-target) < math.Abs(lg(float64(best)+1)-target) {
				best = s
			}
		}
		if best != last && !slices.Contains(out, best) {
			out = append(out, best)
		}
	}
	return append(out, last)
}

// widthFigure plots task metrics and the top internal metrics against d_model at an early, a
// middle and the final checkpoint: seeds as points, the seed mean as a line.
func (b *builder) widthFigure() figure {
	f := figure{ID: "over_width", Title: "Task and internal metrics over width at fixed steps"}
	best, nbest := b.widestShape()
	if nbest < 2 {
		f.Note = "The sweep has one width, so there is nothing to plot over width."
		return f
	}
	series, kinds := b.widthSeries(best)
	if len(series) == 0 {
		f.Note = "No task metrics yet."
		return f
	}
	fixed := fixedSteps(b.sharedSteps(series[0], best))
	if len(fixed) == 0 {
		f.Note = "The cells share no checkpoint, so there is no fixed step to compare widths at."
		return f
	}
	st := stepStyles{
		names:   []string{"early", "middle", "final"}[3-len(fixed):],
		colours: []color.RGBA{categorical[0], categorical[1], categorical[6]}[3-len(fixed):],
		dashes:  [][]vg.Length{dashPatterns[2], dashPatterns[1], nil}[3-len(fixed):],
	}
	const cols = 3
	var grid [][]*plot.Plot
	for si, s := range series {
		p := b.widthPanel(s, kinds[si], best, fixed, st)
		if si%cols == 0 {
			grid = append(grid, nil)
		}
		grid[len(grid)-1] = append(grid[len(grid)-1], p)
	}
	leg := newLegend()
	for k, step := range fixed {
		leg.add(fmt.Sprintf("%s: step %d (seed mean)", st.names[k], step), lineThumb{Color: st.colours[k], Width: vg.Points(1.2), Dashes: st.dashes[k]})
	}
	for _, sd := range b.seeds {
		leg.add(fmt.Sprintf("seed %d", sd), glyphThumb(draw.GlyphStyle{Color: color.Black, Radius: vg.Points(2.6), Shape: b.seedShape(sd)}))
	}
	var names []string
	for k, step := range fixed {
		names = append(names, fmt.Sprintf("%s %d", st.names[k], step))
	}
	f.Caption = fmt.Sprintf("n_layers %d, n_heads %d, %s split. Each panel is one metric against d_model at checkpoints %s "+
		"(the final one and those nearest a third and two thirds of the way along log(step + 1)): one point per seed (a marker per seed), the seed mean as a line (a colour and dashes per step); "+
		"points are spread slightly around each width. Task metrics first, then the internal curves of the coupling rows and of the internal-metric figure.",
		best[0], best[1], b.split, andList(names))
	ncols := min(cols, len(series))
	b.save(&f, figureLayout{Grid: grid, Legend: leg, PanelsW: vg.Length(ncols) * 3 * vg.Inch, H: vg.Length(len(grid)) * 2.6 * vg.Inch})
	return f
}

// stepStyles are the names, colours and dash patterns of the fixed steps of the over-width figure.
type stepStyles struct {
	names   []string
	colours []color.RGBA
	dashes  [][]vg.Length
}

// seedShape is the marker of a seed, whatever its colour.
func (b *builder) seedShape(seed int64) draw.GlyphDrawer { return b.seedGlyph(seed, color.Black).Shape }

// widestShape returns the shape (n_layers, n_heads) with the most widths and how many it has.
func (b *builder) widestShape() (best [2]int32, nbest int) {
	for _, sh := range b.shapes() {
		var ws []int32
		for _, c := range b.r.Cells {
			if c.NLayers == sh[0] && c.NHeads == sh[1] && !slices.Contains(ws, c.DModel) {
				ws = append(ws, c.DModel)
			}
		}
		if len(ws) > nbest {
			best, nbest = sh, len(ws)
		}
	}
	return best, nbest
}

// widthTaskMetrics are the task metrics of the over-width figure: the all-or-nothing scoring and
// two continuous ones.
var widthTaskMetrics = []string{data.MetricExactMatch, data.MetricTokenAccuracy, data.MetricLogprob}

// widthSeries returns the series of the over-width figure with their kinds ("task" or
// "internal"): widthTaskMetrics, then the curves of the shape's coupling rows (coupled first) and
// the panels of the internal figure, at most maxWidthInternal.
func (b *builder) widthSeries(best [2]int32) (series []data.Series, kinds []string) {
	for _, m := range widthTaskMetrics {
		if len(curvesOf(b.r.Task, taskSeries(b.split, m))) > 0 {
			series, kinds = append(series, taskSeries(b.split, m)), append(kinds, "task")
		}
	}
	var internal []data.Series
	var cpl []data.VerdictRow
	for _, v := range b.r.Verdicts {
		if v.Question == data.QuestionCoupling && v.Metric != "" && v.NLayers == best[0] && v.NHeads == best[1] {
			cpl = append(cpl, v)
		}
	}
	for _, v := range orderVerdicts(cpl) {
		for _, m := range b.r.Internal {
			if m.Metric == v.Metric && m.Site == v.Site && m.Layer == v.Layer && m.Head == v.Head && m.Concept == v.Concept && m.Position == data.NA {
				s := seriesOf(m)
				if !slices.ContainsFunc(internal, func(x data.Series) bool { return sameSeries(x, s) }) {
					internal = append(internal, s)
				}
				break
			}
		}
	}
	for _, fam := range b.families {
		if !slices.ContainsFunc(internal, func(x data.Series) bool { return sameSeries(x, fam.Series) }) {
			internal = append(internal, fam.Series)
		}
	}
	if len(internal) > maxWidthInternal {
		internal = internal[:maxWidthInternal]
	}
	for _, s := range internal {
		series, kinds = append(series, s), append(kinds, "internal")
	}
	return series, kinds
}

// sharedSteps returns, ascending, the checkpoints that every cell of the shape has for series s.
func (b *builder) sharedSteps(s data.Series, best [2]int32) []int64 {
	var steps []int64
	count := map[int64]int{}
	ncells := 0
	for _, c := range curvesOf(b.r.Task, s) {
		if c.NLayers != best[0] || c.NHeads != best[1] {
			continue
		}
		ncells++
		for _, st := range c.Steps {
			count[int64(st)]++
		}
	}
	for st, n := range count {
		if n == ncells {
			steps = append(steps, st)
		}
	}
	slices.Sort(steps)
	return steps
}

// widthPanel draws one series of the shape against d_model at the fixed steps: a point per seed
// and the seed mean as a line per step.
func (b *builder) widthPanel(s data.Series, kind string, best [2]int32, fixed []int64, st stepStyles) *plot.Plot {
	rows := b.r.Task
	if kind == "internal" {
		rows = b.r.Internal
	}
	title := metricTitle(s.Metric)
	if kind == "internal" {
		title += "\n" + strings.TrimSpace(strings.TrimPrefix(seriesLabel(s), s.Metric))
	}
	p := newPlot(title, "d_model (log scale)", metricUnit(s.Metric))
	cs := curvesOf(rows, s)
	for k, step := range fixed {
		var pts plotter.XYs
		byWidth := map[int32][]float64{}
		var glyphs []draw.GlyphDrawer
		var titles []string
		for _, c := range cs {
			if c.NLayers != best[0] || c.NHeads != best[1] {
				continue
			}
			i := slices.Index(c.Steps, float64(step))
			if i < 0 || isNaNOrInf(c.Values[i]) {
				continue
			}
			x := jitter(float64(c.DModel), k, len(fixed))
			pts = append(pts, plotter.XY{X: x, Y: c.Values[i]})
			glyphs = append(glyphs, b.seedShape(c.Seed))
			titles = append(titles, pointTitle(strings.ReplaceAll(title, "\n", " "), cellName(c.Coords), float64(step), c.Values[i]))
			byWidth[c.DModel] = append(byWidth[c.DModel], c.Values[i])
		}
		for i, pt := range pts {
			p.Add(points{XYs: plotter.XYs{pt}, Titles: titles[i : i+1], Style: draw.GlyphStyle{Color: st.colours[k], Radius: vg.Points(2.6), Shape: glyphs[i]}})
		}
		var mean plotter.XYs
		for _, w := range b.widths {
			if v := byWidth[w]; len(v) > 0 {
				mean = append(mean, plotter.XY{X: jitter(float64(w), k, len(fixed)), Y: nanstat.Mean(v)})
			}
		}
		if len(mean) > 1 {
			if l, err := plotter.NewLine(mean); err == nil {
				l.LineStyle = draw.LineStyle{Color: st.colours[k], Width: vg.Points(1.2), Dashes: st.dashes[k]}
				p.Add(l)
			}
		}
	}
	var ticks []plot.Tick
	wlo, whi := math.Inf(1), math.Inf(-1)
	for _, w := range b.widths {
		ticks = append(ticks, plot.Tick{Value: lg(float64(w)), Label: fmt.Sprint(w)})
		wlo, whi = math.Min(wlo, float64(w)), math.Max(whi, float64(w))
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = lg(wlo/1.3), lg(whi*1.3)
	if s.Metric == data.MetricExactMatch || s.Metric == data.MetricTokenAccuracy {
		p.Y.Min, p.Y.Max = 0, 1
	}
	return p
}
