// Package analysis is phaseprobe's analysis stage. It reads a run folder through package data,
// computes internal metrics per cell, checkpoint and site (geometry: ranks, spectra, CKA; probes:
// linear probes with control tasks, attention-head scores), writes them beside the task metrics in
// the same long format, then finds the transition in every curve and tests whether internal
// transitions line up with task-level jumps (package transition).
package analysis

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/geometry"
	"github.com/phaseprobe/phaseprobe/probes"
)

// Options configure the analysis; zero values take the defaults noted.
type Options struct {
	// ProbeFolds is k of the probes' k-fold cross-validation (default 3).
	ProbeFolds int
	// ProbeC is the logistic probes' inverse L2 penalty, sklearn's C (default 1). Features are
	// standardised per fold.
	ProbeC float64
	// ProbeSites selects the sites probed, by suffix (default: hook_resid_post and
	// ln_final.hook_normalized: where each block's information has accumulated).
	ProbeSites []string
	// Sites restricts the geometry and probes to these activation sites (default: every site in
	// the file); a listed site missing from a cell's activations is an error.
	Sites []string
	// RankTol is the relative threshold of the numerical rank (default 1e-3).
	RankTol float64
	// Seed seeds the folds and control tasks.
	Seed uint64
	// Jobs is how many cells (and, in the sweep-level stage, curves) are analysed at once
	// (default 1).
	Jobs int
	// Replicates is the most parametric-bootstrap replicates a curve's transition test draws
	// (default 199: p-values down to 0.005; smooth curves stop after 10 exceedances). The FDR step
	// over a family of m curves can only pass p = 1/(Replicates+1) when at least
	// m/(20·(Replicates+1)) of them are that small: raise it for sweeps where few curves jump.
	Replicates int
	// Decisions are the levels and thresholds of every verdict (default DefaultDecisions()).
	Decisions Decisions
	// Progress, if set, is called after each cell (done of total).
	Progress func(cell string, done, total int)
	// CurveProgress, if set, is called as the sweep-level stage tests curves (done of total).
	CurveProgress func(done, total int)
}

func (o Options) resolve() Options {
	if o.ProbeFolds == 0 {
		o.ProbeFolds = 3
	}
	if o.ProbeC == 0 {
		o.ProbeC = 1
	}
	if len(o.ProbeSites) == 0 {
		o.ProbeSites = []string{"hook_resid_post", "ln_final.hook_normalized"}
	}
	if o.RankTol == 0 {
		o.RankTol = 1e-3
	}
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	if o.Replicates == 0 {
		o.Replicates = 199
	}
	if o.Decisions.Alpha == 0 {
		o.Decisions = DefaultDecisions()
	}
	return o
}

// cellInputs are the small tables of a cell, read once.
type cellInputs struct {
	dir      string
	coords   data.Coords
	tokens   map[[2]int32]int32          // (example, pos) → token
	labels   map[string]map[[2]int32]int // concept → (example, pos) → label
	classes  map[string]int              // concept → number of classes (max label + 1)
	examples int
	seqLen   int
	steps    []int64 // checkpoint steps (from metrics.parquet), ascending
	// diverged is the step at which the cell's training loss stopped being finite (its metrics row
	// "diverged"), -1 if it did not: its last checkpoints may hold NaN activations, which are skipped.
	diverged int64
}

