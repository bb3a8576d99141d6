package report

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// shapeKey names a marker's drawer, fill included.
func shapeKey(g draw.GlyphDrawer) string { return fmt.Sprintf("%T%v", g, g) }

// TestStyleCycle: by the Chinese remainder theorem (7, 13 and 5 are pairwise coprime) the first
// 7·13·5 = 455 styles of styleCycle are distinct and the 456th repeats the first; the 13 markers
// are distinct drawers; the first 13·5 = 65 seeds have distinct (marker, dashes) pairs.
func TestStyleCycle(t *testing.T) {
	key := func(s seriesStyle) string { return fmt.Sprint(s.Colour, shapeKey(s.Shape), s.Dashes) }
	seen := map[string]int{}
	for i := range 455 {
		k := key(styleCycle(i))
		if j, ok := seen[k]; ok {
			t.Fatalf("styles %d and %d are the same: %s", j, i, k)
		}
		seen[k] = i
	}
	if key(styleCycle(455)) != key(styleCycle(0)) {
		t.Error("styleCycle(455) is not styleCycle(0): the cycle is not 7×13×5")
	}
	shapes := map[string]bool{}
	for _, g := range glyphShapes {
		shapes[shapeKey(g)] = true
	}
	if len(shapes) != 13 {
		t.Errorf("%d distinct markers, want 13", len(shapes))
	}
	b := &builder{}
	for s := range int64(66) {
		b.seeds = append(b.seeds, s*7+3)
	}
	pairs := map[string]int64{}
	for _, s := range b.seeds[:65] {
		k := shapeKey(b.seedGlyph(s, grey).Shape) + fmt.Sprint(b.seedDashes(s))
		if o, ok := pairs[k]; ok {
			t.Errorf("seeds %d and %d share a marker and dashes", o, s)
		}
		pairs[k] = s
	}
	// Names, not call order, pick the styles.
	a, z := stylesByName([]string{"b", "a", "c", "a"}), stylesByName([]string{"c", "b", "a"})
	for _, n := range []string{"a", "b", "c"} {
		if key(a[n]) != key(z[n]) {
			t.Errorf("series %q has two styles depending on the order of the names", n)
		}
	}
	if key(a["a"]) != key(styleCycle(0)) || key(a["c"]) != key(styleCycle(2)) {
		t.Error("stylesByName does not follow sorted name order")
	}
}

// titledGroupRE matches a hover group of our SVGs: the group, its title and the marks drawn in it.
var titledGroupRE = regexp.MustCompile(`(?s)<g transform="translate\(0,? 0\)"><title>([^<]*)</title>(.*?)</g>`)

var (
	pathRE = regexp.MustCompile(`<path d="([^"]*)" style="([^"]*)"`)
	numRE  = regexp.MustCompile(`[A-Za-z]|-?[0-9]*\.?[0-9]+(?:e-?[0-9]+)?`)
)

// markSig is what a titled group draws, up to where: the path commands and styles, and the
// outline's coordinates relative to the group's first point (so that one marker at two places
// has one signature, and two markers that differ in shape, size, fill, colour or dashes do not).
type markSig struct {
	Cmds string    // path commands, arc flags and styles
	Rel  []float64 // coordinates relative to the first point, and arc radii
}

// same reports whether a and b are the same mark; coordinates may differ by the SVG's printing
// precision (5 significant digits: 0.1 pt above 1000 pt).
func (a markSig) same(b markSig) bool {
	if a.Cmds != b.Cmds || len(a.Rel) != len(b.Rel) {
		return false
	}
	for i := range a.Rel {
		if math.Abs(a.Rel[i]-b.Rel[i]) > 0.15 {
			return false
		}
	}
	return true
}

