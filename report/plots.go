package report

import (
	"cmp"
	"context"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/phaseprobe/phaseprobe/data"
)

// figure is one plot of the report, or the note that stands in for it.
type figure struct {
	ID       string // file base name under img/
	Title    string
	Caption  string
	Note     string // why the plot is missing or partial; shown in its place or under it
	Num      int    // figure number on the page
	PNG, SVG string // paths relative to index.html; "" when there is no plot
	WidthPx  int    // CSS width of the image
	Swatches []swatch
}

// swatch is one entry of an HTML colour key.
type swatch struct {
	Colour, Label string
}

// builder holds what the figures share.
type builder struct {
	r        *run
	imgDir   string
	split    string // the split task curves are shown on
	widths   []int32
	colours  map[int32]color.RGBA
	families []family
	seeds    []int64 // distinct seeds, ascending: a seed's index picks its line dashes
	opts     Options
	maxStep  float64
	layouts  map[string]figureLayout // the layouts drawn, by figure ID, when not nil (for tests)
}

// taskPanels are the task metrics of figure (a), discrete first.
var taskPanels = []string{data.MetricExactMatch, data.MetricTokenAccuracy, data.MetricLogprob, data.MetricEditDistance}

// metricTitle names a metric for titles and tables.
func metricTitle(m string) string {
	switch m {
	case data.MetricExactMatch:
		return "exact match"
	case data.MetricTokenAccuracy:
		return "per-token accuracy"
	case data.MetricPositionAccuracy:
		return "per-position accuracy"
	case data.MetricLogprob:
		return "log-probability"
	case data.MetricEditDistance:
		return "edit distance"
	case data.MetricBrier:
		return "Brier score"
	}
	return strings.ReplaceAll(m, "_", " ")
}

// metricUnit is the y-axis label of a metric, with its unit.
func metricUnit(m string) string {
	switch m {
	case data.MetricExactMatch:
		return "answers fully correct (fraction)"
	case data.MetricTokenAccuracy, data.MetricPositionAccuracy:
		return "answer tokens correct (fraction)"
	case data.MetricLogprob:
		return "mean log p(answer token) (nats)"
	case data.MetricEditDistance:
		return "token edit distance (tokens)"
	case data.MetricLoss:
		return "cross-entropy (nats)"
	case data.MetricBrier:
		return "Brier score"
	case data.MetricEffectiveRank, data.MetricRankMe, data.MetricParticipationRatio, data.MetricStableRank:
		return metricTitle(m) + " (dimensions)"
	case data.MetricCKAFinal, data.MetricCKANextWidth:
		return "linear CKA (0–1)"
	case data.MetricPrevTokenScore, data.MetricInductionScore, data.MetricDuplicateTokenScore:
		return "mean attention on target (0–1)"
	case data.MetricEntropy:
		return "attention entropy (nats)"
	case data.MetricSpecialisation:
		return "head specialisation (0–1)"
	case data.MetricProbeAccuracy, data.MetricProbeControlAccuracy:
		return "probe accuracy (fraction)"
	case data.MetricProbeSelectivity:
		return "accuracy − control accuracy"
	}
	return metricTitle(m)
}

func (b *builder) widthSwatches() []swatch {
	var s []swatch
	for _, w := range b.widths {
		s = append(s, swatch{hexColour(b.colours[w]), fmt.Sprintf("d_model %d", w)})
	}
	return s
}

func (b *builder) widthLegend(l *legend) {
	for _, w := range b.widths {
		l.add(fmt.Sprintf("d_model %d", w), lineThumb{Color: b.colours[w], Width: vg.Points(1.5)})
	}
	if len(b.seeds) > 1 {
		for _, s := range b.seeds {
			l.add(fmt.Sprintf("seed %d", s), lineThumb{Color: color.Black, Width: vg.Points(1.2), Dashes: b.seedDashes(s)},
				glyphThumb(b.seedGlyph(s, color.Black)))
		}
	}
}