func readCellInputs(dir string) (*cellInputs, error) {
	ci := &cellInputs{dir: dir, tokens: map[[2]int32]int32{}, labels: map[string]map[[2]int32]int{}, classes: map[string]int{}, diverged: -1}
	found := false
	if _, err := data.ReadTable(filepath.Join(dir, data.ProbeSetFile), func(rows []data.ProbeSetRow) error {
		for _, r := range rows {
			if !found {
				ci.coords, found = r.Coords, true
			}
			ci.tokens[[2]int32{r.Example, r.Pos}] = r.Token
			ci.examples = max(ci.examples, int(r.Example)+1)
			ci.seqLen = max(ci.seqLen, int(r.Pos)+1)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s: no rows", filepath.Join(dir, data.ProbeSetFile))
	}
	if _, err := data.ReadTable(filepath.Join(dir, data.LabelsFile), func(rows []data.LabelRow) error {
		for _, r := range rows {
			m := ci.labels[r.Concept]
			if m == nil {
				m = map[[2]int32]int{}
				ci.labels[r.Concept] = m
			}
			m[[2]int32{r.Example, r.Pos}] = int(r.Label)
			ci.classes[r.Concept] = max(ci.classes[r.Concept], int(r.Label)+1)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := checkNotEmpty(dir, ci.coords.Cell); err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	if _, err := data.ReadTable(filepath.Join(dir, data.MetricsFile), func(rows []data.MetricRow) error {
		for _, r := range rows {
			if r.Metric == "diverged" {
				ci.diverged = r.Step
			}
			if r.Split != "train_batch" && r.Metric != "diverged" && !seen[r.Step] {
				seen[r.Step] = true
				ci.steps = append(ci.steps, r.Step)
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	slices.Sort(ci.steps)
	return ci, nil
}

// checkNotEmpty: the tables a phaseprobe capture always fills must have rows. labels.parquet
// always; activations.parquet unless config.json's probe.sites lists only attention patterns;
// attention.parquet when probe.sites is the default or lists a pattern. An empty one would
// silently drop the cell's internal metrics.
func checkNotEmpty(dir, cell string) error {
	var cfg struct {
		Probe struct {
			Sites []string `json:"sites"`
		} `json:"probe"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || json.Unmarshal(raw, &cfg) != nil {
		return nil // not a phaseprobe cell: no expectation
	}
	acts, attn := len(cfg.Probe.Sites) == 0, len(cfg.Probe.Sites) == 0
	for _, s := range cfg.Probe.Sites {
		if strings.HasSuffix(s, "hook_pattern") {
			attn = true
		} else {
			acts = true
		}
	}
	for _, t := range []struct {
		file string
		want bool
	}{{data.LabelsFile, true}, {data.ActivationsFile, acts}, {data.AttentionFile, attn}} {
		if !t.want {
			continue
		}
		m, err := data.ReadMeta(filepath.Join(dir, t.file))
		if err != nil {
			return err
		}
		if m.Rows == 0 {
			return fmt.Errorf("cell %s: %s has no rows (the capture wrote none or the file was replaced); rerun phaseprobe sweep for this cell", cell, filepath.Join(dir, t.file))
		}
	}
	return nil
}

// siteMatrix is one site's activations at one step: rows are (example, pos) pairs in file order.
type siteMatrix struct {
	keys [][2]int32
	data []float64
	cols int
}

func (m *siteMatrix) add(r data.ActivationRow) error {
	if m.cols == 0 {
		m.cols = len(r.Vector)
	}
	if len(r.Vector) != m.cols {
		return fmt.Errorf("site %s step %d example %d pos %d: vector has %d values, earlier rows %d", r.Site, r.Step, r.Example, r.Pos, len(r.Vector), m.cols)
	}
	m.keys = append(m.keys, [2]int32{r.Example, r.Pos})
	for _, x := range r.Vector {
		m.data = append(m.data, float64(x))
	}
	return nil
}

func (m *siteMatrix) dense() *mat.Dense { return mat.NewDense(len(m.keys), m.cols, m.data) }

// finite reports whether every value is finite.
func (m *siteMatrix) finite() bool {
	for _, x := range m.data {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// readActivationSteps streams a cell's activations and calls fn with every site's matrix of one
// step at a time (memory: one step). Rows must be grouped by step (phaseprobe writes them so; a
// file from another tool must be sorted by step: ORDER BY step). keep, if non-nil, filters steps.
func readActivationSteps(path string, keep func(step int64) bool, fn func(step int64, sites map[string]*siteMatrix) error) error {
	var cur int64 = -1
	sites := map[string]*siteMatrix{}
	done := map[int64]bool{}
	flush := func() error {
		if cur < 0 || len(sites) == 0 {
			return nil
		}
		done[cur] = true
		err := fn(cur, sites)
		sites = map[string]*siteMatrix{}
		return err
	}
	_, err := data.ReadTable(path, func(rows []data.ActivationRow) error {
		for _, r := range rows {
			if r.Step != cur {
				if err := flush(); err != nil {
					return err
				}
				if done[r.Step] {
					return fmt.Errorf("read %s: rows of step %d are not contiguous; write the table sorted by step", path, r.Step)
				}
				cur = r.Step
			}
			if keep != nil && !keep(r.Step) {
				continue
			}
			m := sites[r.Site]
			if m == nil {
				m = &siteMatrix{}
				sites[r.Site] = m
			}
			if err := m.add(r); err != nil {
				return fmt.Errorf("read %s: %w", path, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// metricOut collects a cell's internal metric rows.
type metricOut struct {
	coords data.Coords
	rows   []data.MetricRow
}

func (o *metricOut) add(step int64, site string, layer, head, pos int, concept, metric string, v float64) {
	o.rows = append(o.rows, data.MetricRow{Coords: o.coords, Step: step, Split: "probe", Site: site, Layer: int32(layer),
		Head: int32(head), Position: int32(pos), Concept: concept, Metric: metric, Value: data.F(v)})
}

// analyzeCell computes a cell's internal metrics: per step and site the rank measures, the spectrum,
// CKA with the final checkpoint, and linear probes of every concept with control tasks; per step,
// layer and head the attention-head scores.
func analyzeCell(ci *cellInputs, opt Options) ([]data.MetricRow, error) {
	out := &metricOut{coords: ci.coords}
	actPath := filepath.Join(ci.dir, data.ActivationsFile)
	if len(ci.steps) == 0 {
		return nil, fmt.Errorf("%s: no checkpoints", filepath.Join(ci.dir, data.MetricsFile))
	}
	// The reference of cka_final is the final checkpoint; for a cell whose training diverged, the
	// last checkpoint at which the site's activations are finite.
	final := ci.steps[len(ci.steps)-1]
	keepFinal := func(s int64) bool { return s == final }
	if ci.diverged >= 0 {
		keepFinal = nil
	}
	finals := map[string]*mat.Dense{}
	if err := readActivationSteps(actPath, keepFinal, func(_ int64, sites map[string]*siteMatrix) error {
		for name, m := range sites {
			if ci.diverged < 0 || m.finite() {
				finals[name] = m.dense()
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	err := readActivationSteps(actPath, nil, func(step int64, sites map[string]*siteMatrix) error {
		names := make([]string, 0, len(sites))
		for n := range sites {
			if len(opt.Sites) == 0 || slices.Contains(opt.Sites, n) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		for _, want := range opt.Sites {
			if sites[want] == nil {
				present := make([]string, 0, len(sites))
				for n := range sites {
					present = append(present, n)
				}
				slices.Sort(present)
				return fmt.Errorf("cell %s step %d: site %s is not in %s (present: %s)", ci.coords.Cell, step, want, actPath, strings.Join(present, ", "))
			}
		}
		for _, site := range names {
			m := sites[site]
			n0 := len(out.rows)
			if err := siteMetrics(out, ci, step, site, m, finals[site], opt); err != nil {
				if ci.diverged >= 0 {
					out.rows = out.rows[:n0] // a diverged cell's checkpoint too broken to measure (NaN): no rows
					continue
				}
				return fmt.Errorf("cell %s step %d site %s: %w", ci.coords.Cell, step, site, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := headScores(out, ci); err != nil {
		return nil, err
	}
	return out.rows, nil
}

// siteMetrics adds one site's rank measures, spectrum, CKA with final (if not nil) and, at the
// probed sites, the probes of every concept at one step.
func siteMetrics(out *metricOut, ci *cellInputs, step int64, site string, m *siteMatrix, final *mat.Dense, opt Options) error {
	x := m.dense()
	s, err := geometry.SingularValuesTo(nil, x)
	if err != nil {
		return err
	}
	r := geometry.RanksFromSpectrum(s, geometry.RankMeEpsilon, opt.RankTol)
	out.add(step, site, data.NA, data.NA, data.NA, "", "effective_rank", r.Effective)
	out.add(step, site, data.NA, data.NA, data.NA, "", "rankme", r.RankMe)
	out.add(step, site, data.NA, data.NA, data.NA, "", "participation_ratio", r.Participation)
	out.add(step, site, data.NA, data.NA, data.NA, "", "stable_rank", r.Stable)
	out.add(step, site, data.NA, data.NA, data.NA, "", "numerical_rank", float64(r.Numerical))
	for i, v := range s {
		out.add(step, site, data.NA, data.NA, i, "", "singular_value", v)
	}
	if final != nil {
		if fr, _ := final.Dims(); fr == len(m.keys) {
			if c, err := geometry.LinearCKA(x, final); err == nil {
				out.add(step, site, data.NA, data.NA, data.NA, "", "cka_final", c)
			}
		}
	}
	if !probeSite(site, opt.ProbeSites) {
		return nil
	}
	return probeConcepts(out, ci, step, site, m, opt)
}

func probeSite(site string, suffixes []string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(site, s) {
			return true
		}
	}
	return false
}

// probeConcepts fits, for every concept defined at the site's rows, a cross-validated logistic
// probe and its Hewitt & Liang control task (types = the input token at the row), and a probe on
// shuffled labels.
// Each (site, concept) draws its folds, control labels and shuffle from its own stream, seeded by
// opt.Seed and the pair's name: the same at every checkpoint (the labelled rows are the same), so a
// probe curve changes only with the representation, and independent of which other sites or
// concepts are analysed.
func probeConcepts(out *metricOut, ci *cellInputs, step int64, site string, m *siteMatrix, opt Options) error {
	concepts := make([]string, 0, len(ci.labels))
	for c := range ci.labels {
		concepts = append(concepts, c)
	}
	slices.Sort(concepts)
	lo := probes.DefaultLogisticOptions()
	lo.C = opt.ProbeC
	lo.Standardize = true
	lo.Tol = 1e-3
	lo.MaxIter = 200
	for _, concept := range concepts {
		lab := ci.labels[concept]
		var rows []int
		var y, types []int
		for i, k := range m.keys {
			if l, ok := lab[k]; ok {
				rows = append(rows, i)
				y = append(y, l)
				types = append(types, int(ci.tokens[k]))
			}
		}
		if len(rows) == 0 {
			continue // the concept is not defined at this site's positions
		}
		if len(rows) < opt.ProbeFolds {
			return fmt.Errorf("concept %s: %d labelled rows, too few for %d folds (capture more examples or lower --probe-folds)", concept, len(rows), opt.ProbeFolds)
		}
		x := mat.NewDense(len(rows), m.cols, nil)
		for j, i := range rows {
			x.SetRow(j, m.data[i*m.cols:(i+1)*m.cols])
		}
		classes := ci.classes[concept]
		h := fnv.New64a()
		h.Write([]byte(site + "\x00" + concept))
		rng := rand.New(rand.NewPCG(opt.Seed, h.Sum64()))
		folds, err := probes.KFold(len(rows), opt.ProbeFolds, rng)
		if err != nil {
			return fmt.Errorf("concept %s: %w", concept, err)
		}
		sel, err := probes.Selectivity(x, y, types, classes, folds, lo, rng)
		if err != nil {
			return fmt.Errorf("concept %s: %w", concept, err)
		}
		out.add(step, site, data.NA, data.NA, data.NA, concept, "probe_accuracy", sel.Task.Accuracy)
		out.add(step, site, data.NA, data.NA, data.NA, concept, "probe_logloss", sel.Task.LogLoss)
		out.add(step, site, data.NA, data.NA, data.NA, concept, "probe_control_accuracy", sel.Control.Accuracy)
		out.add(step, site, data.NA, data.NA, data.NA, concept, "probe_selectivity", sel.Selectivity)
		shuf, err := probes.CrossValidateLogistic(x, probes.ShuffledLabels(y, rng), classes, folds, lo)
		if err != nil {
			return fmt.Errorf("concept %s shuffled: %w", concept, err)
		}
		out.add(step, site, data.NA, data.NA, data.NA, concept, "probe_shuffled_accuracy", shuf.Accuracy)
	}
	return nil
}

// headScores streams attention.parquet one (step, layer) at a time and scores every head.
func headScores(out *metricOut, ci *cellInputs) error {
	path := filepath.Join(ci.dir, data.AttentionFile)
	type key struct {
		step  int64
		layer int32
	}
	var cur key
	var rows []data.AttentionRow
	started := false
	done := map[key]bool{}
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		done[cur] = true
		heads, T, N := 0, len(rows[0].Pattern), 0
		for _, r := range rows {
			heads = max(heads, int(r.Head)+1)
			N = max(N, int(r.Example)+1)
		}
		p := probes.Pattern{Data: make([]float32, N*heads*T*T), Examples: N, Heads: heads, Pos: T}
		for _, r := range rows {
			if len(r.Pattern) != T || int(r.QueryPos) >= T {
				return fmt.Errorf("read %s: step %d layer %d: pattern rows of different lengths", path, cur.step, cur.layer)
			}
			off := ((int(r.Example)*heads+int(r.Head))*T + int(r.QueryPos)) * T
			copy(p.Data[off:off+T], r.Pattern)
		}
		tokens := make([]int32, N*T)
		for e := range N {
			for q := range T {
				tokens[e*T+q] = ci.tokens[[2]int32{int32(e), int32(q)}]
			}
		}
		if err := probes.CheckPattern(p, 1e-3); err != nil {
			if ci.diverged >= 0 {
				rows = rows[:0] // a diverged cell's checkpoint whose patterns are broken: no head scores
				return nil
			}
			return fmt.Errorf("cell %s step %d layer %d: %w", ci.coords.Cell, cur.step, cur.layer, err)
		}
		hs := probes.ScoreHeads(p, tokens)
		site := fmt.Sprintf("blocks.%d.attn.hook_pattern", cur.layer)
		for h := range heads {
			out.add(cur.step, site, int(cur.layer), h, data.NA, "", "entropy", hs.Entropy[h])
			out.add(cur.step, site, int(cur.layer), h, data.NA, "", "prev_token_score", hs.PrevToken[h])
			out.add(cur.step, site, int(cur.layer), h, data.NA, "", "induction_score", hs.Induction[h])
			out.add(cur.step, site, int(cur.layer), h, data.NA, "", "duplicate_token_score", hs.DuplicateToken[h])
		}
		out.add(cur.step, site, int(cur.layer), data.NA, data.NA, "", "specialisation", hs.Specialisation)
		rows = rows[:0]
		return nil
	}
	_, err := data.ReadTable(path, func(batch []data.AttentionRow) error {
		for _, r := range batch {
			k := key{r.Step, r.Layer}
			if !started || k != cur {
				if err := flush(); err != nil {
					return err
				}
				if done[k] {
					return fmt.Errorf("read %s: rows of step %d layer %d are not contiguous; write the table sorted by step and layer", path, k.step, k.layer)
				}
				cur, started = k, true
			}
			r.Pattern = slices.Clone(r.Pattern) // the reader may reuse its buffers between batches
			rows = append(rows, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

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
		out.add(step, n, data.NA, data.NA, data.NA, "", "cka_next_width", c)
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