func markSignature(marks string) markSig {
	var sig markSig
	var cmds strings.Builder
	var x0, y0 float64
	first := true
	for _, m := range pathRE.FindAllStringSubmatch(marks, -1) {
		toks := numRE.FindAllString(m[1], -1)
		var nums []float64
		cmd := ""
		flush := func() {
			coords := nums
			if cmd == "A" && len(nums) == 7 { // rx ry: kept; rotation, large-arc, sweep: flags; x y: relative
				sig.Rel = append(sig.Rel, nums[0], nums[1])
				fmt.Fprintf(&cmds, "%g,%g,%g,", nums[2], nums[3], nums[4])
				coords = nums[5:]
			}
			for i := 0; i+1 < len(coords); i += 2 {
				if first {
					x0, y0, first = coords[i], coords[i+1], false
				}
				sig.Rel = append(sig.Rel, coords[i]-x0, coords[i+1]-y0)
			}
			nums = nums[:0]
		}
		for _, tk := range toks {
			if v, err := strconv.ParseFloat(tk, 64); err == nil {
				nums = append(nums, v)
				if cmd == "A" && len(nums) == 7 {
					flush()
				}
				continue
			}
			flush()
			cmd = tk
			cmds.WriteString(tk)
		}
		flush()
		cmds.WriteString("|" + m[2] + ";")
	}
	sig.Cmds = cmds.String()
	return sig
}

var cellInTitleRE = regexp.MustCompile(`\(([^()]+-s\d+)\)`)

// checkDistinctSeries: every series' points are drawn one way, and no two series the same way.
func checkDistinctSeries(t *testing.T, name string, sigs map[string][]markSig, wantSeries int) {
	t.Helper()
	if len(sigs) != wantSeries {
		t.Errorf("%s: %d series with hover texts, want %d", name, len(sigs), wantSeries)
	}
	names := slices.Sorted(maps.Keys(sigs))
	for i, s := range names {
		for _, m := range sigs[s][1:] {
			if !m.same(sigs[s][0]) {
				t.Errorf("%s: series %s is drawn in two styles: %v and %v", name, s, sigs[s][0], m)
				break
			}
		}
		for _, o := range names[:i] {
			if sigs[s][0].same(sigs[o][0]) {
				t.Errorf("%s: series %s and %s share one style (colour, marker, dash): %s", name, o, s, sigs[s][0].Cmds)
			}
		}
	}
}

