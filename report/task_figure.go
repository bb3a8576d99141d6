package report

import (
	"fmt"
	"image/color"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/phaseprobe/phaseprobe/data"
)

// taskPanels are the task metrics of figure (a), discrete first.
var taskPanels = []string{data.MetricExactMatch, data.MetricTokenAccuracy, data.MetricLogprob, data.MetricEditDistance}

// taskFigure is figure (a): task metrics over training, one panel per metric (and per shape when
// the grid has several), one line per cell coloured by width.
func (b *builder) taskFigure() figure {
	f := figure{ID: "task_metrics", Title: "Task metrics over training",
		Caption: fmt.Sprintf("Each line is one cell (one seed of one shape) on the %s split, coloured by width, with a dash pattern and a marker per seed; "+
			"in the SVG (follow the figure's link), hovering a marker shows its metric, cell, step and value. "+
			"Exact match is all-or-nothing per answer; per-token accuracy, log-probability and edit distance score the same outputs continuously. "+
			"The x axis is log(step + 1).", b.split),
		Swatches: b.widthSwatches()}
	var metrics []string
	for _, m := range taskPanels {
		if len(curvesOf(b.r.Task, taskSeries(b.split, m))) > 0 {
			metrics = append(metrics, m)
		}
	}
	if len(metrics) == 0 {
		f.Note = "No task metrics yet: no cell has a metrics.parquet (training has not finished)."
		return f
	}
	shapes := b.shapes()
	const maxShapes = 4
	if len(shapes) > maxShapes {
		f.Note = fmt.Sprintf("Only the first %d of %d (n_layers, n_heads) shapes are shown.", maxShapes, len(shapes))
		shapes = shapes[:maxShapes]
	}
	var grid [][]*plot.Plot
	warm, marked, zoomed := false, false, false
	for _, sh := range shapes {
		var row []*plot.Plot
		for _, m := range metrics {
			p, w, mk, z := b.taskPanel(&f, sh, m, len(shapes) > 1)
			warm, marked, zoomed = warm || w, marked || mk, zoomed || z
			row = append(row, p)
		}
		grid = append(grid, row)
	}
	leg := newLegend()
	b.widthLegend(leg)
	if marked {
		leg.add("onset (abrupt curve)", lineThumb(onsetStyle(color.Black)))
		f.Caption += " Dashed vertical lines: onsets (midpoints of the largest jump) of the curves the analysis found abrupt, in the cell's colour."
	}
	if zoomed {
		leg.add("zoomed window", zoomThumb{})
		f.Caption += " Shaded bands: windows that phaseprobe zoom replayed with extra checkpoints (docs/zoom.md), in the cell's colour."
	}
	if warm {
		leg.add("onset in warm-up", lineThumb(warmupStyle()))
		f.Caption += " Red dash-dot lines: onsets that lie in the learning-rate warm-up."
	}
	if slices.ContainsFunc(b.r.Cells, func(c cellInfo) bool { return c.Diverged >= 0 }) {
		leg.add("diverged", glyphThumb(divergedGlyph(color.Black)))
	}
	b.save(&f, figureLayout{Grid: grid, Legend: leg, PanelsW: vg.Length(len(metrics)) * 3 * vg.Inch, H: vg.Length(len(grid)) * 2.5 * vg.Inch})
	return f
}

// exactSeries is the exact-match series on the shown split.
func (b *builder) exactSeries() data.Series { return taskSeries(b.split, data.MetricExactMatch) }

// taskPanel draws one task metric of one shape (n_layers, n_heads): every cell's line, the
// zoomed windows and the onsets of abrupt curves; inTitle adds the shape to the title. It reports
// whether an onset in the warm-up, any onset, and a zoomed window were drawn; a cell line that
// cannot be drawn is noted in f.
func (b *builder) taskPanel(f *figure, sh [2]int32, m string, inTitle bool) (p *plot.Plot, warm, marked, zoomed bool) {
	kind := "continuous"
	if m == data.MetricExactMatch {
		kind = "discrete"
	}
	title := fmt.Sprintf("%s (%s)", metricTitle(m), kind)
	if inTitle {
		title += fmt.Sprintf(", n_layers %d, n_heads %d", sh[0], sh[1])
	}
	p = newPlot(title, stepAxisLabel, metricUnit(m))
	zoomed = b.zoomBands(p, sh)
	for _, c := range curvesOf(b.r.Task, taskSeries(b.split, m)) {
		if c.NLayers != sh[0] || c.NHeads != sh[1] {
			continue
		}
		if err := b.cellLine(p, metricTitle(m), c, b.diverged(c.Cell)); err != nil {
			f.Note += " " + err.Error()
		}
	}
	for _, o := range onsetsOf(b.r.Transitions, taskSeries(b.split, m)) {
		if o.NLayers == sh[0] && o.NHeads == sh[1] {
			p.Add(onsetMark(o, b.colours[o.DModel]))
			warm = warm || o.InWarmup
			marked = true
		}
	}
	setLogAxis(&p.X, 1, b.maxStep+1)
	if m == data.MetricExactMatch || m == data.MetricTokenAccuracy {
		p.Y.Min, p.Y.Max = 0, 1
	}
	return p, warm, marked, zoomed
}