// dashPatterns tell seeds (and other series sharing a colour) apart: solid, dashed, dotted,
// dash-dot, long dashes.
var dashPatterns = [][]vg.Length{nil, {vg.Points(5), vg.Points(2)}, {vg.Points(1.2), vg.Points(1.8)},
	{vg.Points(6), vg.Points(2), vg.Points(1.2), vg.Points(2)}, {vg.Points(10), vg.Points(3)}}

// seedDashes is the dash pattern of a seed: its index among the run's seeds picks one of
// dashPatterns (cycling beyond five seeds; the marker of seedGlyph tells those apart).
func (b *builder) seedDashes(seed int64) []vg.Length {
	i := max(slices.Index(b.seeds, seed), 0)
	return dashPatterns[i%len(dashPatterns)]
}

// seedGlyph is the marker of a seed in colour c (its width's): the seed's index i among the
// run's seeds picks glyphShapes[i mod 13]. With seedDashes, the first 65 seeds have distinct
// (marker, dashes) pairs, so that the seeds of one width, which share its colour, stay apart.
func (b *builder) seedGlyph(seed int64, c color.Color) draw.GlyphStyle {
	i := max(slices.Index(b.seeds, seed), 0)
	return draw.GlyphStyle{Color: c, Radius: vg.Points(1.7), Shape: glyphShapes[i%len(glyphShapes)]}
}

// cellName names a cell in hover texts.
func cellName(c data.Coords) string {
	return fmt.Sprintf("d_model %d seed %d (%s)", c.DModel, c.Seed, c.Cell)
}

// onsetMark is the vertical line marking an onset: dashed in the cell's colour, or, when the
// onset lies in the learning-rate warm-up, a thicker red dash-dot line.
func onsetMark(o onset, c color.Color) vline {
	if o.InWarmup {
		return vline{X: lg(o.Step + 1), Style: warmupStyle()}
	}
	return vline{X: lg(o.Step + 1), Style: onsetStyle(c)}
}

func warmupStyle() draw.LineStyle {
	return draw.LineStyle{Color: color.RGBA{0xc0, 0x00, 0x20, 0xff}, Width: vg.Points(1.6),
		Dashes: []vg.Length{vg.Points(5), vg.Points(1.5), vg.Points(1), vg.Points(1.5)}}
}

// cellLine adds one cell's curve of series to p, in its width's colour and its seed's dashes and
// markers (each with a hover text), with a cross at its last point when the cell diverged.
func (b *builder) cellLine(p *plot.Plot, series string, c curve, diverged bool) error {
	x := make([]float64, len(c.Steps))
	for i, s := range c.Steps {
		x[i] = lg(s + 1)
	}
	segs := segments(x, c.Values)
	col := b.colours[c.DModel]
	for _, s := range segs {
		l, err := plotter.NewLine(s)
		if err != nil {
			return err
		}
		l.Color, l.Width, l.Dashes = col, vg.Points(1.2), b.seedDashes(c.Seed)
		p.Add(l)
	}
	pts := points{Style: b.seedGlyph(c.Seed, col)}
	for i, st := range c.Steps {
		if !isNaNOrInf(x[i]) && !isNaNOrInf(c.Values[i]) {
			pts.XYs = append(pts.XYs, plotter.XY{X: x[i], Y: c.Values[i]})
			pts.Titles = append(pts.Titles, pointTitle(series, cellName(c.Coords), st, c.Values[i]))
		}
	}
	p.Add(pts)
	if diverged && len(segs) > 0 {
		last := segs[len(segs)-1]
		sc, err := plotter.NewScatter(last[len(last)-1:])
		if err != nil {
			return err
		}
		sc.GlyphStyle = divergedGlyph(col)
		p.Add(sc)
	}
	return nil
}

func divergedGlyph(c color.Color) draw.GlyphStyle {
	return draw.GlyphStyle{Color: c, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}
}

func (b *builder) diverged(cell string) bool {
	for _, c := range b.r.Cells {
		if c.Cell == cell {
			return c.Diverged >= 0
		}
	}
	return false
}

