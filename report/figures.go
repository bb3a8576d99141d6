package report

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/internal/nanstat"
)

// maxCouplingPanels caps the coupling scatter; maxWindowShapes and maxWindowSeeds the window
// figure; maxWidthInternal the internal metrics of the over-width figure.
const (
	maxCouplingPanels = 3
	maxWindowShapes   = 4
	maxWindowSeeds    = 3
	maxWidthInternal  = 3
)

// widthGlyph is the marker of a width: its colour and a shape of its own.
func (b *builder) widthGlyph(w int32, radius vg.Length) draw.GlyphStyle {
	i := max(slices.Index(b.widths, w), 0)
	return draw.GlyphStyle{Color: b.colours[w], Radius: radius, Shape: glyphShapes[i%len(glyphShapes)]}
}

// sameFamily reports whether coordinates c belong to the family of verdict row v.
func sameFamily(c data.Coords, v data.VerdictRow) bool {
	return c.Task == v.Task && c.NLayers == v.NLayers && c.NHeads == v.NHeads
}

// couplingPoint is one cell of the coupling scatter: its task and internal onsets (steps).
type couplingPoint struct {
	data.Coords
	Task, Internal float64
	InWarmup       bool // either onset lies in the learning-rate warm-up
}

// couplingPoints pairs, per cell of v's family, the onset of exact match on split with the onset
// of v's internal curve (metric, site, layer, head and concept of the row; any split, the first
// in name order when several), over the cells where both curves are abrupt with an onset.
func couplingPoints(trans []data.TransitionRow, v data.VerdictRow, split string) []couplingPoint {
	taskS := taskSeries(split, cmp.Or(v.TaskMetric, "exact_match"))
	type in struct {
		split string
		o     onset
	}
	tasks := map[string]onset{}
	ins := map[string]in{}
	for _, t := range trans {
		if !sameFamily(t.Coords, v) || !t.Abrupt {
			continue
		}
		st, ok := finite(t.MidStep)
		if !ok || st < 0 {
			continue
		}
		o := onset{Coords: t.Coords, Step: st, InWarmup: t.InWarmup}
		switch {
		case sameSeries(t.Series, taskS):
			tasks[t.Cell] = o
		case !isTaskMetric(t.Metric) && t.Metric == v.Metric && t.Site == v.Site && t.Layer == v.Layer && t.Head == v.Head && t.Concept == v.Concept:
			if old, ok := ins[t.Cell]; !ok || t.Split < old.split {
				ins[t.Cell] = in{t.Split, o}
			}
		}
	}
	var out []couplingPoint
	for cell, to := range tasks {
		io, ok := ins[cell]
		if !ok {
			continue
		}
		out = append(out, couplingPoint{Coords: to.Coords, Task: to.Step, Internal: io.o.Step, InWarmup: to.InWarmup || io.o.InWarmup})
	}
	slices.SortFunc(out, func(a, b couplingPoint) int { return compareCoords(a.Coords, b.Coords) })
	return out
}

// theilSenIntercept is the intercept that goes with a given slope in Theil–Sen regression: the
// median of y − slope·x (Sen 1968).
func theilSenIntercept(x, y []float64, slope float64) float64 {
	r := make([]float64, len(x))
	for i := range x {
		r[i] = y[i] - slope*x[i]
	}
	return nanstat.Median(r)
}

