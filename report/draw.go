package report

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// pngDPI is the resolution of the PNG images; the page shows them at 96 dpi CSS size, so they
// stay sharp on high-density screens.
const pngDPI = 144

// figureLayout is a grid of panels with an optional strip on the right holding a legend or a
// side plot (a colour bar).
type figureLayout struct {
	Grid       [][]*plot.Plot // rows of panels; nil panels are left empty
	Legend     *legend        // drawn in the strip, which is as wide as its longest entry
	Side       *plot.Plot     // drawn in the strip instead of Legend
	SideWidth  vg.Length      // width of the strip for Side
	PanelsW, H vg.Length      // size of the panel area; the strip adds to the width
}

// stripWidth is the width of the strip on the right; 0 without one.
func (f figureLayout) stripWidth() vg.Length {
	switch {
	case f.Side != nil:
		return f.SideWidth
	case f.Legend != nil:
		return f.Legend.width()
	}
	return 0
}

// W is the figure's width.
func (f figureLayout) W() vg.Length { return f.PanelsW + f.stripWidth() }

// draw draws the layout onto c.
func (f figureLayout) draw(c draw.Canvas) {
	main := c
	if sw := f.stripWidth(); sw > 0 {
		main = draw.Crop(c, 0, -sw, 0, 0)
		side := draw.Crop(c, c.Max.X-c.Min.X-sw, 0, 0, 0)
		if f.Side != nil {
			// A colour bar spans at most one row of panels, at the top.
			h := min(side.Max.Y-side.Min.Y, 2.9*vg.Inch)
			f.Side.Draw(draw.Crop(side, vg.Points(6), -vg.Points(6), side.Max.Y-side.Min.Y-h+vg.Points(20), -vg.Points(20)))
		} else {
			f.Legend.Draw(draw.Crop(side, vg.Points(8), 0, 0, -vg.Points(16)))
		}
	}
	rows := len(f.Grid)
	if rows == 0 {
		return
	}
	cols := 0
	for _, r := range f.Grid {
		cols = max(cols, len(r))
	}
	grid := make([][]*plot.Plot, rows)
	for i, r := range f.Grid {
		grid[i] = make([]*plot.Plot, cols)
		copy(grid[i], r)
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(14), PadY: vg.Points(14),
		PadTop: vg.Points(6), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
	canvases := plot.Align(grid, tiles, main)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
}

// saveFigure renders f as dir/name.png and dir/name.svg. A panic inside gonum/plot (it panics on
// some degenerate axes) is returned as an error naming the figure.
func saveFigure(dir, name string, f figureLayout) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("draw %s: %v", name, r)
		}
	}()
	img := vgimg.NewWith(vgimg.UseWH(f.W(), f.H), vgimg.UseDPI(pngDPI))
	f.draw(draw.New(img))
	var png bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&png); err != nil {
		return fmt.Errorf("draw %s: %w", name, err)
	}
	svg := &titledCanvas{Canvas: vgsvg.New(f.W(), f.H)}
	f.draw(draw.New(svg))
	var sv bytes.Buffer
	if _, err := svg.WriteTo(&sv); err != nil {
		return fmt.Errorf("draw %s: %w", name, err)
	}
	out, err := svg.insertTitles(sv.Bytes())
	if err != nil {
		return fmt.Errorf("draw %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".svg"), out, 0o644)
}

// titledCanvas is the SVG canvas with hover texts: a mark drawn inside withTitle is put in a
// group <g> whose first child is a <title>, which browsers show as a tooltip when the pointer
// rests on the mark (no script: the report stays static). vgsvg gives no access to its element
// stream, so the canvas counts the groups it opens (each Translate, Rotate and Scale opens exactly
// one), opens a group of its own for each titled mark, and insertTitles writes the titles into
// the finished SVG after the groups with those numbers.
type titledCanvas struct {
	*vgsvg.Canvas
	groups int            // groups opened through this canvas; group 0 is vgsvg's own origin flip
	titles map[int]string // group number → hover text
}

func (c *titledCanvas) Translate(pt vg.Point) { c.groups++; c.Canvas.Translate(pt) }
func (c *titledCanvas) Rotate(a float64)      { c.groups++; c.Canvas.Rotate(a) }
func (c *titledCanvas) Scale(x, y float64)    { c.groups++; c.Canvas.Scale(x, y) }

// withTitle draws with draw, on an SVG canvas inside a group titled title.
func withTitle(c draw.Canvas, title string, draw func()) {
	tc := svgCanvas(c.Canvas)
	if tc == nil || title == "" {
		draw()
		return
	}
	tc.Push()
	tc.Translate(vg.Point{})
	if tc.titles == nil {
		tc.titles = map[int]string{}
	}
	tc.titles[tc.groups] = title
	draw()
	tc.Pop()
}

// svgCanvas finds the titledCanvas under v, through the draw.Canvas wrappers gonum/plot puts
// around a canvas (padding, tiles); nil when there is none (the PNG).
func svgCanvas(v vg.Canvas) *titledCanvas {
	for {
		switch c := v.(type) {
		case *titledCanvas:
			return c
		case draw.Canvas:
			v = c.Canvas
		case *draw.Canvas:
			v = c.Canvas
		default:
			return nil
		}
	}
}

// groupOpen is how vgsvg (through svgo) opens a group.
var groupOpen = []byte("<g transform=")

// insertTitles puts each title as the first child of its group in svg, vgsvg's output. It fails
// when svg does not hold the groups the canvas counted (a vgsvg that writes groups differently).
func (c *titledCanvas) insertTitles(svg []byte) ([]byte, error) {
	if n := bytes.Count(svg, groupOpen); n != c.groups+1 {
		return nil, fmt.Errorf("svg hover texts: the SVG has %d groups, the canvas opened %d", n, c.groups+1)
	}
	if len(c.titles) == 0 {
		return svg, nil
	}
	var out bytes.Buffer
	out.Grow(len(svg) + 64*len(c.titles))
	rest := svg
	for g := 0; ; g++ {
		i := bytes.Index(rest, groupOpen)
		if i < 0 {
			break
		}
		j := bytes.IndexByte(rest[i:], '>')
		if j < 0 {
			return nil, fmt.Errorf("svg hover texts: group %d is not closed", g)
		}
		out.Write(rest[:i+j+1])
		rest = rest[i+j+1:]
		if t, ok := c.titles[g]; ok {
			out.WriteString("<title>")
			out.WriteString(html.EscapeString(t))
			out.WriteString("</title>")
		}
	}
	out.Write(rest)
	return out.Bytes(), nil
}

// points is a scatter whose every point has a hover text in the SVG.
type points struct {
	XYs    plotter.XYs
	Titles []string // one per point
	Style  draw.GlyphStyle
}

func (p points) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, trY := plt.Transforms(&c)
	for i, xy := range p.XYs {
		pt := vg.Point{X: trX(xy.X), Y: trY(xy.Y)}
		if isNaNOrInf(xy.X) || isNaNOrInf(xy.Y) || !c.Contains(pt) {
			continue
		}
		withTitle(c, p.Titles[i], func() { c.DrawGlyph(p.Style, pt) })
	}
}

