package report

import (
	"errors"
	"image/color"
	"io/fs"
	"path/filepath"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/phaseprobe/phaseprobe/data"
)

// zoomedWindows reads the distinct zoom windows of a cell from its checkpoints.parquet (none when
// the cell has no such table: it was never zoomed, or written by an older phaseprobe).
func zoomedWindows(cellDir string) ([][2]int64, error) {
	var out [][2]int64
	_, err := readAll(filepath.Join(cellDir, data.CheckpointsFile), func(r data.CheckpointRow) {
		if w := [2]int64{r.WindowFrom, r.WindowTo}; r.Schedule == data.ScheduleZoom && !slices.Contains(out, w) {
			out = append(out, w)
		}
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return out, err
}

// zoomBand shades the x range [Lo, Hi] (axis units) of a panel; it does not widen the axes.
type zoomBand struct {
	Lo, Hi float64
	Color  color.Color
}

func (x zoomBand) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	lo, hi := max(trX(x.Lo), c.Min.X), min(trX(x.Hi), c.Max.X)
	if hi <= lo {
		return
	}
	c.FillPolygon(x.Color, []vg.Point{{X: lo, Y: c.Min.Y}, {X: hi, Y: c.Min.Y}, {X: hi, Y: c.Max.Y}, {X: lo, Y: c.Max.Y}})
}

// zoomThumb is the legend entry of a zoomed window.
type zoomThumb struct{}

func (zoomThumb) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(zoomColour(color.RGBA{A: 255}), []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}

// zoomColour is a width's colour made translucent for a band.
func zoomColour(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 38} // 15 % opaque
}

// zoomBands shades, in p, the zoomed windows of the cells of one (n_layers, n_heads) shape, each in
// its width's colour, and reports whether it shaded any.
func (b *builder) zoomBands(p *plot.Plot, shape [2]int32) bool {
	any := false
	for _, c := range b.r.Cells {
		if c.NLayers != shape[0] || c.NHeads != shape[1] {
			continue
		}
		for _, w := range c.Zoomed {
			p.Add(zoomBand{Lo: lg(float64(w[0]) + 1), Hi: lg(float64(w[1]) + 1), Color: zoomColour(b.colours[c.DModel])})
			any = true
		}
	}
	return any
}