// couplingFigure plots, for the coupling rows (coupled ones first, at most maxCouplingPanels),
// the internal onset against exact match's onset over the cells that have both, with the
// identity line and the row's Theil–Sen slope.
func (b *builder) couplingFigure() figure {
	f := figure{ID: "coupling", Title: "Internal onset against task onset across cells",
		Caption: "One panel per coupling row of the verdict table (coupled rows first): each point is one cell (a seed of one width) whose exact match and internal curve are both abrupt, " +
			"at the midpoints of their largest jumps (transitions.parquet), on log axes of training step + 1. A colour per width and a marker per seed, each point labelled with its seed " +
			"(in the SVG, follow the figure's link, hovering a point shows its cell and both onsets); " +
			"dotted grey: the identity (internal onset = task onset); solid black: the row's fitted Theil–Sen slope (its effect), through the median of y − slope·x. " +
			"Points ringed in red have an onset in the learning-rate warm-up."}
	var rows []data.VerdictRow
	for _, v := range b.r.Verdicts {
		if v.Question == data.QuestionCoupling && v.Metric != "" && !strings.HasPrefix(v.Verdict, "control at ceiling") {
			rows = append(rows, v)
		}
	}
	if !b.r.HasVerdicts || !b.r.HasTransitions {
		f.Note = "No verdicts or transitions table yet: run phaseprobe analyze."
		return f
	}
	if len(rows) == 0 {
		f.Note = "The verdicts table has no coupling row with onsets to plot."
		return f
	}
	rows = orderVerdicts(rows)
	var grid [][]*plot.Plot
	var shown []string
	lo, hi := math.Inf(1), math.Inf(-1)
	type panel struct {
		p   *plot.Plot
		pts []couplingPoint
		v   data.VerdictRow
	}
	var panels []panel
	warm := false
	for _, v := range rows {
		if len(panels) == maxCouplingPanels {
			break
		}
		pts := couplingPoints(b.r.Transitions, v, b.split)
		if len(pts) == 0 {
			continue
		}
		title := v.Subject + "\n" + v.Verdict
		if s, ok := finite(v.Stat); ok {
			title += fmt.Sprintf(", τ = %.2f", s)
		}
		if q, ok := finite(v.Q); ok {
			title += ", q = " + fmtP(q)
		}
		p := newPlot(title, "task onset: step + 1 (log scale)", "internal onset: step + 1 (log scale)")
		for _, pt := range pts {
			lo, hi = math.Min(lo, math.Min(pt.Task, pt.Internal)+1), math.Max(hi, math.Max(pt.Task, pt.Internal)+1)
		}
		panels = append(panels, panel{p, pts, v})
		shown = append(shown, v.Subject)
	}
	if len(panels) == 0 {
		f.Note = "No coupling row has cells where both the internal curve and exact match are abrupt in transitions.parquet."
		return f
	}
	// Whole decades around every panel's onsets, the same on both axes and in every panel.
	alo, ahi := math.Pow(10, math.Floor(lg(lo))), math.Pow(10, math.Ceil(lg(hi)+1e-9))
	for _, pn := range panels {
		p := pn.p
		p.Add(segment{X0: lg(alo), Y0: lg(alo), X1: lg(ahi), Y1: lg(ahi), Style: taskOnsetStyle()})
		var xs, ys []float64
		for _, w := range b.widths {
			var pts plotter.XYs
			var labels []string
			for _, pt := range pn.pts {
				if pt.DModel != w {
					continue
				}
				xy := plotter.XY{X: lg(pt.Task + 1), Y: lg(pt.Internal + 1)}
				pts = append(pts, xy)
				labels = append(labels, fmt.Sprintf("s%d", pt.Seed))
				xs, ys = append(xs, xy.X), append(ys, xy.Y)
				if pt.InWarmup {
					warm = true
					if sc, err := plotter.NewScatter(plotter.XYs{xy}); err == nil {
						sc.GlyphStyle = draw.GlyphStyle{Color: warmupStyle().Color, Radius: vg.Points(6), Shape: draw.RingGlyph{}}
						p.Add(sc)
					}
				}
			}
			if len(pts) == 0 {
				continue
			}
			k := 0
			for _, pt := range pn.pts {
				if pt.DModel != w {
					continue
				}
				g := b.seedGlyph(pt.Seed, b.colours[w])
				g.Radius = vg.Points(3.2)
				p.Add(points{XYs: plotter.XYs{pts[k]}, Style: g, Titles: []string{fmt.Sprintf("%s against exact match · %s · task onset step %.0f · internal onset step %.0f",
					pn.v.Subject, cellName(pt.Coords), pt.Task, pt.Internal)}})
				k++
			}
			if lb, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels}); err == nil {
				for i := range lb.TextStyle {
					lb.TextStyle[i] = text.Style{Font: font.From(sans, vg.Points(6.5)), Color: color.Gray{0x55}, Handler: plot.DefaultTextHandler}
				}
				lb.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(2)}
				p.Add(lb)
			}
		}
		if slope, ok := finite(pn.v.Effect); ok && len(xs) > 0 {
			c := theilSenIntercept(xs, ys, slope)
			p.Add(segment{X0: lg(alo), Y0: c + slope*lg(alo), X1: lg(ahi), Y1: c + slope*lg(ahi),
				Style: draw.LineStyle{Color: color.Black, Width: vg.Points(1.2)}, Clip: true})
		}
		setLogAxis(&p.X, alo, ahi)
		setLogAxis(&p.Y, alo, ahi)
		if len(grid) == 0 {
			grid = append(grid, nil)
		}
		grid[0] = append(grid[0], p)
	}
	leg := newLegend()
	for _, w := range b.widths {
		leg.add(fmt.Sprintf("d_model %d", w), glyphThumb(draw.GlyphStyle{Color: b.colours[w], Radius: vg.Points(3.5), Shape: draw.BoxGlyph{}}))
	}
	for _, sd := range b.seeds {
		g := b.seedGlyph(sd, color.Black)
		g.Radius = vg.Points(3.2)
		leg.add(fmt.Sprintf("seed %d", sd), glyphThumb(g))
	}
	leg.add("identity", lineThumb(taskOnsetStyle()))
	leg.add("Theil–Sen slope", lineThumb{Color: color.Black, Width: vg.Points(1.2)})
	if warm {
		leg.add("onset in warm-up", glyphThumb(draw.GlyphStyle{Color: warmupStyle().Color, Radius: vg.Points(5), Shape: draw.RingGlyph{}}))
	}
	if n := len(rows); n > len(panels) {
		f.Note = fmt.Sprintf("%d of %d coupling rows shown (%s); the others are in the verdict table.", len(panels), n, strings.Join(shown, "; "))
	}
	b.save(&f, figureLayout{Grid: grid, Legend: leg, PanelsW: vg.Length(len(panels)) * 3.2 * vg.Inch, H: 3.4 * vg.Inch})
	return f
}

