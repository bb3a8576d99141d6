package report

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// internalFigure is figure (b): one panel per internal metric family, its most relevant series,
// with the onsets of that series and of exact match marked.
func (b *builder) internalFigure() figure {
	f := figure{ID: "internal_metrics", Title: "Internal metrics over training",
		Caption: "One panel per internal metric, showing the site, layer, head or concept whose curve is abrupt in the most cells " +
			"(or, without transitions, changes the most). Dashed vertical lines: that curve's onsets (midpoints of the largest jump of abrupt curves), in the cell's width colour; " +
			"dotted grey lines: exact-match onsets. " +
			"So that a panel stays readable with many seeds, each line is the median over the seeds of one width (and shape) at every checkpoint, " +
			"with a marker per width, and the shaded band runs from the lower to the upper quartile over those seeds (linear interpolation, numpy's default); " +
			"crosses mark the last checkpoint of diverged cells. The single seeds are in the over-width figure and in analysis/internal_metrics.parquet; " +
			"in the SVG (follow the figure's link), hovering a marker shows the width, the number of seeds, the step, the median and the quartiles.",
		Swatches: b.widthSwatches()}
	if len(b.families) == 0 {
		f.Note = "No internal metrics yet: run phaseprobe analyze to compute rank, CKA, head scores and probes."
		return f
	}
	taskOnsets := onsetsOf(b.r.Transitions, b.exactSeries())
	const cols = 3
	var grid [][]*plot.Plot
	warm := false
	for i, fam := range b.families {
		if i%cols == 0 {
			grid = append(grid, nil)
		}
		title := metricTitle(fam.Metric) + "\n" + strings.TrimSpace(strings.TrimPrefix(seriesLabel(fam.Series), fam.Metric))
		if b.r.HasTransitions {
			title += fmt.Sprintf(" · abrupt in %d/%d cells", fam.Abrupt, len(curvesOf(b.r.Internal, fam.Series)))
		}
		p := newPlot(title, stepAxisLabel, metricUnit(fam.Metric))
		if err := b.seedMedians(p, seriesLabel(fam.Series), curvesOf(b.r.Internal, fam.Series)); err != nil {
			f.Note += " " + err.Error()
		}
		for _, o := range onsetsOf(b.r.Transitions, fam.Series) {
			p.Add(onsetMark(o, b.colours[o.DModel]))
			warm = warm || o.InWarmup
		}
		for _, o := range taskOnsets {
			if o.InWarmup {
				p.Add(onsetMark(o, grey))
				warm = true
			} else {
				p.Add(vline{X: lg(o.Step + 1), Style: taskOnsetStyle()})
			}
		}
		setLogAxis(&p.X, 1, b.maxStep+1)
		grid[len(grid)-1] = append(grid[len(grid)-1], p)
	}
	leg := newLegend()
	for _, w := range b.widths {
		leg.add(fmt.Sprintf("d_model %d (median over seeds)", w), lineThumb{Color: b.colours[w], Width: vg.Points(1.5)}, glyphThumb(b.widthGlyph(w, vg.Points(2))))
	}
	leg.add("quartiles over seeds", glyphThumb(draw.GlyphStyle{Color: bandColour(color.RGBA{0x70, 0x70, 0x70, 0xff}), Radius: vg.Points(4), Shape: draw.BoxGlyph{}}))
	if slices.ContainsFunc(b.r.Cells, func(c cellInfo) bool { return c.Diverged >= 0 }) {
		leg.add("diverged", glyphThumb(divergedGlyph(color.Black)))
	}
	leg.add("internal onset", lineThumb(onsetStyle(color.Black)))
	leg.add("exact-match onset", lineThumb(taskOnsetStyle()))
	if warm {
		leg.add("onset in warm-up", lineThumb(warmupStyle()))
		f.Caption += " Red dash-dot lines: onsets (internal or exact match) that lie in the learning-rate warm-up."
	}
	ncols := min(cols, len(b.families))
	b.save(&f, figureLayout{Grid: grid, Legend: leg, PanelsW: vg.Length(ncols) * 3 * vg.Inch, H: vg.Length(len(grid)) * 2.5 * vg.Inch})
	return f
}

// bandColour is c, translucent, for a band behind its line.
func bandColour(c color.RGBA) color.NRGBA { return color.NRGBA{c.R, c.G, c.B, 0x38} }

