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

// metricTitle names a metric for titles and tables: its MetricInfo.Title, or for a name the
// vocabulary does not know, the name with spaces for underscores.
func metricTitle(m string) string {
	if info, ok := data.LookupMetric(m); ok {
		return info.Title
	}
	return strings.ReplaceAll(m, "_", " ")
}

// metricUnit is the y-axis label of a metric, with its unit: its MetricInfo.Unit, or for a name
// the vocabulary does not know, its title.
func metricUnit(m string) string {
	if info, ok := data.LookupMetric(m); ok {
		return info.Unit
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
			return cmp.Compare(a[0], b[0])
		}
		return cmp.Compare(a[1], b[1])
	})
	return s
}

// save renders a figure's layout and fills in its image paths.
func (b *builder) save(f *figure, l figureLayout) {
	if !slices.Contains(figureIDs, f.ID) {
		panic("report: figure " + f.ID + " is not in figureIDs")
	}
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