// jitter returns the log-axis coordinate of width w for series i of n, spread around lg(w) so
// that the series' points do not hide each other.
func jitter(w float64, i, n int) float64 {
	return lg(w) + lg(2)*0.07*(float64(i)-float64(n-1)/2)
}

// segment is a straight line between two points in data coordinates; with Clip it is cut to the
// panel. It does not widen the axes.
type segment struct {
	X0, Y0, X1, Y1 float64
	Style          draw.LineStyle
	Clip           bool
}

func (s segment) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	pts := []vg.Point{{X: trX(s.X0), Y: trY(s.Y0)}, {X: trX(s.X1), Y: trY(s.Y1)}}
	if s.Clip {
		c.StrokeLines(s.Style, c.ClipLinesXY(pts)...)
		return
	}
	c.StrokeLine2(s.Style, pts[0].X, pts[0].Y, pts[1].X, pts[1].Y)
}

// scoring is one scoring of the outputs in the window figure.
type scoring struct {
	Metric   string
	Position int32 // NA except for position_accuracy
}

// scoringStyle gives every scoring its own line: exact match thick black; per-token accuracy,
// log-probability, Brier score and edit distance their own colour and dashes; the per-position
// accuracies one colour with a dash pattern per position.
func scoringStyle(s scoring) draw.LineStyle {
	switch s.Metric {
	case "exact_match":
		return draw.LineStyle{Color: color.Black, Width: vg.Points(2)}
	case "token_accuracy":
		return draw.LineStyle{Color: categorical[0], Width: vg.Points(1.3)}
	case "position_accuracy":
		d := dashPatterns[1+int(max(s.Position, 0))%(len(dashPatterns)-1)]
		return draw.LineStyle{Color: categorical[1], Width: vg.Points(1.1), Dashes: d}
	case "logprob":
		return draw.LineStyle{Color: categorical[2], Width: vg.Points(1.3)}
	case "brier":
		return draw.LineStyle{Color: categorical[3], Width: vg.Points(1.3), Dashes: dashPatterns[1]}
	case "edit_distance":
		return draw.LineStyle{Color: categorical[5], Width: vg.Points(1.3), Dashes: dashPatterns[2]}
	}
	return draw.LineStyle{Color: grey, Width: vg.Points(1)}
}

// scoringLabel names a scoring in legends and hover texts.
func scoringLabel(s scoring) string {
	if s.Metric == "position_accuracy" {
		return fmt.Sprintf("position %d accuracy", s.Position)
	}
	return metricTitle(s.Metric)
}

// lowerIsBetter are the scorings flipped in the window figure so that improvement is up.
var lowerIsBetter = map[string]bool{"brier": true, "edit_distance": true, "loss": true}

