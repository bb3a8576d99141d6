package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/phaseprobe/phaseprobe/data"
)

// SweepOptions control how a sweep runs; none of them changes its results.
type SweepOptions struct {
	// Out is the runs folder; the sweep writes Out/<spec.name>/.
	Out string
	// Jobs is how many ensembles train at once (default 1).
	Jobs int
	// Ensemble overrides spec.ensemble (0 = use the spec, then the backend default).
	Ensemble int
	// Only restricts the run to these cell IDs (a Slurm array task runs one group); an ID the spec
	// does not have is an error wrapping ErrUnknownCell.
	Only []string
	// Progress, if set, receives (label, step, total, mean loss) after every step of every group and
	// (label, -1, ...) when a group finishes.
	Progress func(label string, step, total int, loss float64)
	// Log receives structured logs; nil discards them.
	Log *slog.Logger
}

// ErrUnknownCell is wrapped by RunSweep's error when SweepOptions.Only names a cell the spec does
// not have; it is checked before anything is written.
var ErrUnknownCell = errors.New("not in sweep")

// CheckCellIDs returns an error wrapping ErrUnknownCell for the first of ids that is not one of
// cells, the spec's cells (Cells).
func (s Spec) CheckCellIDs(cells []Cell, ids []string) error {
	for _, id := range ids {
		if !slices.ContainsFunc(cells, func(c Cell) bool { return c.ID == id }) {
			return fmt.Errorf("cell %q is %w %s", id, ErrUnknownCell, s.Name)
		}
	}
	return nil
}

// Group is a set of cells trained together as one ensemble: same model shape, different seeds.
type Group struct {
	Model Config
	Cells []Cell
}

// Label names a group for progress bars and Slurm.
func (g Group) Label() string {
	seeds := make([]string, len(g.Cells))
	for i, c := range g.Cells {
		seeds[i] = fmt.Sprint(c.Seed)
	}
	return fmt.Sprintf("d%d-L%d-H%d s%s", g.Model.DModel, g.Model.NLayers, g.Model.NHeads, strings.Join(seeds, ","))
}

// DefaultEnsemble is the ensemble size used when neither the spec nor the flags set one: on the
// pure-Go backend a step is mostly per-op overhead, so stacking seeds is nearly free.
func DefaultEnsemble(b *Backend) int {
	if b.IsGo() {
		return 4
	}
	return 8
}

// Groups partitions the cells into ensembles of at most k seeds of one shape, in cell order.
func Groups(cells []Cell, k int) []Group {
	if k < 1 {
		k = 1
	}
	var out []Group
	idx := map[Config][]int{}
	var order []Config
	for i, c := range cells {
		if _, ok := idx[c.Model]; !ok {
			order = append(order, c.Model)
		}
		idx[c.Model] = append(idx[c.Model], i)
	}
	for _, m := range order {
		ids := idx[m]
		for start := 0; start < len(ids); start += k {
			g := Group{Model: m}
			for _, i := range ids[start:min(start+k, len(ids))] {
				g.Cells = append(g.Cells, cells[i])
			}
			out = append(out, g)
		}
	}
	return out
}

// SweepDir is the folder of a sweep inside a runs folder.
func SweepDir(out string, s Spec) string { return filepath.Join(out, s.Name) }

// CellDir is a cell's folder.
func CellDir(sweepDir, cellID string) string { return filepath.Join(sweepDir, data.CellsDir, cellID) }

// checkpointPath is the checkpoint of a cell at a step.
func checkpointPath(cellDir string, step int) string {
	return filepath.Join(cellDir, data.CheckpointsDir, fmt.Sprintf(data.CheckpointFileFormat, step))
}

// CellMeta is config.json: everything needed to rebuild a cell's model and data.
type CellMeta struct {
	Sweep     string         `json:"sweep"`
	Cell      string         `json:"cell"`
	Task      string         `json:"task"`
	Params    map[string]any `json:"task_params"`
	Seed      uint64         `json:"seed"`
	Model     Config         `json:"model"`
	Optim     Optim          `json:"optimizer"`
	Steps     int            `json:"steps"`
	BatchSize int            `json:"batch_size"`
	Capture   []int          `json:"checkpoint_steps"`
	Probe     ProbeSpec      `json:"probe"`
}

