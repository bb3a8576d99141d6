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
// probe rows (the same spec), which is checked row by row. It holds one step of each file at a
// time: both files are streamed side by side, each read once, when their steps are in ascending
// order (as phaseprobe writes them); otherwise each step is read from each file separately.
func crossWidthCKA(ci *cellInputs, nextDir string, opt Options) ([]data.MetricRow, error) {
	mine := filepath.Join(ci.dir, data.ActivationsFile)
	theirs := filepath.Join(nextDir, data.ActivationsFile)
	rows, err := crossWidthStreamed(ci, mine, theirs, opt)
	if !errors.Is(err, errUnordered) {
		return rows, err
	}
	out := &metricOut{coords: ci.coords}
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
		crossWidthStep(out, step, a, b, opt)
	}
	return out.rows, nil
}

// errUnordered reports that an activations file's steps are not in ascending order, so that it
// cannot be merged step by step with another.
var errUnordered = errors.New("activation steps not in ascending order")

// crossWidthStreamed is crossWidthCKA for two files whose steps are in ascending order: it reads
// mine once and, in a goroutine, theirs once, keeping the cell's checkpoint steps before any
// divergence, and pairs their steps as a merge join. It returns errUnordered, and no rows, as soon
// as either file's kept steps go down.
func crossWidthStreamed(ci *cellInputs, mine, theirs string, opt Options) ([]data.MetricRow, error) {
	out := &metricOut{coords: ci.coords}
	want := make(map[int64]bool, len(ci.steps))
	for _, s := range ci.steps {
		if ci.diverged < 0 || s < ci.diverged {
			want[s] = true
		}
	}
	keep := func(s int64) bool { return want[s] }
	next, stop := streamActivationSteps(theirs, keep)
	pending, more := next()
	prev := int64(-1)
	err := readActivationSteps(mine, keep, func(step int64, a map[string]*siteMatrix) error {
		if step <= prev {
			return errUnordered
		}
		prev = step
		for more && pending.step < step {
			last := pending.step
			if pending, more = next(); more && pending.step <= last {
				return errUnordered
			}
		}
		if more && pending.step == step {
			crossWidthStep(out, step, a, pending.sites, opt)
		}
		return nil
	})
	if serr := stop(err == nil); err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	return out.rows, nil
}

// crossWidthStep adds the cka_next_width rows of one step, a and b holding the step's sites of the
// cell and of its wider neighbour (nil when the neighbour lacks the step).
func crossWidthStep(out *metricOut, step int64, a, b map[string]*siteMatrix, opt Options) {
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

// stepSites is one step of an activations file, as readActivationSteps passes it.
type stepSites struct {
	step  int64
	sites map[string]*siteMatrix
}

// streamActivationSteps reads the activations file at path in a goroutine, one step at a time
// (the steps keep accepts, as readActivationSteps):
// next returns the following step (false at the end or after an error). stop waits for the
// goroutine and returns the read's error: with drain it reads the rest of the file first, so that
// a fault anywhere in it is reported; without, it ends the read early. The goroutine only ever
// waits for next or stop, so a caller that calls stop cannot deadlock with it.
func streamActivationSteps(path string, keep func(step int64) bool) (next func() (stepSites, bool), stop func(drain bool) error) {
	ch := make(chan stepSites)
	quit := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(ch)
		errc <- readActivationSteps(path, keep, func(step int64, sites map[string]*siteMatrix) error {
			select {
			case ch <- stepSites{step, sites}:
				return nil
			case <-quit:
				return errStop
			}
		})
	}()
	next = func() (stepSites, bool) {
		s, ok := <-ch
		return s, ok
	}
	stop = func(drain bool) error {
		if !drain {
			close(quit)
		}
		for range ch {
		}
		if err := <-errc; !errors.Is(err, errStop) {
			return err
		}
		return nil
	}
	return next, stop
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
