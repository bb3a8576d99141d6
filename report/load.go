package report

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/phaseprobe/phaseprobe/data"
)

// isTaskMetric reports whether metric scores the model's outputs (a KindTask metric of data's
// vocabulary, in metrics.parquet); every other metric name is an internal one
// (internal_metrics.parquet).
func isTaskMetric(metric string) bool {
	info, _ := data.LookupMetric(metric)
	return info.Kind == data.KindTask
}

// cellInfo is one cell folder: its coordinates and what the report found in it.
type cellInfo struct {
	data.Coords
	Dir        string
	HasMetrics bool  // metrics.parquet exists
	Diverged   int64 // the step training diverged at; -1 when it did not
	// Zoomed are the windows (from, to) that phaseprobe zoom replayed with extra checkpoints
	// (checkpoints.parquet rows of schedule "zoom").
	Zoomed [][2]int64
}

// run is everything the report reads from a run folder. Metrics hold the checkpoint curves
// only: the sentinel rows (data.IsSentinel: the per-step training loss and the diverged marker,
// whose step is in cellInfo.Diverged) are left out; attention is read later, only for the heads
// shown.
type run struct {
	Dir   string
	Spec  data.SweepSpec // sweep.yaml, decoded leniently (see readSpec)
	Cells []cellInfo     // sorted by d_model, n_layers, n_heads, seed, cell

	Task        []data.MetricRow // task metrics of every cell
	Internal    []data.MetricRow // internal metrics of every cell
	Transitions []data.TransitionRow
	Jumps       []data.JumpRow
	Mirage      []data.MirageRow
	Verdicts    []data.VerdictRow

	// HasX is true when the table file exists (it may still be empty).
	HasInternal, HasTransitions, HasJumps, HasMirage, HasVerdicts bool

	// Settings are what the analysis computed its tables with, as it recorded them in the
	// verdicts (else the transitions) table's metadata; HasSettings is false for a run not yet
	// analysed, or analysed by a version that recorded none.
	Settings    data.AnalysisSettings
	HasSettings bool

	Notes []string // problems found while reading, shown in the report
}

// interner copies the strings of rows that ReadTable hands over, sharing one copy per value.
type interner map[string]string

func (in interner) str(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	v := strings.Clone(s)
	in[v] = v
	return v
}

func (in interner) coords(c data.Coords) data.Coords {
	c.Sweep, c.Cell, c.Task = in.str(c.Sweep), in.str(c.Cell), in.str(c.Task)
	return c
}

func (in interner) series(s data.Series) data.Series {
	s.Kind, s.Split, s.Site, s.Concept, s.Metric = in.str(s.Kind), in.str(s.Split), in.str(s.Site), in.str(s.Concept), in.str(s.Metric)
	return s
}

func (in interner) metric(r data.MetricRow) data.MetricRow {
	r.Coords = in.coords(r.Coords)
	r.Split, r.Site, r.Concept, r.Metric = in.str(r.Split), in.str(r.Site), in.str(r.Concept), in.str(r.Metric)
	return r
}