func (p points) DataRange() (xmin, xmax, ymin, ymax float64) { return plotter.XYRange(p.XYs) }

// GlyphBoxes makes room for the markers at the panel's edges, as plotter.Scatter does.
func (p points) GlyphBoxes(plt *plot.Plot) []plot.GlyphBox {
	b := make([]plot.GlyphBox, 0, len(p.XYs))
	for _, xy := range p.XYs {
		if isNaNOrInf(xy.X) || isNaNOrInf(xy.Y) {
			continue
		}
		b = append(b, plot.GlyphBox{X: plt.X.Norm(xy.X), Y: plt.Y.Norm(xy.Y), Rectangle: p.Style.Rectangle()})
	}
	return b
}

// pointTitle is the hover text of one point: the series, the cell (or cells), the step and the
// value.
func pointTitle(series, cell string, step, value float64) string {
	return fmt.Sprintf("%s · %s · step %.0f · %s", series, cell, step, strconv.FormatFloat(value, 'g', 4, 64))
}

// sans is the report's plot font, matching the page's sans-serif text.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot returns a panel with the report's fonts and a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(4)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	setFonts(p)
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{0xe0}
	g.Horizontal.Color = color.Gray{0xe0}
	p.Add(g)
	return p
}

// setFonts gives p's text the report's sans-serif font: 9 pt titles and axis labels, 8 pt tick
// labels.
func setFonts(p *plot.Plot) {
	p.Title.TextStyle.Font = font.From(sans, vg.Points(9))
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, vg.Points(8.5))
		a.Tick.Label.Font = font.From(sans, vg.Points(7.5))
		a.Tick.Length = vg.Points(4)
	}
	p.Legend.TextStyle.Font = font.From(sans, vg.Points(8))
}

// legend is a plot legend for the strip beside a figure's panels; it measures its entries.
type legend struct {
	plot.Legend
	textW vg.Length // the widest entry text
}

// newLegend returns an empty legend.
func newLegend() *legend {
	l := &legend{Legend: plot.NewLegend()}
	l.TextStyle.Font = font.From(sans, vg.Points(8.5))
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(18)
	l.Padding = vg.Points(3)
	return l
}

