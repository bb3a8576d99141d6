package report

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/phaseprobe/phaseprobe/data"
)

// spectraFigure is figure (f): singular-value spectra over training at one site, one panel per
// width (its first seed), one line per checkpoint coloured by step.
func (b *builder) spectraFigure() figure {
	f := figure{ID: "spectra", Title: "Singular-value spectra over training"}
	site, sp := b.shownSpectra()
	if len(sp) == 0 {
		f.Note = fmt.Sprintf("No singular-value spectra in the internal metrics (metric %q, position = index), so this plot is skipped.", data.MetricSingularValue)
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
		if p := spectraPanel(sp, cell, stepColour); p != nil {
			row = append(row, p)
		}
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

// shownSpectra returns the site whose spectra the figure shows and its spectra: the site of the
// first internal-metric panel that has one, else the first site with spectra.
func (b *builder) shownSpectra() (string, []spectrum) {
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
	return site, sp
}

// spectraPanel draws one cell's spectra, a line per checkpoint coloured by stepColour, on log
// axes; nil when the cell has no positive singular value.
func spectraPanel(sp []spectrum, cell string, stepColour func(int64) color.RGBA) *plot.Plot {
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
		return nil
	}
	setLogAxis(&p.X, 1, float64(max(nmax, 2)))
	setLogAxis(&p.Y, ylo/1.5, yhi*1.5)
	return p
}

// spectrum is the singular values of one site of one cell at one step, largest first.
type spectrum struct {
	data.Coords
	Site   string
	Step   int64
	Values []float64 // indexed by position (the singular value's index)
}

// spectraOf returns the singular-value spectra (metric "singular_value", position = index) of
// one site, per cell and step, sorted by cell then step. site "" picks the site with the most
// rows (ties: the deepest name alphabetically last).
func spectraOf(internal []data.MetricRow, site string) (string, []spectrum) {
	if site == "" {
		count := map[string]int{}
		for _, m := range internal {
			if m.Metric == data.MetricSingularValue {
				count[m.Site]++
			}
		}
		best := -1
		for s, n := range count {
			if n > best || (n == best && s > site) {
				site, best = s, n
			}
		}
		if best < 0 {
			return "", nil
		}
	}
	type key struct {
		cell string
		step int64
	}
	byKey := map[key]*spectrum{}
	for _, m := range internal {
		if m.Metric != data.MetricSingularValue || m.Site != site || m.Position < 0 {
			continue
		}
		k := key{m.Cell, m.Step}
		sp := byKey[k]
		if sp == nil {
			sp = &spectrum{Coords: m.Coords, Site: site, Step: m.Step}
			byKey[k] = sp
		}
		for len(sp.Values) <= int(m.Position) {
			sp.Values = append(sp.Values, math.NaN())
		}
		sp.Values[m.Position] = data.Float(m.Value)
	}
	out := make([]spectrum, 0, len(byKey))
	for _, sp := range byKey {
		out = append(out, *sp)
	}
	slices.SortFunc(out, func(a, b spectrum) int {
		if c := compareCoords(a.Coords, b.Coords); c != 0 {
			return c
		}
		return cmp.Compare(a.Step, b.Step)
	})
	return site, out
}