// loadRun reads a run folder. Only a folder that cannot be listed, or a table that exists but
// cannot be read, is an error; missing tables leave their fields empty.
func loadRun(ctx context.Context, dir string) (*run, error) {
	r := &run{Dir: dir}
	in := interner{}
	r.readSpec()
	cellDirs, err := data.CellDirs(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, cd := range cellDirs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := cellInfo{Dir: cd, Diverged: -1}
		c.Coords = readCellConfig(cd)
		if c.Cell == "" {
			c.Cell = filepath.Base(cd)
		}
		found, err := readMetrics(filepath.Join(cd, data.MetricsFile), in, func(m data.MetricRow) {
			c.Coords = m.Coords
			if isTaskMetric(m.Metric) {
				r.Task = append(r.Task, m)
			} else {
				r.Internal = append(r.Internal, m)
			}
		}, func(m data.MetricRow) {
			c.Coords, c.Diverged = m.Coords, m.Step
		})
		if err != nil {
			return nil, err
		}
		c.HasMetrics = found
		found, err = readMetrics(filepath.Join(cd, data.InternalMetricsFile), in, func(m data.MetricRow) {
			if isTaskMetric(m.Metric) {
				return // task metrics come from metrics.parquet
			}
			r.Internal = append(r.Internal, m)
		}, nil)
		if err != nil {
			return nil, err
		}
		r.HasInternal = r.HasInternal || found
		if c.Zoomed, err = zoomedWindows(cd); err != nil {
			return nil, err
		}
		r.Cells = append(r.Cells, c)
	}
	analysis := filepath.Join(dir, data.AnalysisDir)
	if err := r.readAnalysis(analysis, in); err != nil {
		return nil, err
	}
	if err := r.readSettings(analysis); err != nil {
		return nil, err
	}
	slices.SortFunc(r.Cells, func(a, b cellInfo) int { return compareCoords(a.Coords, b.Coords) })
	if r.Spec.Name == "" {
		r.Spec.Name = filepath.Base(filepath.Clean(dir))
		if len(r.Cells) > 0 && r.Cells[0].Sweep != "" {
			r.Spec.Name = r.Cells[0].Sweep
		}
	}
	if r.Spec.Task.Name == "" && len(r.Cells) > 0 {
		r.Spec.Task.Name = r.Cells[0].Task
	}
	return r, ctx.Err()
}

// readSpec reads runDir/sweep.yaml into r.Spec (data.SweepSpec, the shape train.Spec writes); a
// missing or unparsable spec is a note, not an error. It is decoded leniently: keys the report
// does not know are ignored, so a newer spec still gets a report.
func (r *run) readSpec() {
	dir := r.Dir
	if raw, err := os.ReadFile(filepath.Join(dir, data.SweepFile)); err == nil {
		if err := yaml.Unmarshal(raw, &r.Spec); err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("sweep.yaml could not be parsed (%v); the header is incomplete", err))
		}
	} else {
		r.Notes = append(r.Notes, "sweep.yaml is missing; the header shows what the cells say")
	}
}

// readAnalysis reads the tables under analysis/: the merged metrics when no cell has its own
// internal metrics, then transitions, jumps, mirage and verdicts.
func (r *run) readAnalysis(analysis string, in interner) error {
	var err error
	if !r.HasInternal {
		// Internal metrics may exist only in the merged table.
		found, err := readMetrics(filepath.Join(analysis, data.AllMetricsFile), in, func(m data.MetricRow) {
			if !isTaskMetric(m.Metric) {
				r.Internal = append(r.Internal, m)
			}
		}, nil)
		if err != nil {
			return err
		}
		r.HasInternal = found && len(r.Internal) > 0
	}
	if r.HasTransitions, err = readAll(filepath.Join(analysis, data.TransitionsFile), func(t data.TransitionRow) {
		t.Coords = in.coords(t.Coords)
		t.Series = in.series(t.Series)
		t.Null, t.Reason = in.str(t.Null), in.str(t.Reason)
		r.Transitions = append(r.Transitions, t)
	}); err != nil {
		return err
	}
	if r.HasJumps, err = readAll(filepath.Join(analysis, data.JumpsFile), func(j data.JumpRow) {
		j.Coords = in.coords(j.Coords)
		j.Series = in.series(j.Series)
		r.Jumps = append(r.Jumps, j)
	}); err != nil {
		return err
	}
	if r.HasMirage, err = readAll(filepath.Join(analysis, data.MirageFile), func(m data.MirageRow) {
		m.Sweep, m.Task, m.Split, m.Metric, m.Reading = in.str(m.Sweep), in.str(m.Task), in.str(m.Split), in.str(m.Metric), in.str(m.Reading)
		r.Mirage = append(r.Mirage, m)
	}); err != nil {
		return err
	}
	if r.HasVerdicts, err = readAll(filepath.Join(analysis, data.VerdictsFile), func(v data.VerdictRow) {
		v.Sweep, v.Task, v.Question, v.Subject, v.Site = in.str(v.Sweep), in.str(v.Task), in.str(v.Question), in.str(v.Subject), in.str(v.Site)
		v.Concept, v.Metric, v.Group, v.TaskMetric, v.Onset = in.str(v.Concept), in.str(v.Metric), in.str(v.Group), in.str(v.TaskMetric), in.str(v.Onset)
		v.Verdict, v.Method, v.NullHyp, v.Reason = in.str(v.Verdict), in.str(v.Method), in.str(v.NullHyp), in.str(v.Reason)
		r.Verdicts = append(r.Verdicts, v)
	}); err != nil {
		return err
	}
	return nil
}