// windowColour shades exact match's jump window: Okabe–Ito orange, translucent.
var windowColour = color.NRGBA{0xe6, 0x9f, 0x00, 0x48}

// normalise min–max normalises v (NaN kept), flipped when flip; a constant curve maps to 0.
func normalise(v []float64, flip bool) []float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range v {
		if !isNaNOrInf(x) {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	out := make([]float64, len(v))
	for i, x := range v {
		switch {
		case isNaNOrInf(x):
			out[i] = math.NaN()
		case hi > lo:
			out[i] = (x - lo) / (hi - lo)
		}
		if flip && !math.IsNaN(out[i]) {
			out[i] = 1 - out[i]
		}
	}
	return out
}

// windowFigure shows every scoring of the outputs across exact match's jump window: per shape of
// the mirage table (a row of panels), per seed (a panel), each scoring min–max normalised, the
// window shaded.
func (b *builder) windowFigure() figure {
	f := figure{ID: "scorings_window", Title: "Every scoring of the outputs across exact match's jump window",
		Caption: fmt.Sprintf("One row per model shape of the mirage table, one panel per seed (%s split). Each scoring of the same outputs is min–max normalised over the whole curve "+
			"to 0 (its worst) – 1 (its best) (Brier score and edit distance, where lower is better, are flipped so that improvement is up); the shaded band is exact match's jump window from the mirage table "+
			"(median over the seeds that jump). A mirage shows as the continuous scorings rising smoothly through the band while exact match jumps.", b.split)}
	if !b.r.HasMirage {
		f.Note = "No mirage table yet: run phaseprobe analyze."
		return f
	}
	type shape struct {
		d, l, h int32
		lo, hi  float64
	}
	var shapes []shape
	for _, m := range b.r.Mirage {
		lo, okl := finite(m.WindowLo)
		hi, okh := finite(m.WindowHi)
		if !m.Discrete || !okl || !okh || (m.Split != b.split && slices.ContainsFunc(b.r.Mirage, func(x data.MirageRow) bool { return x.Split == b.split })) {
			continue
		}
		if !slices.ContainsFunc(shapes, func(s shape) bool { return s.d == m.DModel && s.l == m.NLayers && s.h == m.NHeads }) {
			shapes = append(shapes, shape{m.DModel, m.NLayers, m.NHeads, lo, hi})
		}
	}
	if len(shapes) == 0 {
		f.Note = "The mirage table has no jump window (no shape's exact match jumps)."
		return f
	}
	slices.SortFunc(shapes, func(a, b shape) int {
		return cmp.Or(cmp.Compare(a.l, b.l), cmp.Compare(a.h, b.h), cmp.Compare(a.d, b.d))
	})
	if len(shapes) > maxWindowShapes {
		f.Note = fmt.Sprintf("The first %d of %d shapes are shown.", maxWindowShapes, len(shapes))
		shapes = shapes[:maxWindowShapes]
	}
	// The scorings there are, in table order.
	var scs []scoring
	for _, m := range b.r.Task {
		if m.Split != b.split || m.Metric == "diverged" || m.Metric == "loss" {
			continue
		}
		s := scoring{m.Metric, data.NA}
		if m.Metric == "position_accuracy" {
			s.Position = m.Position
		} else if m.Position != data.NA {
			continue
		}
		if !slices.Contains(scs, s) {
			scs = append(scs, s)
		}
	}
	slices.SortFunc(scs, func(a, b scoring) int {
		return cmp.Or(cmp.Compare(scoringIndex(a.Metric), scoringIndex(b.Metric)), cmp.Compare(a.Position, b.Position))
	})
	series := func(s scoring) data.Series {
		ts := taskSeries(b.split, s.Metric)
		ts.Position = s.Position
		return ts
	}
	curves := map[scoring][]curve{}
	for _, s := range scs {
		curves[s] = curvesOf(b.r.Task, series(s))
	}
	var grid [][]*plot.Plot
	cols := 0
	for _, sh := range shapes {
		var cells []data.Coords
		for _, c := range b.r.Cells {
			if c.DModel == sh.d && c.NLayers == sh.l && c.NHeads == sh.h && c.HasMetrics {
				cells = append(cells, c.Coords)
			}
		}
		if len(cells) > maxWindowSeeds {
			cells = cells[:maxWindowSeeds]
		}
		var row []*plot.Plot
		for _, cell := range cells {
			p := newPlot(fmt.Sprintf("%s seed %d\nwindow: steps %.0f–%.0f", shapeOf(sh.d, sh.l, sh.h), cell.Seed, sh.lo, sh.hi),
				stepAxisLabel, "normalised score")
			band, err := plotter.NewPolygon(plotter.XYs{{X: lg(sh.lo + 1), Y: -0.05}, {X: lg(sh.hi + 1), Y: -0.05}, {X: lg(sh.hi + 1), Y: 1.05}, {X: lg(sh.lo + 1), Y: 1.05}})
			if err == nil {
				band.Color = windowColour
				band.LineStyle = draw.LineStyle{}
				p.Add(band)
			}
			for si, s := range scs {
				for _, c := range curves[s] {
					if c.Cell != cell.Cell {
						continue
					}
					x := make([]float64, len(c.Steps))
					for i, st := range c.Steps {
						x[i] = lg(st + 1)
					}
					y := normalise(c.Values, lowerIsBetter[s.Metric])
					for _, seg := range segments(x, y) {
						l, err := plotter.NewLine(seg)
						if err != nil {
							continue
						}
						l.LineStyle = scoringStyle(s)
						p.Add(l)
					}
					pts := points{Style: draw.GlyphStyle{Color: scoringStyle(s).Color, Radius: vg.Points(1.8), Shape: glyphShapes[si%len(glyphShapes)]}}
					for i := range x {
						if !isNaNOrInf(x[i]) && !isNaNOrInf(y[i]) {
							pts.XYs = append(pts.XYs, plotter.XY{X: x[i], Y: y[i]})
							pts.Titles = append(pts.Titles, pointTitle(scoringLabel(s), cellName(c.Coords), c.Steps[i], c.Values[i])+
								fmt.Sprintf(" (normalised %.2f)", y[i]))
						}
					}
					p.Add(pts)
				}
			}
			setLogAxis(&p.X, 1, b.maxStep+1)
			p.Y.Min, p.Y.Max = -0.05, 1.05
			row = append(row, p)
		}
		if len(row) > 0 {
			grid = append(grid, row)
			cols = max(cols, len(row))
		}
	}
	if len(grid) == 0 {
		f.Note = strings.TrimSpace(f.Note + " No cell of the mirage table's shapes has task metrics.")
		return f
	}
	leg := newLegend()
	for si, s := range scs {
		name := scoringLabel(s)
		if lowerIsBetter[s.Metric] {
			name += " (flipped)"
		}
		leg.add(name, lineThumb(scoringStyle(s)), glyphThumb(draw.GlyphStyle{Color: scoringStyle(s).Color, Radius: vg.Points(1.8), Shape: glyphShapes[si%len(glyphShapes)]}))
	}
	leg.add("exact match's jump window", glyphThumb(draw.GlyphStyle{Color: windowColour, Radius: vg.Points(4), Shape: draw.BoxGlyph{}}))
	b.save(&f, figureLayout{Grid: grid, Legend: leg, PanelsW: vg.Length(cols) * 3 * vg.Inch, H: vg.Length(len(grid)) * 2.6 * vg.Inch})
	return f
}

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
	// The shape (n_layers, n_heads) with the most widths.
	var best [2]int32
	nbest := 0
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
	if nbest < 2 {
		f.Note = "The sweep has one width, so there is nothing to plot over width."
		return f
	}
	var series []data.Series
	var kinds []string
	for _, m := range []string{"exact_match", "token_accuracy", "logprob"} {
		if len(curvesOf(b.r.Task, taskSeries(b.split, m))) > 0 {
			series, kinds = append(series, taskSeries(b.split, m)), append(kinds, "task")
		}
	}
	// Internal: the coupling rows' curves (coupled first), then the panels of the internal figure.
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
	if len(series) == 0 {
		f.Note = "No task metrics yet."
		return f
	}
	// Steps every cell of the shape has for exact match (else the first series).
	var steps []int64
	count := map[int64]int{}
	ncells := 0
	for _, c := range curvesOf(b.r.Task, series[0]) {
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
	fixed := fixedSteps(steps)
	if len(fixed) == 0 {
		f.Note = "The cells share no checkpoint, so there is no fixed step to compare widths at."
		return f
	}
	stepNames := []string{"early", "middle", "final"}[3-len(fixed):]
	seedGlyph := func(seed int64) draw.GlyphDrawer { return b.seedGlyph(seed, color.Black).Shape }
	stepColours := []color.RGBA{categorical[0], categorical[1], categorical[6]}[3-len(fixed):]
	stepDashes := [][]vg.Length{dashPatterns[2], dashPatterns[1], nil}[3-len(fixed):]
	const cols = 3
	var grid [][]*plot.Plot
	for si, s := range series {
		rows := b.r.Task
		if kinds[si] == "internal" {
			rows = b.r.Internal
		}
		title := metricTitle(s.Metric)
		if kinds[si] == "internal" {
			title += "\n" + strings.TrimSpace(strings.TrimPrefix(seriesLabel(s), s.Metric))
		}
		p := newPlot(title, "d_model (log scale)", metricUnit(s.Metric))
		cs := curvesOf(rows, s)
		for k, st := range fixed {
			var pts plotter.XYs
			byWidth := map[int32][]float64{}
			var glyphs []draw.GlyphDrawer
			var titles []string
			for _, c := range cs {
				if c.NLayers != best[0] || c.NHeads != best[1] {
					continue
				}
				i := slices.Index(c.Steps, float64(st))
				if i < 0 || isNaNOrInf(c.Values[i]) {
					continue
				}
				x := jitter(float64(c.DModel), k, len(fixed))
				pts = append(pts, plotter.XY{X: x, Y: c.Values[i]})
				glyphs = append(glyphs, seedGlyph(c.Seed))
				titles = append(titles, pointTitle(strings.ReplaceAll(title, "\n", " "), cellName(c.Coords), float64(st), c.Values[i]))
				byWidth[c.DModel] = append(byWidth[c.DModel], c.Values[i])
			}
			for i, pt := range pts {
				p.Add(points{XYs: plotter.XYs{pt}, Titles: titles[i : i+1], Style: draw.GlyphStyle{Color: stepColours[k], Radius: vg.Points(2.6), Shape: glyphs[i]}})
			}
			var mean plotter.XYs
			for _, w := range b.widths {
				if v := byWidth[w]; len(v) > 0 {
					mean = append(mean, plotter.XY{X: jitter(float64(w), k, len(fixed)), Y: nanstat.Mean(v)})
				}
			}
			if len(mean) > 1 {
				if l, err := plotter.NewLine(mean); err == nil {
					l.LineStyle = draw.LineStyle{Color: stepColours[k], Width: vg.Points(1.2), Dashes: stepDashes[k]}
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
		if s.Metric == "exact_match" || s.Metric == "token_accuracy" {
			p.Y.Min, p.Y.Max = 0, 1
		}
		if si%cols == 0 {
			grid = append(grid, nil)
		}
		grid[len(grid)-1] = append(grid[len(grid)-1], p)
	}
	leg := newLegend()
	for k, st := range fixed {
		leg.add(fmt.Sprintf("%s: step %d (seed mean)", stepNames[k], st), lineThumb{Color: stepColours[k], Width: vg.Points(1.2), Dashes: stepDashes[k]})
	}
	for _, sd := range b.seeds {
		leg.add(fmt.Sprintf("seed %d", sd), glyphThumb(draw.GlyphStyle{Color: color.Black, Radius: vg.Points(2.6), Shape: seedGlyph(sd)}))
	}
	var names []string
	for k, st := range fixed {
		names = append(names, fmt.Sprintf("%s %d", stepNames[k], st))
	}
	f.Caption = fmt.Sprintf("n_layers %d, n_heads %d, %s split. Each panel is one metric against d_model at checkpoints %s "+
		"(the final one and those nearest a third and two thirds of the way along log(step + 1)): one point per seed (a marker per seed), the seed mean as a line (a colour and dashes per step); "+
		"points are spread slightly around each width. Task metrics first, then the internal curves of the coupling rows and of the internal-metric figure.",
		best[0], best[1], b.split, andList(names))
	ncols := min(cols, len(series))
	b.save(&f, figureLayout{Grid: grid, Legend: leg, PanelsW: vg.Length(ncols) * 3 * vg.Inch, H: vg.Length(len(grid)) * 2.6 * vg.Inch})
	return f
}