// PrepareSweep creates the sweep folder and writes the resolved spec, or checks that an existing
// folder holds the same sweep (so a rerun resumes it rather than mixing two sweeps).
func PrepareSweep(s Spec, out string) (string, error) {
	dir := SweepDir(out, s)
	if err := os.MkdirAll(filepath.Join(dir, data.CellsDir), 0o755); err != nil {
		return "", fmt.Errorf("create run folder: %w", err)
	}
	resolved, err := yaml.Marshal(s)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, data.SweepFile)
	if old, err := os.ReadFile(path); err == nil {
		// Slurm resources do not change results: a sweep may be resubmitted with other ones.
		var prev Spec
		if err := yaml.Unmarshal(old, &prev); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		// Nor does checkpoints.keep, which only says which checkpoint files stay afterwards.
		prev.Slurm, s.Slurm = SlurmSpec{}, SlurmSpec{}
		prev.Checkpoints.Keep, s.Checkpoints.Keep = "", ""
		a, _ := yaml.Marshal(prev)
		b, _ := yaml.Marshal(s)
		if !bytes.Equal(a, b) {
			var x, y any
			_ = yaml.Unmarshal(a, &x)
			_ = yaml.Unmarshal(b, &y)
			return "", fmt.Errorf("%s holds a different sweep (its resolved spec differs from this one in %s); choose another --out or spec name, or delete the folder",
				path, strings.Join(specDiff("", x, y), ", "))
		}
		return dir, nil
	}
	if err := data.WriteFileAtomic(path, resolved); err != nil {
		return "", err
	}
	return dir, nil
}

// specDiff lists the paths ("ensemble: 4 → 1", "train.steps: 20 → 30") where two decoded YAML
// values differ.
func specDiff(path string, old, new any) []string {
	om, ok1 := old.(map[string]any)
	nm, ok2 := new.(map[string]any)
	if ok1 && ok2 {
		keys := map[string]bool{}
		for k := range om {
			keys[k] = true
		}
		for k := range nm {
			keys[k] = true
		}
		var names []string
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		var out []string
		for _, k := range names {
			p := k
			if path != "" {
				p = path + "." + k
			}
			out = append(out, specDiff(p, om[k], nm[k])...)
		}
		return out
	}
	a, _ := yaml.Marshal(old)
	b, _ := yaml.Marshal(new)
	if bytes.Equal(a, b) {
		return nil
	}
	show := func(raw []byte) string {
		v := strings.TrimSpace(string(raw))
		if len(v) > 60 || strings.Contains(v, "\n") {
			v = strings.Join(strings.Fields(v), " ")
			if len(v) > 60 {
				v = v[:57] + "..."
			}
		}
		return v
	}
	return []string{fmt.Sprintf("%s: %s in the folder, %s in this spec", path, show(a), show(b))}
}

