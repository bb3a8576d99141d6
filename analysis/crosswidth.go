package analysis

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/geometry"
)

// crossWidthCKA compares each site of a cell with the same site of the next wider model of its
// family (same task, depth, heads and seed) at every checkpoint both have: linear CKA across the
// family (Kornblith et al. 2019), metric cka_next_width. Both cells must have captured the same
// probe rows (the same spec), which is checked row by row. It reads one step of each file at a time.
func crossWidthCKA(ci *cellInputs, nextDir string, opt Options) ([]data.MetricRow, error) {
	out := &metricOut{coords: ci.coords}
	mine := filepath.Join(ci.dir, data.ActivationsFile)
	theirs := filepath.Join(nextDir, data.ActivationsFile)
	for _, step := range ci.steps {
		if ci.diverged >= 0 && step >= ci.diverged {
			break
		}
		keep := func(s int64) bool { return s == step }
		var a, b map[string]*siteMatrix
		if err := readActivationSteps(mine, keep, func(_ int64, sites map[string]*siteMatrix) error { a = sites; return nil }); err != nil {
			return nil, err
		}
		if err := readActivationSteps(theirs, keep, func(_ int64, sites map[string]*siteMatrix) error { b = sites; return nil }); err != nil {
			return nil, err
		}
		names := make([]string, 0, len(a))
		for n := range a {
			if b[n] != nil && (len(opt.Sites) == 0 || slices.Contains(opt.Sites, n)) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			x, y := a[n], b[n]
			if !slices.Equal(x.keys, y.keys) || !x.finite() || !y.finite() {
				continue // other probe rows (another spec) or a diverged neighbour: not comparable
			}
			c, err := geometry.LinearCKA(x.dense(), y.dense())
			if err != nil {
				continue // e.g. a constant site (zero variance) in one model
			}
			out.add(step, n, data.NA, data.NA, data.NA, "", data.MetricCKANextWidth, c)
		}
	}
	return out.rows, nil
}

// errStop ends a ReadTable early.
var errStop = errors.New("stop")

// cellCoords reads a cell's coordinates from the first row of its metrics table.
func cellCoords(dir string) (data.Coords, error) {
	var c data.Coords
	found := false
	_, err := data.ReadTable(filepath.Join(dir, data.MetricsFile), func(rows []data.MetricRow) error {
		if len(rows) > 0 {
			c, found = rows[0].Coords, true
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return c, err
	}
	if !found {
		return c, fmt.Errorf("%s: no rows", filepath.Join(dir, data.MetricsFile))
	}
	return c, nil
}

// nextWidths maps each cell to the cell of the next larger d_model with the same task, depth,
// head count and seed (the family's neighbour), if the sweep has one.
func nextWidths(dirs []string) (map[string]string, error) {
	type fam struct {
		task            string
		nLayers, nHeads int32
		seed            int64
	}
	type member struct {
		dir    string
		dModel int32
	}
	groups := map[fam][]member{}
	for _, d := range dirs {
		c, err := cellCoords(d)
		if err != nil {
			return nil, err
		}
		f := fam{c.Task, c.NLayers, c.NHeads, c.Seed}
		groups[f] = append(groups[f], member{d, c.DModel})
	}
	next := map[string]string{}
	for _, ms := range groups {
		slices.SortFunc(ms, func(a, b member) int { return int(a.dModel - b.dModel) })
		for i := 0; i+1 < len(ms); i++ {
			if ms[i+1].dModel > ms[i].dModel {
				next[ms[i].dir] = ms[i+1].dir
			}
		}
	}
	return next, nil
}