// add adds an entry.
func (l *legend) add(label string, thumbs ...plot.Thumbnailer) {
	l.Add(label, thumbs...)
	l.textW = max(l.textW, l.TextStyle.Width(label))
}

// width is the strip width the legend needs: margin, thumbnail, gap and text.
func (l *legend) width() vg.Length {
	return vg.Points(8) + l.ThumbnailWidth + l.TextStyle.Width(" ") + l.textW + vg.Points(8)
}

// stepAxisLabel labels a training-step axis, which shows step+1 so that step 0 fits a log scale.
const stepAxisLabel = "training step + 1 (log scale)"

// Log axes are drawn as linear axes over log10 of the data, with ticks labelled in data units:
// gonum/plot's LogScale places the axis label's glyph box at the arithmetic mean of the range,
// which on a log axis shrinks the data area, and it panics on values ≤ 0. Callers plot lg(v).

// lg is log10, the coordinate of v on a log axis; NaN or -Inf (dropped by segments) for v ≤ 0.
func lg(v float64) float64 { return math.Log10(v) }

// setLogAxis makes a a log axis over [lo, hi] (data units, both > 0) with major ticks at powers
// of ten labelled 1, 10, 100, 1k, ... and minor ticks between.
func setLogAxis(a *plot.Axis, lo, hi float64) {
	if !(lo > 0) || isNaNOrInf(lo) {
		lo = 1
	}
	if !(hi > lo) || isNaNOrInf(hi) {
		hi = lo * 10
	}
	a.Min, a.Max = lg(lo), lg(hi)
	a.Tick.Marker = plot.TickerFunc(logTicks)
}

// logTicks returns, for a log axis over [lo, hi] in lg units, major ticks at powers of ten and
// minor ticks at 2..9 times them; when the range holds fewer than two powers of ten, its ends
// are labelled too.
func logTicks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	majors := 0
	for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
		if e >= lo && e <= hi {
			ticks = append(ticks, plot.Tick{Value: e, Label: shortNumber(math.Pow(10, e))})
			majors++
		}
		for k := 2.0; k < 10; k++ {
			if v := e + lg(k); v >= lo && v <= hi {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	if majors < 2 {
		for _, end := range []float64{lo, hi} {
			i := slices.IndexFunc(ticks, func(t plot.Tick) bool { return math.Abs(t.Value-end) < 1e-9 })
			switch {
			case i < 0:
				ticks = append(ticks, plot.Tick{Value: end, Label: shortNumber(math.Pow(10, end))})
			case ticks[i].Label == "":
				ticks[i].Label = shortNumber(math.Pow(10, end))
			}
		}
	}
	return ticks
}

// shortNumber formats a tick value with up to three significant digits: 1, 10, 300, 1k, 20k,
// 1M, 0.01.
func shortNumber(v float64) string {
	switch av := math.Abs(v); {
	case av >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', 3, 64) + "M"
	case av >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', 3, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// segments splits a curve into its runs of finite points, so that a line breaks where a metric
// is NaN (or a log coordinate is -Inf) rather than fail.
func segments(x, y []float64) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for i := range x {
		if isNaNOrInf(x[i]) || isNaNOrInf(y[i]) {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: x[i], Y: y[i]})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// vline is a vertical line across a panel at X; it widens the x range to include X only.
type vline struct {
	X     float64
	Style draw.LineStyle
}

func (v vline) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(v.X)
	if x < c.Min.X || x > c.Max.X {
		return
	}
	c.StrokeLine2(v.Style, x, c.Min.Y, x, c.Max.Y)
}

func (v vline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return v.X, v.X, math.Inf(1), math.Inf(-1)
}

// Thumbnail draws the line's style in a legend.
func (v vline) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(v.Style, c.Min.X, y, c.Max.X, y)
}

// lineThumb is a legend entry drawn as a line of the given style.
type lineThumb draw.LineStyle

func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(draw.LineStyle(l), c.Min.X, y, c.Max.X, y)
}

// glyphThumb is a legend entry drawn as a glyph.
type glyphThumb draw.GlyphStyle

func (g glyphThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(draw.GlyphStyle(g), c.Center())
}

// viridis is the viridis colour map (van der Walt & Smith 2015) at five control points.
var viridis = []color.RGBA{
	{0x44, 0x01, 0x54, 0xff}, {0x3b, 0x52, 0x8b, 0xff}, {0x21, 0x91, 0x8c, 0xff},
	{0x5e, 0xc9, 0x62, 0xff}, {0xfd, 0xe7, 0x25, 0xff},
}