// RunSweep trains every cell of the spec (those not finished yet), saving checkpoints on the
// schedule, then captures every checkpoint into the cell's Parquet tables. Rerunning a killed sweep
// resumes: finished cells are skipped, training continues from each ensemble's last checkpoint, and
// tables are rebuilt from the saved checkpoints.
func RunSweep(ctx context.Context, b *Backend, s Spec, opt SweepOptions) error {
	log := logger(opt.Log)
	cells, err := s.Cells()
	if err != nil {
		return err
	}
	if len(opt.Only) > 0 {
		if err := s.CheckCellIDs(cells, opt.Only); err != nil {
			return err
		}
		cells = slices.DeleteFunc(cells, func(c Cell) bool { return !slices.Contains(opt.Only, c.ID) })
	}
	k := opt.Ensemble
	if k == 0 {
		k = s.Ensemble
	}
	if k == 0 {
		k = DefaultEnsemble(b)
	}
	groups := Groups(cells, k)
	jobs := min(max(opt.Jobs, 1), max(len(groups), 1)) // no more workers than ensembles
	if err := sweepMemory(s, groups, jobs, MachineMemory()); err != nil {
		return err
	}
	// One writer per run folder: a sweep of the whole grid locks it exclusively; a sweep of some
	// cells (a Slurm array task) locks it shared and each of its cells exclusively.
	dir := SweepDir(opt.Out, s)
	if err := os.MkdirAll(filepath.Join(dir, data.CellsDir), 0o755); err != nil {
		return fmt.Errorf("create run folder: %w", err)
	}
	lock, err := data.LockDir(dir, len(opt.Only) == 0, "sweep")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if len(opt.Only) > 0 {
		for _, c := range cells {
			cd := CellDir(dir, c.ID)
			if err := os.MkdirAll(cd, 0o755); err != nil {
				return err
			}
			cl, err := data.LockDir(cd, true, "sweep --cells")
			if err != nil {
				return err
			}
			defer cl.Unlock()
		}
	}
	if _, err := PrepareSweep(s, opt.Out); err != nil {
		return err
	}
	log.Info("sweep", "dir", dir, "cells", len(cells), "ensembles", len(groups), "ensemble_size", k, "jobs", jobs, "backend", b.String())
	return eachEnsemble(ctx, jobs, groups, func(g Group) error { return runGroup(ctx, b, s, dir, g, opt, log) })
}

// sweepMemory refuses a sweep whose jobs ensembles at once would need more than limit bytes
// (SweepMemory).
func sweepMemory(s Spec, groups []Group, jobs int, limit float64) error {
	need, what := SweepMemory(s, groups, jobs)
	return CheckMemory(what, need, limit)
}

// SweepMemory returns the bytes jobs ensembles of the sweep need at once (EstimateMemory of the
// largest training step and probe-set capture, times jobs) and a phrase naming what needs them,
// for CheckMemory.
func SweepMemory(s Spec, groups []Group, jobs int) (float64, string) {
	need, label := 0.0, ""
	for _, g := range groups {
		tr := EstimateMemory(g.Model, len(g.Cells), s.Train.BatchSize, true)
		ev := EstimateMemory(g.Model, len(g.Cells), s.Probe.Examples, false)
		if m := max(tr, ev); m > need {
			need, label = m, g.Label()
		}
	}
	return need * float64(jobs), fmt.Sprintf("ensemble %s (batch_size %d, probe.examples %d) × %d jobs", label, s.Train.BatchSize, s.Probe.Examples, jobs)
}

// cellDone reports whether a cell finished (done.json is written last, after every table).
func cellDone(cellDir string) bool {
	_, err := os.Stat(filepath.Join(cellDir, data.DoneFile))
	return err == nil
}

// latestCommonCheckpoint is the step to resume a group from: the largest scheduled step up to
// which every cell of the group has a readable checkpoint at every scheduled step (-1 if none).
// A gap (a checkpoint deleted, or one that fails its checksum) ends the series there, so the cells
// are retrained from the last good checkpoint before it and no step's losses or tables go missing.
func latestCommonCheckpoint(dirs []string, schedule []int) int {
	at := -1
	for _, step := range schedule {
		for _, d := range dirs {
			if _, err := ReadCheckpointHeader(checkpointPath(d, step)); err != nil {
				return at
			}
		}
		at = step
	}
	return at
}

// runGroup trains the unfinished cells of one ensemble to the end of the schedule, saving every
// scheduled checkpoint, then captures each of them and applies checkpoints.keep.
func runGroup(ctx context.Context, b *Backend, s Spec, dir string, g Group, opt SweepOptions, log *slog.Logger) error {
	keep, err := s.Checkpoints.KeepCheckpoints()
	if err != nil {
		return err
	}
	var todo []Cell
	for _, c := range g.Cells {
		d := CellDir(dir, c.ID)
		if !cellDone(d) {
			todo = append(todo, c)
			continue
		}
		// Captured earlier (a killed run may have stopped between a capture and its pruning).
		if keep > 0 {
			if err := pruneCaptured(d, s.Checkpoints.Steps, keep, log); err != nil {
				return err
			}
		}
	}
	if len(todo) == 0 {
		log.Debug("ensemble already finished", "ensemble", g.Label())
		return nil
	}
	g.Cells = todo
	run, dirs, err := startGroup(b, s, dir, g, log)
	if err != nil {
		return err
	}
	if err := trainGroup(ctx, run, s, g.Cells, dirs, g.Label(), opt, log); err != nil {
		return err
	}
	for i, c := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := CaptureCell(ctx, b, s, dirs[i], c, log); err != nil {
			return fmt.Errorf("capture %s: %w", c.ID, err)
		}
		if keep > 0 {
			if err := pruneCaptured(dirs[i], s.Checkpoints.Steps, keep, log); err != nil {
				return err
			}
		}
	}
	return nil
}