// shapes returns the distinct (n_layers, n_heads) of the cells.
func (b *builder) shapes() [][2]int32 {
	var s [][2]int32
	for _, c := range b.r.Cells {
		k := [2]int32{c.NLayers, c.NHeads}
		if !slices.Contains(s, k) {
			s = append(s, k)
		}
	}
	slices.SortFunc(s, func(a, b [2]int32) int {
		if a[0] != b[0] {
			return cmpInt(a[0], b[0])
		}
		return cmpInt(a[1], b[1])
	})
	return s
}

// save renders a figure's layout and fills in its image paths.
func (b *builder) save(f *figure, l figureLayout) {
	if b.layouts != nil {
		b.layouts[f.ID] = l
	}
	if err := saveFigure(b.imgDir, f.ID, l); err != nil {
		f.Note = strings.TrimSpace(f.Note + " The plot could not be drawn: " + err.Error())
		return
	}
	f.PNG, f.SVG = "img/"+f.ID+".png", "img/"+f.ID+".svg"
	f.WidthPx = int(math.Round(float64(l.W() / vg.Inch * 96)))
}

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
			kind := "continuous"
			if m == data.MetricExactMatch {
				kind = "discrete"
			}
			title := fmt.Sprintf("%s (%s)", metricTitle(m), kind)
			if len(shapes) > 1 {
				title += fmt.Sprintf(", n_layers %d, n_heads %d", sh[0], sh[1])
			}
			p := newPlot(title, stepAxisLabel, metricUnit(m))
			zoomed = b.zoomBands(p, sh) || zoomed
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

// matGrid adapts a [row][col] matrix to plotter.GridXYZ with x = column, y = row.
type matGrid [][]float64