// viridisAt interpolates viridis at t in [0, 1].
func viridisAt(t float64) color.RGBA {
	t = math.Max(0, math.Min(1, t))
	f := t * float64(len(viridis)-1)
	i := min(int(f), len(viridis)-2)
	u := f - float64(i)
	a, b := viridis[i], viridis[i+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + u*(float64(y)-float64(x)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// widthColours assigns every width a colour from viridis, narrow (dark purple) to wide (green),
// stopping short of the pale yellow end, which reads badly on white. The same width has the same
// colour in every plot.
func widthColours(ws []int32) map[int32]color.RGBA {
	out := map[int32]color.RGBA{}
	for i, w := range ws {
		t := 0.0
		if len(ws) > 1 {
			t = 0.8 * float64(i) / float64(len(ws)-1)
		}
		out[w] = viridisAt(t)
	}
	return out
}

// categorical is the Okabe & Ito (2008) colour-blind-safe palette, without yellow.
var categorical = []color.RGBA{
	{0x00, 0x72, 0xb2, 0xff}, {0xd5, 0x5e, 0x00, 0xff}, {0x00, 0x9e, 0x73, 0xff},
	{0xcc, 0x79, 0xa7, 0xff}, {0xe6, 0x9f, 0x00, 0xff}, {0x56, 0xb4, 0xe9, 0xff}, {0x00, 0x00, 0x00, 0xff},
}

// glyphShapes are the report's 13 markers: gonum/plot's eight and five of our own. Thirteen is
// prime to the 7 categorical colours and the 5 dash patterns, so cycling all three at once gives
// 7·13·5 = 455 distinct (colour, marker, dash) styles before one repeats (styleCycle), and cycling
// marker and dash gives 13·5 = 65 distinct seeds (seedStyle).
var glyphShapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{},
	draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}, draw.PlusGlyph{},
	diamondGlyph{}, downTriangleGlyph{Filled: true}, asteriskGlyph{}, diamondGlyph{Filled: true}, downTriangleGlyph{}}

// diamondGlyph is a square standing on a corner, outlined or filled.
type diamondGlyph struct{ Filled bool }

func (g diamondGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius * 1.2
	polygonGlyph(c, sty, g.Filled, []vg.Point{{X: pt.X, Y: pt.Y + r}, {X: pt.X + r, Y: pt.Y}, {X: pt.X, Y: pt.Y - r}, {X: pt.X - r, Y: pt.Y}})
}

// downTriangleGlyph is a triangle pointing down, outlined or filled.
type downTriangleGlyph struct{ Filled bool }

func (g downTriangleGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	h := r * vg.Length(math.Sqrt(3)) / 2
	polygonGlyph(c, sty, g.Filled, []vg.Point{{X: pt.X - r, Y: pt.Y + h*2/3}, {X: pt.X + r, Y: pt.Y + h*2/3}, {X: pt.X, Y: pt.Y - h*4/3}})
}

// asteriskGlyph is a plus and a cross drawn over each other.
type asteriskGlyph struct{}

func (asteriskGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	draw.PlusGlyph{}.DrawGlyph(c, sty, pt)
	draw.CrossGlyph{}.DrawGlyph(c, sty, pt)
}

// polygonGlyph fills or outlines a closed polygon in the glyph's colour.
func polygonGlyph(c *draw.Canvas, sty draw.GlyphStyle, filled bool, pts []vg.Point) {
	var p vg.Path
	p.Move(pts[0])
	for _, q := range pts[1:] {
		p.Line(q)
	}
	p.Close()
	if filled {
		c.Fill(p)
		return
	}
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(0.5)})
	c.Stroke(p)
}

// seriesStyle is how one series is drawn: a colour, a marker and a dash pattern.
type seriesStyle struct {
	Colour color.RGBA
	Shape  draw.GlyphDrawer
	Dashes []vg.Length
}

// styleCycle returns the style of series i of a figure: colour, marker and dashes cycle together
// (categorical[i mod 7], glyphShapes[i mod 13], dashPatterns[i mod 5]), so that by the Chinese
// remainder theorem the first 455 styles are all distinct and neighbours differ in all three.
func styleCycle(i int) seriesStyle {
	return seriesStyle{Colour: categorical[i%len(categorical)], Shape: glyphShapes[i%len(glyphShapes)], Dashes: dashPatterns[i%len(dashPatterns)]}
}

// stylesByName gives every distinct name a style of styleCycle, in sorted name order, so that a
// series keeps its style however the figure's loops reach it.
func stylesByName(names []string) map[string]seriesStyle {
	u := slices.Clone(names)
	slices.Sort(u)
	u = slices.Compact(u)
	out := make(map[string]seriesStyle, len(u))
	for i, n := range u {
		out[n] = styleCycle(i)
	}
	return out
}

// hexColour formats c for CSS.
func hexColour(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// grey is the colour of reference marks (task onsets, zero lines).
var grey = color.RGBA{0x70, 0x70, 0x70, 0xff}