// startGroup prepares the folder of each of g's cells (stale temporaries removed, checkpoints/
// created, config.json written) and starts the ensemble's run: resumed from the latest checkpoint
// every member has, else from scratch. It returns the run and the cells' folders.
func startGroup(b *Backend, s Spec, dir string, g Group, log *slog.Logger) (*Run, []string, error) {
	task, err := data.NewTask(s.Task.Name, s.Task.Params)
	if err != nil {
		return nil, nil, err
	}
	dirs := make([]string, len(g.Cells))
	seeds := make([]uint64, len(g.Cells))
	for i, c := range g.Cells {
		dirs[i] = CellDir(dir, c.ID)
		seeds[i] = c.Seed
		removeStaleTemps(dir, dirs[i])
		if err := os.MkdirAll(filepath.Join(dirs[i], data.CheckpointsDir), 0o755); err != nil {
			return nil, nil, err
		}
		meta := CellMeta{Sweep: s.Name, Cell: c.ID, Task: task.Name(), Params: task.Params(), Seed: c.Seed, Model: c.Model,
			Optim: s.Train.Optimizer, Steps: s.Train.Steps, BatchSize: s.Train.BatchSize, Capture: s.Checkpoints.Steps, Probe: s.Probe}
		mj, _ := json.MarshalIndent(meta, "", "  ")
		if err := data.WriteFileAtomic(filepath.Join(dirs[i], data.ConfigFile), append(mj, '\n')); err != nil {
			return nil, nil, err
		}
	}
	rc := RunConfig{Task: task, Model: g.Model, Optim: s.Train.Optimizer, Seeds: seeds, Steps: s.Train.Steps, BatchSize: s.Train.BatchSize}
	var run *Run
	if at := latestCommonCheckpoint(dirs, s.Checkpoints.Steps); at >= 0 {
		paths := make([]string, len(dirs))
		for i, d := range dirs {
			paths[i] = checkpointPath(d, at)
		}
		// A run continues on the backend it trained on: another backend's numbers differ in the
		// last bits, and a run mixing two would match neither backend's uninterrupted run.
		if h, err := ReadCheckpointHeader(paths[0]); err == nil && h.Backend != "" && backendName(h.Backend) != backendName(b.String()) {
			return nil, nil, fmt.Errorf("its checkpoint at step %d was trained on backend %s; resuming it on %s would mix two backends in one run (use --backend %s)",
				at, h.Backend, b, h.Backend)
		}
		if run, err = ResumeRun(b, rc, paths); err != nil {
			return nil, nil, err
		}
		log.Info("resuming", "ensemble", g.Label(), "step", at)
	} else if run, err = NewRun(b, rc); err != nil {
		return nil, nil, err
	}
	run.KeepGoing = true
	return run, dirs, nil
}