// readSettings reads the analysis settings recorded in analysis/verdicts.parquet, else in
// analysis/transitions.parquet; neither recording any leaves HasSettings false.
func (r *run) readSettings(analysis string) error {
	for _, t := range []struct {
		file string
		has  bool
	}{{data.VerdictsFile, r.HasVerdicts}, {data.TransitionsFile, r.HasTransitions}} {
		if !t.has {
			continue
		}
		s, ok, err := data.ReadAnalysisSettings(filepath.Join(analysis, t.file))
		if err != nil {
			return err
		}
		if ok {
			r.Settings, r.HasSettings = s, true
			return nil
		}
	}
	return nil
}

// compareCoords orders cells by d_model, n_layers, n_heads, seed, then cell ID.
func compareCoords(a, b data.Coords) int {
	return cmp.Or(cmp.Compare(a.DModel, b.DModel), cmp.Compare(a.NLayers, b.NLayers), cmp.Compare(a.NHeads, b.NHeads),
		cmp.Compare(a.Seed, b.Seed), strings.Compare(a.Cell, b.Cell))
}

// readCellConfig reads the coordinates in a cell's config.json; zero values when it is missing.
func readCellConfig(dir string) data.Coords {
	raw, err := os.ReadFile(filepath.Join(dir, data.ConfigFile))
	if err != nil {
		return data.Coords{}
	}
	var c struct {
		Sweep string `json:"sweep"`
		Cell  string `json:"cell"`
		Task  string `json:"task"`
		Seed  int64  `json:"seed"`
		Model struct {
			DModel  int32 `json:"d_model"`
			NLayers int32 `json:"n_layers"`
			NHeads  int32 `json:"n_heads"`
		} `json:"model"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return data.Coords{}
	}
	return data.Coords{Sweep: c.Sweep, Cell: c.Cell, Task: c.Task, DModel: c.Model.DModel,
		NLayers: c.Model.NLayers, NHeads: c.Model.NHeads, Seed: c.Seed}
}

// readMetrics streams the checkpoint-curve rows of a MetricRow table into fn. The sentinel rows
// (data.IsSentinel) are no points of a curve, and this is the one place the report sets them
// apart: the diverged marker goes to diverged (when not nil), the per-step training loss is
// dropped. It returns false, and no error, when the file does not exist.
func readMetrics(path string, in interner, fn, diverged func(data.MetricRow)) (bool, error) {
	return readAll(path, func(m data.MetricRow) {
		switch {
		case m.Metric == data.MetricDiverged:
			if diverged != nil {
				diverged(in.metric(m))
			}
		case data.IsSentinel(m):
		default:
			fn(in.metric(m))
		}
	})
}

// readAll streams the table at path into fn row by row. It returns false, and no error, when the
// file does not exist.
func readAll[T data.TableRow](path string, fn func(T)) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	_, err := data.ReadTable(path, func(rows []T) error {
		for _, r := range rows {
			fn(r)
		}
		return nil
	})
	if err != nil {
		return true, err
	}
	return true, nil
}
