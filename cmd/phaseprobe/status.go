package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/train"
)

// Cell states reported by status.
const (
	statePending  = "pending"  // no checkpoint yet
	stateTraining = "training" // checkpoints up to a step below train.steps: training now, or interrupted
	stateTrained  = "trained"  // trained to the end, not captured yet (capturing now, or interrupted)
	stateDone     = "done"     // captured: its tables are complete (done.json)
	stateDiverged = "diverged" // a loss was not finite; captured up to there once done.json exists
)

var cellStates = []string{stateDone, stateDiverged, stateTrained, stateTraining, statePending}

// cellStatus is one cell's line of `phaseprobe status`.
type cellStatus struct {
	Cell  string `json:"cell"`
	State string `json:"state"`
	// Step is the step of the cell's newest checkpoint (-1: none) of TotalSteps (0: unknown).
	Step       int `json:"step"`
	TotalSteps int `json:"total_steps"`
	// Checkpoints is the number of checkpoint files; LastCheckpoint the newest one's path.
	Checkpoints    int    `json:"checkpoints"`
	LastCheckpoint string `json:"last_checkpoint,omitempty"`
	Captured       bool   `json:"captured"`              // done.json exists
	DivergedAt     *int   `json:"diverged_at,omitempty"` // the step whose loss was not finite
	Bytes          int64  `json:"bytes"`                 // everything under the cell folder
	CheckpointB    int64  `json:"checkpoint_bytes"`
	TableB         int64  `json:"table_bytes"` // its *.parquet files
	InSpec         bool   `json:"in_spec"`     // the cell is one of sweep.yaml's cells
}

// stageStatus says whether analysis/ or report/ is current.
type stageStatus struct {
	State  string `json:"state"` // "current", "stale", "none", "unknown"
	Detail string `json:"detail"`
}

// sweepStatus is `phaseprobe status` of one run folder.
type sweepStatus struct {
	Sweep     string         `json:"sweep"`
	Dir       string         `json:"dir"`
	HasSpec   bool           `json:"has_spec"` // sweep.yaml exists (else: cells written by another tool)
	Cells     []cellStatus   `json:"cells"`
	States    map[string]int `json:"states"` // cells per state
	Steps     int64          `json:"steps_done"`
	StepsAll  int64          `json:"steps_total"`
	Bytes     int64          `json:"bytes"` // the whole run folder
	CkptBytes int64          `json:"checkpoint_bytes"`
	TableB    int64          `json:"cell_table_bytes"`
	Analysis  stageStatus    `json:"analysis"`
	Report    stageStatus    `json:"report"`
	// Error is why the folder could not be read (a runs folder's other sweeps are still shown).
	Error string `json:"error,omitempty"`
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer, _ *slog.Logger) error {
	fs := newFlagSet(stderr, "status", "RUN_DIR [--json]   (RUN_DIR is runs/<sweep>, or a runs folder: every sweep in it)")
	asJSON := fs.Bool("json", false, "print the status as JSON (one object per sweep, in a list)")
	if err := parseFlags(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one run folder (runs/<sweep>) or runs folder, got %d arguments", fs.NArg())
	}
	dirs, err := statusDirs(fs.Arg(0))
	if err != nil {
		return err
	}
	var all []sweepStatus
	var bad []string
	for _, d := range dirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		st, err := readSweepStatus(d)
		if err != nil && len(dirs) == 1 {
			return err
		}
		if err != nil { // one broken sweep of a runs folder: shown as such, the others still listed
			st = sweepStatus{Sweep: filepath.Base(d), Dir: d, Error: err.Error()}
			bad = append(bad, d)
		}
		all = append(all, st)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			return err
		}
	} else {
		for i, st := range all {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			if st.Error != "" {
				fmt.Fprintf(stdout, "%s: cannot be read: %s\n", st.Dir, st.Error)
				continue
			}
			printStatus(stdout, st)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d run folders could not be read: %s", len(bad), len(dirs), strings.Join(bad, ", "))
	}
	return nil
}