// TestFigureSeriesStyles writes the report of a sweep of 3 widths × 8 seeds and reads its SVGs:
// in the onset figure (internal onset against task onset, the coupling scatter) every cell is
// a series and has its own (colour, marker) with a hover <title> on every point; in the task
// figure every point of every cell carries a title and each cell's markers and line are its own
// within a panel; the internal-metrics figure shows one median line per width, not one per seed;
// the report is still byte-for-byte reproducible.
func TestFigureSeriesStyles(t *testing.T) {
	oldW, oldS := fxWidths, fxSeeds
	fxWidths, fxSeeds = []int32{16, 32, 64}, []int64{0, 1, 2, 3, 4, 5, 6, 7}
	t.Cleanup(func() { fxWidths, fxSeeds = oldW, oldS })
	dir := makeRun(t, fullFixture)
	html := writeReport(t, dir, Options{})
	read := func(id string) string {
		raw, err := os.ReadFile(filepath.Join(dir, "report", "img", id+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	cellOf := func(title string) string {
		if m := cellInTitleRE.FindStringSubmatch(title); m != nil {
			return m[1]
		}
		return title
	}
	ncells := len(fxWidths) * len(fxSeeds)

	coupling := read("coupling")
	if !strings.Contains(html, "coupling.svg") {
		t.Fatal("the report has no coupling (onset) figure")
	}
	// One panel per coupling row: key the series by panel subject and cell.
	bySubject := map[string]map[string][]markSig{}
	for _, g := range titledGroupRE.FindAllStringSubmatch(coupling, -1) {
		subject, _, _ := strings.Cut(g[1], " · ")
		if bySubject[subject] == nil {
			bySubject[subject] = map[string][]markSig{}
		}
		c := cellOf(g[1])
		bySubject[subject][c] = append(bySubject[subject][c], markSignature(g[2]))
	}
	if len(bySubject) == 0 {
		t.Fatal("no point of the onset figure carries a <title>")
	}
	for subject, sigs := range bySubject {
		checkDistinctSeries(t, "onset figure, "+subject, sigs, ncells)
	}
	// Every scatter point is titled: as many titled groups as marker paths outside them.
	if n := len(titledGroupRE.FindAllString(coupling, -1)); n < ncells {
		t.Errorf("onset figure: %d titled points for %d cells", n, ncells)
	}

	task := read("task_metrics")
	byPanel := map[string]map[string][]markSig{}
	for _, g := range titledGroupRE.FindAllStringSubmatch(task, -1) {
		metric, _, _ := strings.Cut(g[1], " · ")
		if byPanel[metric] == nil {
			byPanel[metric] = map[string][]markSig{}
		}
		c := cellOf(g[1])
		byPanel[metric][c] = append(byPanel[metric][c], markSignature(g[2]))
	}
	if len(byPanel) == 0 {
		t.Fatal("no point of the task figure carries a <title>")
	}
	for metric, sigs := range byPanel {
		checkDistinctSeries(t, "task figure, "+metric, sigs, ncells)
		for c, m := range sigs {
			if len(m) != len(fxSteps) {
				t.Errorf("task figure, %s, %s: %d titled points, want one per checkpoint (%d)", metric, c, len(m), len(fxSteps))
			}
		}
	}

	internal := read("internal_metrics")
	perWidth := map[string]bool{}
	for _, g := range titledGroupRE.FindAllStringSubmatch(internal, -1) {
		if !strings.Contains(g[1], "median of 8 seeds") {
			continue
		}
		_, who, _ := strings.Cut(g[1], " · ")
		who, _, _ = strings.Cut(who, ",")
		perWidth[who] = true
	}
	if len(perWidth) != len(fxWidths) {
		t.Errorf("internal figure: median lines for %v, want one per width (%d)", perWidth, len(fxWidths))
	}
	if !strings.Contains(html, "each line is the median over the seeds of one width") {
		t.Error("the internal figure's caption does not say that it shows seed medians")
	}

	// Reproducible with the hover texts: a second write gives the same SVG bytes.
	writeReport(t, dir, Options{})
	if again := read("coupling"); again != coupling {
		t.Error("the onset figure's SVG differs between two writes")
	}
}

// TestTitledCanvas: the hover texts land in the groups of the points they belong to, escaped,
// one per point drawn inside the panel; the PNG path draws the same points without groups.
func TestTitledCanvas(t *testing.T) {
	p := plot.New()
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 10, 0, 10
	titles := []string{`a <b> & "c"`, "second", "outside"}
	p.Add(points{XYs: plotter.XYs{{X: 1, Y: 1}, {X: 5, Y: 5}, {X: 50, Y: 5}}, Titles: titles,
		Style: draw.GlyphStyle{Color: grey, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}})
	p.X.Max = 10 // after Add, which widened the axis to the third point: that one falls outside
	p.Title.Text = "rotated and translated text around the points"
	p.Y.Label.Text = "y"
	c := &titledCanvas{Canvas: vgsvg.New(3*vg.Inch, 3*vg.Inch)}
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	out, err := c.insertTitles(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	g := titledGroupRE.FindAllStringSubmatch(string(out), -1)
	if len(g) != 2 || g[0][1] != "a &lt;b&gt; &amp; &#34;c&#34;" || g[1][1] != "second" {
		t.Fatalf("titled groups %q", g)
	}
	for _, m := range g {
		if !strings.Contains(m[2], "<path") {
			t.Errorf("group %q holds no mark", m[1])
		}
	}
	if bytes.Count(out, []byte("<title>")) != 2 {
		t.Error("a title landed outside its group")
	}
	// A canvas whose group count does not match the SVG is refused, not mislabelled.
	c.groups++
	if _, err := c.insertTitles(buf.Bytes()); err == nil {
		t.Error("insertTitles accepted an SVG with fewer groups than counted")
	}
}
