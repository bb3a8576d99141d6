package report

import (
	"cmp"
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
)

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
	case data.MetricExactMatch:
		return draw.LineStyle{Color: color.Black, Width: vg.Points(2)}
	case data.MetricTokenAccuracy:
		return draw.LineStyle{Color: categorical[0], Width: vg.Points(1.3)}
	case data.MetricPositionAccuracy:
		d := dashPatterns[1+int(max(s.Position, 0))%(len(dashPatterns)-1)]
		return draw.LineStyle{Color: categorical[1], Width: vg.Points(1.1), Dashes: d}
	case data.MetricLogprob:
		return draw.LineStyle{Color: categorical[2], Width: vg.Points(1.3)}
	case data.MetricBrier:
		return draw.LineStyle{Color: categorical[3], Width: vg.Points(1.3), Dashes: dashPatterns[1]}
	case data.MetricEditDistance:
		return draw.LineStyle{Color: categorical[5], Width: vg.Points(1.3), Dashes: dashPatterns[2]}
	}
	return draw.LineStyle{Color: grey, Width: vg.Points(1)}
}

// scoringLabel names a scoring in legends and hover texts.
func scoringLabel(s scoring) string {
	if s.Metric == data.MetricPositionAccuracy {
		return fmt.Sprintf("position %d accuracy", s.Position)
	}
	return metricTitle(s.Metric)
}

// lowerIsBetter reports whether a smaller value of the scoring is better (MetricInfo.LowerIsBetter):
// those are flipped in the window figure so that improvement is up.
func lowerIsBetter(metric string) bool {
	info, _ := data.LookupMetric(metric)
	return info.LowerIsBetter
}

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
	shapes := b.windowShapes()
	if len(shapes) == 0 {
		f.Note = "The mirage table has no jump window (no shape's exact match jumps)."
		return f
	}
	if len(shapes) > maxWindowShapes {
		f.Note = fmt.Sprintf("The first %d of %d shapes are shown.", maxWindowShapes, len(shapes))
		shapes = shapes[:maxWindowShapes]
	}
	scs := b.windowScorings()
	curves := map[scoring][]curve{}
	for _, s := range scs {
		ts := taskSeries(b.split, s.Metric)
		ts.Position = s.Position
		curves[s] = curvesOf(b.r.Task, ts)
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
			row = append(row, b.windowPanel(sh, cell, scs, curves))
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
		if lowerIsBetter(s.Metric) {
			name += " (flipped)"
		}
		leg.add(name, lineThumb(scoringStyle(s)), glyphThumb(draw.GlyphStyle{Color: scoringStyle(s).Color, Radius: vg.Points(1.8), Shape: glyphShapes[si%len(glyphShapes)]}))
	}
	leg.add("exact match's jump window", glyphThumb(draw.GlyphStyle{Color: windowColour, Radius: vg.Points(4), Shape: draw.BoxGlyph{}}))
	b.save(&f, figureLayout{Grid: grid, Legend: leg, PanelsW: vg.Length(cols) * 3 * vg.Inch, H: vg.Length(len(grid)) * 2.6 * vg.Inch})
	return f
}

// windowShape is a model shape of the mirage table with exact match's jump window (steps).
type windowShape struct {
	d, l, h int32
	lo, hi  float64
}

// windowShapes returns the shapes whose exact-match row of the mirage table (on the shown split,
// when the table has it) has a window, ordered by n_layers, n_heads and d_model.
func (b *builder) windowShapes() []windowShape {
	var shapes []windowShape
	for _, m := range b.r.Mirage {
		lo, okl := finite(m.WindowLo)
		hi, okh := finite(m.WindowHi)
		if !m.Discrete || !okl || !okh || (m.Split != b.split && slices.ContainsFunc(b.r.Mirage, func(x data.MirageRow) bool { return x.Split == b.split })) {
			continue
		}
		if !slices.ContainsFunc(shapes, func(s windowShape) bool { return s.d == m.DModel && s.l == m.NLayers && s.h == m.NHeads }) {
			shapes = append(shapes, windowShape{m.DModel, m.NLayers, m.NHeads, lo, hi})
		}
	}
	slices.SortFunc(shapes, func(a, b windowShape) int {
		return cmp.Or(cmp.Compare(a.l, b.l), cmp.Compare(a.h, b.h), cmp.Compare(a.d, b.d))
	})
	return shapes
}

// windowScorings returns the scorings of the shown split (loss left out; position accuracy per
// position), in the mirage table's order.
func (b *builder) windowScorings() []scoring {
	var scs []scoring
	for _, m := range b.r.Task {
		if m.Split != b.split || m.Metric == data.MetricLoss {
			continue
		}
		s := scoring{m.Metric, data.NA}
		if m.Metric == data.MetricPositionAccuracy {
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
	return scs
}

// windowPanel draws one seed of a shape: its jump window as a band and every scoring, normalised.
func (b *builder) windowPanel(sh windowShape, cell data.Coords, scs []scoring, curves map[scoring][]curve) *plot.Plot {
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
			y := normalise(c.Values, lowerIsBetter(s.Metric))
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
	return p
}
