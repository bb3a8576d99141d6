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
	taskS := taskSeries(split, cmp.Or(v.TaskMetric, data.MetricExactMatch))
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
	panels, lo, hi := b.couplingPanels(rows)
	if len(panels) == 0 {
		f.Note = "No coupling row has cells where both the internal curve and exact match are abrupt in transitions.parquet."
		return f
	}
	// Whole decades around every panel's onsets, the same on both axes and in every panel.
	alo, ahi := math.Pow(10, math.Floor(lg(lo))), math.Pow(10, math.Ceil(lg(hi)+1e-9))
	var grid [][]*plot.Plot
	var shown []string
	warm := false
	for _, pn := range panels {
		warm = b.drawCouplingPanel(pn, alo, ahi) || warm
		if len(grid) == 0 {
			grid = append(grid, nil)
		}
		grid[0] = append(grid[0], pn.p)
		shown = append(shown, pn.v.Subject)
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

// couplingPanel is one coupling row's panel and its points.
type couplingPanel struct {
	p   *plot.Plot
	pts []couplingPoint
	v   data.VerdictRow
}

// couplingPanels makes the (empty) panels of the first maxCouplingPanels rows that have points,
// and returns the range of onsets (step + 1) over all of them.
func (b *builder) couplingPanels(rows []data.VerdictRow) (panels []couplingPanel, lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
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
		panels = append(panels, couplingPanel{p, pts, v})
	}
	return panels, lo, hi
}

// drawCouplingPanel draws a panel on the axes [alo, ahi]: the identity, a point per cell (a
// colour per width, a marker and a label per seed, ringed when an onset is in the warm-up) and
// the row's Theil–Sen line. It reports whether a point was ringed.
func (b *builder) drawCouplingPanel(pn couplingPanel, alo, ahi float64) (warm bool) {
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
	return warm
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