// statusDirs resolves status's argument: a run folder, or a runs folder whose sub-folders are
// run folders.
func statusDirs(dir string) ([]string, error) {
	if err := checkRunDir(dir); err == nil {
		return []string{dir}, nil
	} else if _, serr := os.Stat(dir); serr != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, usagef("%s: %v", dir, err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && checkRunDir(filepath.Join(dir, e.Name())) == nil {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, usagef("%s is not a run folder (no sweep.yaml or cells/) and holds none (run phaseprobe sweep first)", dir)
	}
	return out, nil
}

// readSweepStatus reads a run folder's state without writing anything.
func readSweepStatus(dir string) (sweepStatus, error) {
	st := sweepStatus{Sweep: filepath.Base(dir), Dir: dir, States: map[string]int{}}
	total := 0
	var specCells []train.Cell
	specPath := filepath.Join(dir, data.SweepFile)
	if _, err := os.Stat(specPath); err == nil {
		spec, err := train.LoadSpec(specPath)
		if err != nil {
			return st, usageError{err.Error()}
		}
		st.Sweep, total, st.HasSpec = spec.Name, spec.Train.Steps, true
		if specCells, err = spec.Cells(); err != nil {
			return st, fmt.Errorf("%s: %w", specPath, err)
		}
	}
	onDisk := map[string]bool{}
	if dirs, err := data.CellDirs(dir); err == nil {
		for _, d := range dirs {
			onDisk[filepath.Base(d)] = true
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return st, err
	}
	var ids []string
	inSpec := map[string]bool{}
	for _, c := range specCells {
		ids = append(ids, c.ID)
		inSpec[c.ID] = true
	}
	var extra []string
	for id := range onDisk {
		if !inSpec[id] {
			extra = append(extra, id)
		}
	}
	slices.Sort(extra)
	ids = append(ids, extra...)
	for _, id := range ids {
		cs, err := readCellStatus(train.CellDir(dir, id), id, total)
		if err != nil {
			return st, err
		}
		cs.InSpec = inSpec[id]
		st.Cells = append(st.Cells, cs)
		st.States[cs.State]++
		st.CkptBytes += cs.CheckpointB
		st.TableB += cs.TableB
		if total > 0 {
			st.StepsAll += int64(total)
			if cs.Captured || cs.DivergedAt != nil {
				st.Steps += int64(total)
			} else {
				st.Steps += int64(max(cs.Step, 0))
			}
		}
	}
	st.Bytes = duBytes(dir)
	st.Analysis = analysisStatus(dir)
	st.Report = reportStatus(dir, st.Analysis)
	return st, nil
}

// readCellStatus reads one cell's files: done.json, diverged.json, its checkpoints and sizes.
func readCellStatus(cellDir, id string, total int) (cellStatus, error) {
	cs := cellStatus{Cell: id, Step: -1, TotalSteps: total}
	if raw, err := os.ReadFile(filepath.Join(cellDir, data.ConfigFile)); err == nil && total == 0 {
		var meta train.CellMeta
		if json.Unmarshal(raw, &meta) == nil {
			cs.TotalSteps = meta.Steps
		}
	}
	if steps := train.CheckpointSteps(cellDir); len(steps) > 0 {
		cs.Checkpoints = len(steps)
		cs.Step = steps[len(steps)-1]
		cs.LastCheckpoint = filepath.Join(cellDir, data.CheckpointsDir, fmt.Sprintf(data.CheckpointFileFormat, cs.Step))
	}
	_, err := os.Stat(filepath.Join(cellDir, data.DoneFile))
	cs.Captured = err == nil
	if raw, err := os.ReadFile(filepath.Join(cellDir, data.DivergedFile)); err == nil {
		var d struct {
			Step *int `json:"step"`
		}
		if err := json.Unmarshal(raw, &d); err != nil || d.Step == nil {
			return cs, fmt.Errorf("%s: not a phaseprobe divergence record (want {\"cell\": ..., \"step\": N})", filepath.Join(cellDir, data.DivergedFile))
		}
		cs.DivergedAt = d.Step
	}
	foreign := false
	if _, err := os.Stat(filepath.Join(cellDir, data.CheckpointsDir)); errors.Is(err, fs.ErrNotExist) {
		// A cell written by another tool is finished when its metrics table exists.
		if _, err := os.Stat(filepath.Join(cellDir, data.MetricsFile)); err == nil {
			foreign = true
		}
	}
	switch {
	case cs.DivergedAt != nil:
		cs.State = stateDiverged
	case cs.Captured || foreign:
		cs.State = stateDone
	case cs.Step >= 0 && cs.TotalSteps > 0 && cs.Step >= cs.TotalSteps:
		cs.State = stateTrained
	case cs.Step >= 0:
		cs.State = stateTraining
	default:
		cs.State = statePending
	}
	_ = filepath.WalkDir(cellDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		cs.Bytes += info.Size()
		rel, _ := filepath.Rel(cellDir, p)
		switch {
		case strings.HasPrefix(rel, data.CheckpointsDir+string(filepath.Separator)):
			cs.CheckpointB += info.Size()
		case filepath.Dir(rel) == "." && strings.HasSuffix(rel, ".parquet"):
			cs.TableB += info.Size()
		}
		return nil
	})
	return cs, nil
}

// duBytes is the size of the regular files under dir (symbolic links are not followed).
func duBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// stageCurrent compares a stage's manifest with the files now on disk.
func stageCurrent(dir, stage, rerun string, inputs, outputs []fileStamp) stageStatus {
	m, ok, err := readManifest(dir)
	if err != nil {
		return stageStatus{"unknown", err.Error()}
	}
	if !ok {
		return stageStatus{"unknown", fmt.Sprintf("no %s (written by an older phaseprobe, or not by the CLI): rerun %s to know", filepath.Join(dir, ManifestFile), rerun)}
	}
	added, changed, gone := stampDiff(m.Inputs, inputs)
	_, outChanged, outGone := stampDiff(m.Outputs, outputs)
	var why []string
	list := func(what string, paths []string) {
		if len(paths) > 0 {
			show := paths
			if len(show) > 3 {
				show = append(slices.Clone(show[:3]), fmt.Sprintf("… %d more", len(paths)-3))
			}
			why = append(why, fmt.Sprintf("%d %s (%s)", len(paths), what, strings.Join(show, ", ")))
		}
	}
	list("inputs new since", added)
	list("inputs rewritten since", changed)
	list("inputs gone since", gone)
	list("of its files rewritten since (a later run did not finish)", outChanged)
	list("of its files missing", outGone)
	if len(why) > 0 {
		return stageStatus{"stale", fmt.Sprintf("%s at %s; %s: rerun %s", stage, m.Written, strings.Join(why, "; "), rerun)}
	}
	return stageStatus{"current", fmt.Sprintf("%s at %s from %d input files", stage, m.Written, len(m.Inputs))}
}

func analysisStatus(runDir string) stageStatus {
	outDir := filepath.Join(runDir, "analysis")
	if _, err := os.Stat(filepath.Join(outDir, data.VerdictsFile)); err != nil {
		return stageStatus{"none", "no analysis/verdicts.parquet: run phaseprobe analyze " + runDir}
	}
	inputs, err := analysisInputs(runDir)
	if err != nil {
		return stageStatus{"unknown", err.Error()}
	}
	return stageCurrent(outDir, "analysed", "phaseprobe analyze "+runDir, inputs, analysisOutputs(runDir))
}

func reportStatus(runDir string, analysis stageStatus) stageStatus {
	outDir := filepath.Join(runDir, "report")
	if _, err := os.Stat(filepath.Join(outDir, "index.html")); err != nil {
		return stageStatus{"none", "no report/index.html: run phaseprobe report " + runDir}
	}
	inputs, err := reportInputs(runDir)
	if err != nil {
		return stageStatus{"unknown", err.Error()}
	}
	st := stageCurrent(outDir, "written", "phaseprobe report "+runDir, inputs, reportOutputs(runDir))
	if st.State == "current" && analysis.State == "stale" {
		st = stageStatus{"stale", st.Detail + "; but the analysis it shows is stale: rerun phaseprobe analyze, then report"}
	}
	return st
}

// humanBytes formats a byte count with a binary-prefixed unit: "1.5 MiB".
func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

func printStatus(w io.Writer, st sweepStatus) {
	var counts []string
	for _, s := range cellStates {
		if n := st.States[s]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(w, "sweep %s (%s): %d cells: %s\n", st.Sweep, st.Dir, len(st.Cells), strings.Join(counts, ", "))
	if st.StepsAll > 0 {
		fmt.Fprintf(w, "training: %d of %d steps (%.0f %%)\n", st.Steps, st.StepsAll, 100*float64(st.Steps)/float64(st.StepsAll))
	}
	fmt.Fprintf(w, "disk: %s in all (checkpoints %s, cell tables %s)\n", humanBytes(float64(st.Bytes)), humanBytes(float64(st.CkptBytes)), humanBytes(float64(st.TableB)))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "cell\tstate\tstep\tcheckpoints\tlast checkpoint\tdisk\t")
	for _, c := range st.Cells {
		step := "-"
		if c.Step >= 0 {
			step = fmt.Sprint(c.Step)
		}
		if c.TotalSteps > 0 {
			step += fmt.Sprintf("/%d", c.TotalSteps)
		}
		state := c.State
		if c.DivergedAt != nil {
			state += fmt.Sprintf(" at %d", *c.DivergedAt)
			if !c.Captured {
				state += ", not captured"
			}
		}
		if !c.InSpec && st.HasSpec {
			state += " (not in sweep.yaml)"
		}
		last := "-"
		if c.LastCheckpoint != "" {
			last = filepath.Base(c.LastCheckpoint)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t\n", c.Cell, state, step, c.Checkpoints, last, humanBytes(float64(c.Bytes)))
	}
	tw.Flush()
	fmt.Fprintf(w, "analysis: %s: %s\n", st.Analysis.State, st.Analysis.Detail)
	fmt.Fprintf(w, "report: %s: %s\n", st.Report.State, st.Report.Detail)
	if st.States[stateTraining]+st.States[stateTrained]+st.States[statePending] > 0 {
		fmt.Fprintln(w, "note: training and trained cells are being worked on now or were interrupted; rerun the sweep to finish them (finished cells are kept)")
	}
}
