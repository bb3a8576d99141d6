package analysis

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/phaseprobe/phaseprobe/data"
)

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
			if r.Metric == data.MetricDiverged {
				ci.diverged = r.Step
			}
			if !data.IsSentinel(r) && !seen[r.Step] {
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
	raw, err := os.ReadFile(filepath.Join(dir, data.ConfigFile))
	if err != nil || json.Unmarshal(raw, &cfg) != nil {
		return nil // not a phaseprobe cell: no expectation
	}
	acts, attn := len(cfg.Probe.Sites) == 0, len(cfg.Probe.Sites) == 0
	for _, s := range cfg.Probe.Sites {
		if strings.HasSuffix(s, string(data.HookPattern)) {
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