func (m matGrid) Dims() (c, r int) {
	if len(m) == 0 {
		return 0, 0
	}
	return len(m[0]), len(m)
}
func (m matGrid) Z(c, r int) float64 { return m[r][c] }
func (m matGrid) X(c int) float64    { return float64(c) }
func (m matGrid) Y(r int) float64    { return float64(r) }

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
	heads := topHeads(b.r.Internal, b.opts.Heads)
	if len(heads) == 0 {
		var c *cellInfo
		for i := range b.r.Cells {
			ci := &b.r.Cells[i]
			if fileExists(filepath.Join(ci.Dir, data.AttentionFile)) && (c == nil || ci.DModel > c.DModel) {
				c = ci
			}
		}
		if c == nil {
			f.Note = "No attention patterns were captured (no cell has an attention.parquet)."
			return f, nil
		}
		for l := int32(0); l < max(c.NLayers, 1) && len(heads) < b.opts.Heads; l++ {
			heads = append(heads, headScore{Coords: c.Coords, Layer: l, Head: 0, Value: math.NaN()})
		}
		f.Note = fmt.Sprintf("No head scores yet (run phaseprobe analyze): showing head 0 of each layer of %s.", c.Cell)
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
		dir := ""
		for _, c := range b.r.Cells {
			if c.Cell == cell {
				dir = c.Dir
			}
		}
		path := filepath.Join(dir, data.AttentionFile)
		if dir == "" || !fileExists(path) {
			f.Note = strings.TrimSpace(f.Note + fmt.Sprintf(" Cell %s has no attention.parquet.", cell))
			continue
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
			return f, err
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
	}
	cm := attentionMap()
	pal := cm.Palette(256)
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
	if len(grid) == 0 {
		f.Note = strings.TrimSpace(f.Note + " No attention rows were found for the chosen heads.")
		return f, nil
	}
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
	f.Caption += " Rows, top to bottom: " + strings.Join(labels, "; ") + "."
	bar := plot.New()
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	bar.HideX()
	bar.Y.Label.Text = "mean attention weight"
	setFonts(bar)
	bar.Y.Min, bar.Y.Max = 0, 1
	b.save(&f, figureLayout{Grid: grid, Side: bar, SideWidth: 1.1 * vg.Inch, PanelsW: 2 * 3 * vg.Inch, H: vg.Length(len(grid)) * 2.9 * vg.Inch})
	return f, nil
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

// spectraFigure is figure (f): singular-value spectra over training at one site, one panel per
// width (its first seed), one line per checkpoint coloured by step.
func (b *builder) spectraFigure() figure {
	f := figure{ID: "spectra", Title: "Singular-value spectra over training"}
	prefer := ""
	for _, fam := range b.families {
		if fam.Series.Site != "" {
			prefer = fam.Series.Site
			break
		}
	}
	site, sp := "", []spectrum(nil)
	if prefer != "" {
		site, sp = spectraOf(b.r.Internal, prefer)
	}
	if len(sp) == 0 {
		site, sp = spectraOf(b.r.Internal, "")
	}
	if len(sp) == 0 {
		f.Note = `No singular-value spectra in the internal metrics (metric "singular_value", position = index), so this plot is skipped.`
		return f
	}
	f.Caption = fmt.Sprintf("Singular values of the centred activations at %s, largest first, one line per checkpoint "+
		"(dark = early, light = late); one panel per width, first seed. A collapse of the tail or a sharpening of the top values "+
		"marks a reorganisation of the representation.", site)
	var cells []string
	seen := map[int32]bool{}
	for _, s := range sp {
		if !seen[s.DModel] {
			seen[s.DModel] = true
			cells = append(cells, s.Cell)
		}
	}
	const maxPanels = 4
	if len(cells) > maxPanels {
		cells = cells[:maxPanels]
	}
	var steps []int64
	for _, s := range sp {
		if !slices.Contains(steps, s.Step) {
			steps = append(steps, s.Step)
		}
	}
	slices.Sort(steps)
	stepColour := func(st int64) color.RGBA {
		if len(steps) < 2 {
			return viridisAt(0)
		}
		lo, hi := math.Log10(float64(steps[0])+1), math.Log10(float64(steps[len(steps)-1])+1)
		return viridisAt(0.9 * (math.Log10(float64(st)+1) - lo) / (hi - lo))
	}
	var row []*plot.Plot
	for _, cell := range cells {
		var p *plot.Plot
		ylo, yhi := math.Inf(1), math.Inf(-1)
		nmax := 0
		for _, s := range sp {
			if s.Cell != cell {
				continue
			}
			if p == nil {
				p = newPlot(fmt.Sprintf("d_model %d\n%s", s.DModel, s.Cell), "index + 1 (log scale)", "singular value (log scale)")
			}
			x := make([]float64, len(s.Values))
			y := make([]float64, len(s.Values))
			for i, v := range s.Values {
				x[i] = lg(float64(i + 1))
				y[i] = lg(v)
				if v > 0 {
					ylo, yhi = math.Min(ylo, v), math.Max(yhi, v)
				}
			}
			nmax = max(nmax, len(x))
			for _, seg := range segments(x, y) {
				l, err := plotter.NewLine(seg)
				if err != nil {
					continue
				}
				l.Color, l.Width = stepColour(s.Step), vg.Points(1)
				p.Add(l)
			}
		}
		if p == nil || isNaNOrInf(ylo) {
			continue
		}
		setLogAxis(&p.X, 1, float64(max(nmax, 2)))
		setLogAxis(&p.Y, ylo/1.5, yhi*1.5)
		row = append(row, p)
	}
	if len(row) == 0 {
		f.Note = "The singular values are all zero or missing, so there is nothing to plot on a log scale."
		return f
	}
	leg := newLegend()
	shown := steps
	if len(steps) > 8 {
		shown = []int64{steps[0], steps[len(steps)/4], steps[len(steps)/2], steps[3*len(steps)/4], steps[len(steps)-1]}
	}
	for _, st := range shown {
		leg.add(fmt.Sprintf("step %d", st), lineThumb{Color: stepColour(st), Width: vg.Points(1.5)})
	}
	b.save(&f, figureLayout{Grid: [][]*plot.Plot{row}, Legend: leg, PanelsW: vg.Length(len(row)) * 3 * vg.Inch, H: 2.8 * vg.Inch})
	return f
}