// quantile is the q-quantile of sorted (ascending, finite, not empty) by linear interpolation
// between order statistics: numpy.quantile's default ("linear", Hyndman & Fan 1996 type 7),
// x[h] with h = (n − 1)·q.
func quantile(sorted []float64, q float64) float64 {
	h := float64(len(sorted)-1) * q
	i := int(math.Floor(h))
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// seedBand is, per checkpoint, the median and quartiles of one group's seeds there (the seeds
// with a finite value at that step).
type seedBand struct {
	Steps, Median, Lo, Hi []float64
	N                     []int
}

// bandOf summarises curves (one group's seeds) at every step any of them has.
func bandOf(cs []curve) seedBand {
	at := map[float64][]float64{}
	var steps []float64
	for _, c := range cs {
		for i, st := range c.Steps {
			if isNaNOrInf(c.Values[i]) {
				continue
			}
			if _, ok := at[st]; !ok {
				steps = append(steps, st)
			}
			at[st] = append(at[st], c.Values[i])
		}
	}
	slices.Sort(steps)
	var b seedBand
	for _, st := range steps {
		v := at[st]
		slices.Sort(v)
		b.Steps = append(b.Steps, st)
		b.Median = append(b.Median, quantile(v, 0.5))
		b.Lo = append(b.Lo, quantile(v, 0.25))
		b.Hi = append(b.Hi, quantile(v, 0.75))
		b.N = append(b.N, len(v))
	}
	return b
}

// seedMedians adds to p, for each (shape, width) of curves, the median over its seeds as a line
// with hover-text markers, the quartile band behind it, and a cross at the last point of each
// diverged cell.
func (b *builder) seedMedians(p *plot.Plot, series string, curves []curve) error {
	type group struct{ d, l, h int32 }
	var groups []group
	by := map[group][]curve{}
	for _, c := range curves {
		g := group{c.DModel, c.NLayers, c.NHeads}
		if _, ok := by[g]; !ok {
			groups = append(groups, g)
		}
		by[g] = append(by[g], c)
	}
	slices.SortFunc(groups, func(a, b group) int {
		return cmp.Or(cmp.Compare(a.l, b.l), cmp.Compare(a.h, b.h), cmp.Compare(a.d, b.d))
	})
	shapes := b.shapes()
	for _, g := range groups {
		col := b.colours[g.d]
		si := max(slices.Index(shapes, [2]int32{g.l, g.h}), 0)
		bd := bandOf(by[g])
		x := make([]float64, len(bd.Steps))
		for i, st := range bd.Steps {
			x[i] = lg(st + 1)
		}
		for _, lohi := range bandRuns(x, bd.Lo, bd.Hi) {
			if poly, err := plotter.NewPolygon(lohi); err == nil {
				poly.Color = bandColour(col)
				poly.LineStyle = draw.LineStyle{}
				p.Add(poly)
			}
		}
		for _, seg := range segments(x, bd.Median) {
			l, err := plotter.NewLine(seg)
			if err != nil {
				return err
			}
			l.Color, l.Width, l.Dashes = col, vg.Points(1.4), dashPatterns[si%len(dashPatterns)]
			p.Add(l)
		}
		who := fmt.Sprintf("d_model %d", g.d)
		if len(shapes) > 1 {
			who += fmt.Sprintf(" n_layers %d n_heads %d", g.l, g.h)
		}
		pts := points{Style: b.widthGlyph(g.d, vg.Points(2))}
		for i, st := range bd.Steps {
			if isNaNOrInf(x[i]) {
				continue
			}
			pts.XYs = append(pts.XYs, plotter.XY{X: x[i], Y: bd.Median[i]})
			pts.Titles = append(pts.Titles, pointTitle(series, fmt.Sprintf("%s, median of %d seeds (quartiles %s to %s)", who, bd.N[i],
				strconv.FormatFloat(bd.Lo[i], 'g', 4, 64), strconv.FormatFloat(bd.Hi[i], 'g', 4, 64)), st, bd.Median[i]))
		}
		p.Add(pts)
		for _, c := range by[g] {
			if !b.diverged(c.Cell) {
				continue
			}
			for i := len(c.Steps) - 1; i >= 0; i-- {
				if !isNaNOrInf(c.Values[i]) {
					p.Add(points{XYs: plotter.XYs{{X: lg(c.Steps[i] + 1), Y: c.Values[i]}}, Style: divergedGlyph(col),
						Titles: []string{pointTitle(series, cellName(c.Coords)+", diverged", c.Steps[i], c.Values[i])}})
					break
				}
			}
		}
	}
	return nil
}

// bandRuns returns the closed polygons (lo forwards, hi backwards) of the runs of points where
// x, lo and hi are all finite.
func bandRuns(x, lo, hi []float64) []plotter.XYs {
	var out []plotter.XYs
	start := -1
	flush := func(end int) {
		if start >= 0 && end-start >= 2 {
			var poly plotter.XYs
			for i := start; i < end; i++ {
				poly = append(poly, plotter.XY{X: x[i], Y: lo[i]})
			}
			for i := end - 1; i >= start; i-- {
				poly = append(poly, plotter.XY{X: x[i], Y: hi[i]})
			}
			out = append(out, poly)
		}
		start = -1
	}
	for i := range x {
		if isNaNOrInf(x[i]) || isNaNOrInf(lo[i]) || isNaNOrInf(hi[i]) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(x))
	return out
}

func onsetStyle(c color.Color) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}
}

func taskOnsetStyle() draw.LineStyle {
	return draw.LineStyle{Color: grey, Width: vg.Points(0.8), Dashes: []vg.Length{vg.Points(1), vg.Points(2)}}
}