// trainGroup trains run through the spec's schedule, saving each member's checkpoint at every
// scheduled step (dirs are the cells' folders), and records each diverged member in its
// diverged.json. Progress gets the members' mean finite loss after every step.
func trainGroup(ctx context.Context, run *Run, s Spec, cells []Cell, dirs []string, label string, opt SweepOptions, log *slog.Logger) error {
	steps := run.Config.Steps
	trainStart, fromStep := time.Now(), run.Step()
	for _, target := range s.Checkpoints.Steps {
		if target < run.Step() {
			continue
		}
		if target > run.Step() {
			err := run.TrainTo(ctx, target, func(step int, res StepResult) {
				if opt.Progress != nil {
					opt.Progress(label, step, steps, meanFinite(res.Loss))
				}
			})
			var de *DivergedError
			if errors.As(err, &de) {
				log.Warn("every member diverged", "ensemble", label, "step", de.Step)
				break
			}
			if err != nil {
				return err
			}
		}
		if err := saveScheduled(run, dirs, target); err != nil {
			return err
		}
	}
	for i, step := range run.Diverged {
		cell := cells[i].ID
		log.Warn("cell diverged: loss is not finite", "cell", cell, "step", step)
		dj, _ := json.Marshal(map[string]any{"cell": cell, "step": step})
		if err := data.WriteFileAtomic(filepath.Join(dirs[i], data.DivergedFile), dj); err != nil {
			return err
		}
	}
	if opt.Progress != nil {
		opt.Progress(label, -1, steps, 0)
	}
	log.Info("ensemble trained", "ensemble", label, "members", len(dirs), "steps", run.Step()-fromStep,
		"seconds", time.Since(trainStart).Seconds())
	return nil
}

// meanFinite is the mean of the finite losses (those of members that have not diverged); 0 when
// none is.
func meanFinite(losses []float64) float64 {
	sum, n := 0.0, 0
	for _, l := range losses {
		if l == l { // skip NaN of diverged members
			sum += l
			n++
		}
	}
	return sum / float64(max(n, 1))
}

// saveScheduled saves each live member's checkpoint at the scheduled step target, which run has
// reached, unless a readable one is there already.
func saveScheduled(run *Run, dirs []string, target int) error {
	for i, d := range dirs {
		if _, bad := run.Diverged[i]; bad {
			continue
		}
		if _, err := ReadCheckpointHeader(checkpointPath(d, target)); err == nil {
			// The checkpoint this run resumed from, or one a killed run saved for this member before
			// the others': keep it (it holds the losses before it), and start the losses of the
			// member's next checkpoint after it, as the uninterrupted run does.
			run.recent[i] = run.recent[i][:0]
			continue
		}
		if err := run.Save(checkpointPath(d, target), i); err != nil {
			return err
		}
	}
	return nil
}

// pruneCaptured applies checkpoints.keep to a captured cell and logs what it removed.
func pruneCaptured(cellDir string, schedule []int, keep int, log *slog.Logger) error {
	removed, err := PruneCheckpoints(cellDir, schedule, keep)
	if err != nil {
		return fmt.Errorf("checkpoints.keep: %w", err)
	}
	if len(removed) > 0 {
		log.Debug("pruned checkpoints", "cell", filepath.Base(cellDir), "removed", len(removed), "kept", keep)
	}
	return nil
}

// CheckpointSteps lists the steps of a cell's checkpoint files, ascending: the files (or links) in
// its checkpoints/ folder named exactly as data.CheckpointFileFormat writes them. Temporary files
// (dot-named) and any other file are not checkpoints.
func CheckpointSteps(cellDir string) []int {
	entries, _ := os.ReadDir(filepath.Join(cellDir, data.CheckpointsDir))
	var out []int
	for _, e := range entries {
		var st int
		name := e.Name()
		if !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0 { // a folder is never a checkpoint; a link may be
			continue
		}
		// The name must be exactly what the format writes, so a temporary (dot prefix, .tmp suffix) is not one.
		if _, err := fmt.Sscanf(name, data.CheckpointFileFormat, &st); err == nil && st >= 0 && fmt.Sprintf(data.CheckpointFileFormat, st) == name {
			out = append(out, st)
		}
	}
	sort.Ints(out)
	return out
}

// removeStaleTemps deletes the temporary files a killed run left in a cell's folder and its
// checkpoints/ (only phaseprobe's own, data.IsTemp; never outside the sweep folder). The caller
// holds the cell's lock, so no live writer's file is removed.
func removeStaleTemps(sweepDir, cellDir string) {
	data.RemoveTemps(sweepDir, cellDir, "")
	data.RemoveTemps(sweepDir, filepath.Join(cellDir, data.CheckpointsDir), "")
}
