package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// Zoom replays a stretch of a finished, deterministic run with extra checkpoints (docs/zoom.md).
// The replay resumes an ensemble from checkpoints it saved, trains it exactly as the sweep did,
// saves the extra checkpoints in a staging folder and, at every checkpoint of the run it passes,
// compares the replayed weights, Adam moments, step and data-stream state with the saved ones bit
// for bit. Only a replay that matched everywhere is merged into the cell's checkpoints, and the
// cell is then captured again (same probe set, scorings and sites), so its tables hold the denser
// curves; checkpoints.parquet marks which steps are the sweep's schedule and which the zoom's.

// zoomStaging is the folder, inside a cell's folder, where a replay's checkpoints wait until the
// replay is verified.
const zoomStaging = "zoom-staging"

// ZoomWindow is a stretch of training to look at more closely in one cell: steps [Lo, Hi]. The
// replay widens it to the enclosing checkpoints that every member of the cell's ensemble has.
type ZoomWindow struct {
	Cell   string
	Lo, Hi int
	Source string // what asked for it, for logs: "--window 40:90", "test exact_match jump"
}

// ZoomOptions control a zoom.
type ZoomOptions struct {
	// Points is the number of extra checkpoints per window (K ≥ 2), log-spaced in step across the
	// window's enclosing checkpoints (on the analysis axis log10(step+1)).
	Points int
	// Ensemble, when > 0, replays in ensembles of this many seeds (Groups of the sweep's cells)
	// instead of the grouping recorded in the checkpoints; a grouping other than the run's changes
	// the floating-point sums, and the verification then refuses the merge.
	Ensemble int
	// Backend is the backend the replay will run on (Backend.String); PlanZoom refuses a plan
	// whose backend or grouping differs from the ones the run's checkpoints record. "" skips the
	// backend check.
	Backend string
	// Jobs is how many ensembles replay at once (default 1).
	Jobs int
	// Progress, if set, receives (label, step, total, mean loss) after every replayed step and
	// (label, -1, ...) when an ensemble's replay ends.
	Progress func(label string, step, total int, loss float64)
	// Log receives structured logs; nil discards them.
	Log *slog.Logger
}

// ZoomSegment is one continuous replay of an ensemble: from checkpoint From to checkpoint To,
// saving Points[cell] on the way and verifying every checkpoint of the run in (From, To].
type ZoomSegment struct {
	From, To int
	Points   map[string][]int    // cell ID → the new checkpoint steps, ascending
	Requests map[string][]string // cell ID → the windows ("lo:hi") the segment covers
	Verify   []int               // steps in (From, To] where every member has a checkpoint
}

// ZoomGroup is an ensemble to replay: its members in the order they trained and its segments.
type ZoomGroup struct {
	Cells    []Cell
	Segments []ZoomSegment
}

// Label names the group as Group.Label does.
func (g ZoomGroup) Label() string { return Group{Model: g.Cells[0].Model, Cells: g.Cells}.Label() }

// ZoomPlan is what a zoom will do and what it costs, computed before any work.
type ZoomPlan struct {
	Groups []ZoomGroup
	// Skipped lists the windows already zoomed with the same window and points (a rerun).
	Skipped []string
	// Empty lists the windows with nothing to replay: no step between their enclosing checkpoints
	// that is not a checkpoint already, a diverged cell, or no checkpoint common to the ensemble
	// after the window (a member diverged).
	Empty []string
	// Recapture lists the cells whose tables will be rewritten (with the new checkpoints, or
	// because a killed zoom left their capture unfinished).
	Recapture []string
	// NewCheckpoints is the number of checkpoints added (over all cells).
	NewCheckpoints int
	// TrainSteps is the number of optimizer steps replayed (per ensemble, summed); ModelSteps
	// counts each member's: TrainSteps × members.
	TrainSteps, ModelSteps int
	// CheckpointBytes is the disk the new checkpoints take; TableBytes the growth of the cells'
	// tables, estimated from their bytes per captured checkpoint; RewriteBytes the tables written
	// again (temporary space while they are rewritten: the old ones stay until the new are whole).
	CheckpointBytes, TableBytes, RewriteBytes int64
	// Captures is the number of checkpoints the recapture evaluates and captures.
	Captures int
}

// zoomRecord is zoom.json: the verified windows of a cell.
type zoomRecord struct {
	Windows []zoomWindowRecord `json:"windows"`
}

type zoomWindowRecord struct {
	Request  string   `json:"request"` // "lo:hi", the window asked for
	Points   int      `json:"points"`  // K asked for
	From     int      `json:"from"`    // the checkpoint the replay resumed from
	To       int      `json:"to"`      // the checkpoint the replay matched bit for bit
	Steps    []int    `json:"steps"`   // the checkpoints added
	Backend  string   `json:"backend"`
	Ensemble []uint64 `json:"ensemble"`
	Binary   string   `json:"binary"`
	Time     string   `json:"time"`
}

func readZoomRecord(cellDir string) (zoomRecord, error) {
	var z zoomRecord
	raw, err := os.ReadFile(filepath.Join(cellDir, data.ZoomFile))
	if errors.Is(err, os.ErrNotExist) {
		return z, nil
	}
	if err != nil {
		return z, err
	}
	if err := json.Unmarshal(raw, &z); err != nil {
		return z, fmt.Errorf("%s: %w", filepath.Join(cellDir, data.ZoomFile), err)
	}
	return z, nil
}

// zoomSteps maps each verified zoom checkpoint of a cell to its window.
func zoomSteps(cellDir string) (map[int]zoomWindowRecord, error) {
	z, err := readZoomRecord(cellDir)
	if err != nil {
		return nil, err
	}
	out := map[int]zoomWindowRecord{}
	for _, w := range z.Windows {
		for _, s := range w.Steps {
			if _, seen := out[s]; !seen {
				out[s] = w
			}
		}
	}
	return out, nil
}

// cellCheckpoints is the set of a cell's usable checkpoints: the schedule's and the verified zoom
// ones, each with a readable file.
func cellCheckpoints(cellDir string, schedule []int) (map[int]bool, error) {
	zs, err := zoomSteps(cellDir)
	if err != nil {
		return nil, err
	}
	out := map[int]bool{}
	for _, s := range CheckpointSteps(cellDir) {
		if _, zoom := zs[s]; zoom || slices.Contains(schedule, s) {
			out[s] = true
		}
	}
	return out, nil
}

var binaryID = sync.OnceValue(func() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown"
	}
	f, err := os.Open(exe)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unknown"
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
})

// BinaryID identifies the running executable: the first 16 hex digits of its SHA-256 ("unknown"
// when it cannot be read). Checkpoints record it, so a replay that differs can say whether the
// binary changed.
func BinaryID() string { return binaryID() }

// zoomPoints places k new checkpoint steps strictly inside (a, b), log-spaced on the analysis
// axis x = log10(step+1): the i-th goes to the step nearest to 10^(x_a + i/(k+1)·(x_b − x_a)) − 1
// (ties to the larger) that is not in have and not taken by an earlier point. A window with fewer
// than k such steps gets all of them. The result is ascending.
func zoomPoints(a, b, k int, have map[int]bool) []int {
	var free []int
	for st := a + 1; st < b; st++ {
		if !have[st] {
			free = append(free, st)
		}
	}
	if len(free) <= k {
		return free
	}
	la, lb := math.Log10(float64(a)+1), math.Log10(float64(b)+1)
	used := map[int]bool{}
	var out []int
	for i := 1; i <= k; i++ {
		t := math.Pow(10, la+float64(i)/float64(k+1)*(lb-la)) - 1
		best := -1
		for _, st := range free {
			if used[st] {
				continue
			}
			d, bd := math.Abs(float64(st)-t), math.Abs(float64(best)-t)
			if best < 0 || d < bd || d == bd && st > best {
				best = st
			}
		}
		used[best] = true
		out = append(out, best)
	}
	slices.Sort(out)
	return out
}

// zoomGroupOf returns the ensemble a cell trained in: the seeds recorded in its last checkpoint
// (in their order, as cells of the same shape), or, when ensemble > 0 or the checkpoint predates
// the record, the sweep's grouping of the cells into ensembles of that size.
func zoomGroupOf(cells []Cell, c Cell, runDir string, ensemble, fallback int) ([]Cell, error) {
	if ensemble <= 0 {
		steps := CheckpointSteps(CellDir(runDir, c.ID))
		if len(steps) > 0 {
			h, err := ReadCheckpointHeader(checkpointPath(CellDir(runDir, c.ID), steps[len(steps)-1]))
			if err != nil {
				return nil, err
			}
			if len(h.Ensemble) > 0 {
				var g []Cell
				for _, seed := range h.Ensemble {
					i := slices.IndexFunc(cells, func(x Cell) bool { return x.Model == c.Model && x.Seed == seed })
					if i < 0 {
						return nil, fmt.Errorf("cell %s trained in an ensemble with seed %d, which is not in the sweep", c.ID, seed)
					}
					g = append(g, cells[i])
				}
				return g, nil
			}
		}
		ensemble = fallback
	}
	for _, g := range Groups(cells, ensemble) {
		if slices.ContainsFunc(g.Cells, func(x Cell) bool { return x.ID == c.ID }) {
			return g.Cells, nil
		}
	}
	return nil, fmt.Errorf("cell %s is in no ensemble", c.ID)
}

// PlanZoom works out the replays of a zoom and their cost, reading only the run folder. Windows of
// cells that are unknown or unfinished, windows outside [0, train.steps] or with Lo ≥ Hi, and a
// backend or grouping other than the run's are errors naming the value; a window already zoomed
// is listed in Skipped, one with nothing to replay in Empty.
// defaultEnsemble is the ensemble size assumed for checkpoints that do not record theirs.
func PlanZoom(runDir string, s Spec, windows []ZoomWindow, opt ZoomOptions, defaultEnsemble int) (ZoomPlan, error) {
	var plan ZoomPlan
	if opt.Points < 2 {
		return plan, fmt.Errorf("points = %d: need at least 2 checkpoints per window", opt.Points)
	}
	zp, err := newZoomPlanner(runDir, s, opt, defaultEnsemble)
	if err != nil {
		return plan, err
	}
	for _, w := range windows {
		if err := zp.addWindow(&plan, w); err != nil {
			return plan, err
		}
	}
	for _, key := range zp.order {
		plan.Groups = append(plan.Groups, zp.mergeGroup(&plan, zp.groups[key]))
	}
	if err := zp.addRecaptures(&plan); err != nil {
		return plan, err
	}
	return plan, nil
}

// zoomPlanner is PlanZoom's working state: the sweep's cells, each cell's usable checkpoints and
// zoom record (read once, on first use), and the replays gathered per ensemble.
type zoomPlanner struct {
	runDir   string
	s        Spec
	opt      ZoomOptions
	cells    []Cell
	byID     map[string]Cell
	fallback int // the ensemble size of checkpoints that do not record theirs
	ckpts    map[string]map[int]bool
	records  map[string]zoomRecord
	groups   map[string]*zoomGroupWork // by the members' IDs joined with ","
	order    []string                  // the groups' keys in the order of their first window
}

// zoomGroupWork is an ensemble's replays before they are merged: one span per window.
type zoomGroupWork struct {
	cells []Cell
	spans []ZoomSegment
}

func newZoomPlanner(runDir string, s Spec, opt ZoomOptions, defaultEnsemble int) (*zoomPlanner, error) {
	cells, err := s.Cells()
	if err != nil {
		return nil, err
	}
	zp := &zoomPlanner{runDir: runDir, s: s, opt: opt, cells: cells, byID: map[string]Cell{}, fallback: s.Ensemble,
		ckpts: map[string]map[int]bool{}, records: map[string]zoomRecord{}, groups: map[string]*zoomGroupWork{}}
	for _, c := range cells {
		zp.byID[c.ID] = c
	}
	if zp.fallback == 0 {
		zp.fallback = defaultEnsemble
	}
	return zp, nil
}

// have returns cell id's usable checkpoints (cellCheckpoints), read on the first call.
func (zp *zoomPlanner) have(id string) (map[int]bool, error) {
	if m, ok := zp.ckpts[id]; ok {
		return m, nil
	}
	m, err := cellCheckpoints(CellDir(zp.runDir, id), zp.s.Checkpoints.Steps)
	zp.ckpts[id] = m
	return m, err
}

// addWindow checks one window and adds its replay to its ensemble's spans, or lists the window in
// plan.Skipped or plan.Empty.
func (zp *zoomPlanner) addWindow(plan *ZoomPlan, w ZoomWindow) error {
	c, ok := zp.byID[w.Cell]
	if !ok {
		return fmt.Errorf("cell %q is not in sweep %s", w.Cell, zp.s.Name)
	}
	dir := CellDir(zp.runDir, c.ID)
	if !cellDone(dir) && !fileExists(filepath.Join(dir, data.ZoomFile)) { // a zoom removes done.json while it captures again
		return fmt.Errorf("cell %s has not finished (no %s): finish the sweep first", c.ID, filepath.Join(dir, data.DoneFile))
	}
	if _, err := os.Stat(filepath.Join(dir, data.DivergedFile)); err == nil {
		plan.Empty = append(plan.Empty, fmt.Sprintf("cell %s diverged: its run has no checkpoints after the divergence to replay against", c.ID))
		return nil
	}
	if w.Lo < 0 || w.Hi > zp.s.Train.Steps {
		return fmt.Errorf("window %d:%d (%s) is outside the run: steps 0 to %d", w.Lo, w.Hi, w.Source, zp.s.Train.Steps)
	}
	if w.Lo >= w.Hi {
		return fmt.Errorf("window %d:%d (%s) is empty: its start must be before its end", w.Lo, w.Hi, w.Source)
	}
	req := fmt.Sprintf("%d:%d", w.Lo, w.Hi)
	zoomed, err := zp.zoomed(c.ID, req)
	if err != nil {
		return err
	}
	if zoomed {
		plan.Skipped = append(plan.Skipped, fmt.Sprintf("%s %s (%s): already zoomed with %d points", c.ID, req, w.Source, zp.opt.Points))
		return nil
	}
	members, err := zoomGroupOf(zp.cells, c, zp.runDir, zp.opt.Ensemble, zp.fallback)
	if err != nil {
		return err
	}
	mine, common, err := zp.commonCheckpoints(c.ID, members)
	if err != nil {
		return err
	}
	ai := sort.SearchInts(common, w.Lo+1) - 1 // last common checkpoint ≤ Lo
	bi := sort.SearchInts(common, w.Hi)       // first common checkpoint ≥ Hi
	if ai < 0 || bi >= len(common) {          // a member of the ensemble diverged before the window's end
		plan.Empty = append(plan.Empty, fmt.Sprintf("window %s of cell %s (%s): no checkpoint common to its ensemble encloses it", req, c.ID, w.Source))
		return nil
	}
	a, b := common[ai], common[bi]
	if err := sameSetup(dir, b, members, zp.opt.Backend); err != nil {
		return err
	}
	pts := zoomPoints(a, b, zp.opt.Points, mine)
	if len(pts) == 0 {
		plan.Empty = append(plan.Empty, fmt.Sprintf("window %s of cell %s (%s) is empty: every step from checkpoint %d to %d is a checkpoint already", req, c.ID, w.Source, a, b))
		return nil
	}
	zp.addSpan(members, ZoomSegment{From: a, To: b, Points: map[string][]int{c.ID: pts}, Requests: map[string][]string{c.ID: {req}}})
	return nil
}

// zoomed reports whether cell id's zoom record holds window req with the plan's points.
func (zp *zoomPlanner) zoomed(id, req string) (bool, error) {
	rec, ok := zp.records[id]
	if !ok {
		var err error
		if rec, err = readZoomRecord(CellDir(zp.runDir, id)); err != nil {
			return false, err
		}
		zp.records[id] = rec
	}
	return slices.ContainsFunc(rec.Windows, func(r zoomWindowRecord) bool { return r.Request == req && r.Points == zp.opt.Points }), nil
}

// commonCheckpoints returns cell id's usable checkpoints and, ascending, those every member of its
// ensemble has: the replay resumes and is verified only there.
func (zp *zoomPlanner) commonCheckpoints(id string, members []Cell) (map[int]bool, []int, error) {
	mine, err := zp.have(id)
	if err != nil {
		return nil, nil, err
	}
	var common []int
	for st := range mine {
		all := true
		for _, m := range members {
			hm, err := zp.have(m.ID)
			if err != nil {
				return nil, nil, err
			}
			all = all && hm[st]
		}
		if all {
			common = append(common, st)
		}
	}
	sort.Ints(common)
	return mine, common, nil
}

// addSpan adds one window's replay to the spans of the ensemble of members.
func (zp *zoomPlanner) addSpan(members []Cell, span ZoomSegment) {
	key := members[0].ID
	for _, m := range members[1:] {
		key += "," + m.ID
	}
	gw := zp.groups[key]
	if gw == nil {
		gw = &zoomGroupWork{cells: members}
		zp.groups[key] = gw
		zp.order = append(zp.order, key)
	}
	gw.spans = append(gw.spans, span)
}

// mergeGroup merges an ensemble's overlapping spans into segments, finds the steps each segment
// verifies, and adds the segments' checkpoints and steps to plan's counts.
func (zp *zoomPlanner) mergeGroup(plan *ZoomPlan, gw *zoomGroupWork) ZoomGroup {
	segs := mergeSpans(gw.spans)
	for i := range segs {
		sg := &segs[i]
		for id, p := range sg.Points {
			slices.Sort(p)
			sg.Points[id] = slices.Compact(p)
			plan.NewCheckpoints += len(sg.Points[id])
		}
		for st := sg.From + 1; st <= sg.To; st++ {
			all := true
			for _, m := range gw.cells {
				hm, _ := zp.have(m.ID)
				all = all && hm[st]
			}
			if all {
				sg.Verify = append(sg.Verify, st)
			}
		}
		plan.TrainSteps += sg.To - sg.From
		plan.ModelSteps += (sg.To - sg.From) * len(gw.cells)
	}
	return ZoomGroup{Cells: gw.cells, Segments: segs}
}

// mergeSpans sorts spans by their start and joins those that overlap or touch into one segment
// with the union of their points and requests. It reuses the spans' maps.
func mergeSpans(spans []ZoomSegment) []ZoomSegment {
	slices.SortFunc(spans, func(x, y ZoomSegment) int { return x.From - y.From })
	var segs []ZoomSegment
	for _, sp := range spans {
		if n := len(segs); n > 0 && sp.From <= segs[n-1].To {
			last := &segs[n-1]
			last.To = max(last.To, sp.To)
			for id, p := range sp.Points {
				last.Points[id] = append(last.Points[id], p...)
				last.Requests[id] = append(last.Requests[id], sp.Requests[id]...)
			}
			continue
		}
		segs = append(segs, sp)
	}
	return segs
}

// addRecaptures lists in plan the cells whose tables will be rewritten (those that gain
// checkpoints, and those a killed zoom left uncaptured) and adds what that costs.
func (zp *zoomPlanner) addRecaptures(plan *ZoomPlan) error {
	added := map[string]int{}
	for _, g := range plan.Groups {
		for _, sg := range g.Segments {
			for id, p := range sg.Points {
				added[id] += len(p)
			}
		}
	}
	for _, c := range zp.cells {
		dir := CellDir(zp.runDir, c.ID)
		stale, err := captureStale(dir)
		if err != nil {
			return err
		}
		if added[c.ID] == 0 && !stale {
			continue
		}
		plan.Recapture = append(plan.Recapture, c.ID)
		m, err := zp.have(c.ID)
		if err != nil {
			return err
		}
		captured := len(m)
		plan.Captures += captured + added[c.ID]
		tables := filesBytes(dir, data.MetricsFile, data.ActivationsFile, data.AttentionFile, data.OutputsFile)
		growth := int64(0)
		if captured > 0 {
			growth = tables / int64(captured) * int64(added[c.ID])
		}
		plan.TableBytes += growth
		plan.RewriteBytes += tables + growth
		if st, err := os.Stat(checkpointPath(dir, zp.s.Train.Steps)); err == nil {
			plan.CheckpointBytes += st.Size() * int64(added[c.ID])
		}
	}
	return nil
}

// filesBytes is the total size of the named files in dir; a missing file counts as 0.
func filesBytes(dir string, names ...string) int64 {
	var n int64
	for _, f := range names {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			n += st.Size()
		}
	}
	return n
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// captureStale reports whether a finished cell's tables miss a verified zoom checkpoint (a zoom
// was killed before its capture finished), by the checkpoints done.json lists.
func captureStale(cellDir string) (bool, error) {
	zs, err := zoomSteps(cellDir)
	if err != nil || len(zs) == 0 {
		return false, err
	}
	raw, err := os.ReadFile(filepath.Join(cellDir, data.DoneFile))
	if err != nil {
		return true, nil // a zoom removed done.json to capture again and was killed
	}
	var done struct {
		Checkpoints []int `json:"checkpoints"`
	}
	if err := json.Unmarshal(raw, &done); err != nil {
		return false, fmt.Errorf("%s: %w", filepath.Join(cellDir, data.DoneFile), err)
	}
	for st := range zs {
		if !slices.Contains(done.Checkpoints, st) {
			return true, nil
		}
	}
	return false, nil
}

// ErrNotTheRunsSetup is wrapped by PlanZoom's error when the replay would run on another backend
// or in another ensemble than the run's checkpoints record.
var ErrNotTheRunsSetup = errors.New("a zoom replays a run only on the backend and in the ensembles it trained with")

// sameSetup checks the backend and ensemble recorded in a cell's checkpoint at step against the
// replay's (nothing to check when the checkpoint predates the record).
func sameSetup(cellDir string, step int, members []Cell, backend string) error {
	h, err := ReadCheckpointHeader(checkpointPath(cellDir, step))
	if err != nil {
		return err
	}
	seeds := make([]uint64, len(members))
	for i, m := range members {
		seeds[i] = m.Seed
	}
	if len(h.Ensemble) > 0 && !slices.Equal(h.Ensemble, seeds) {
		return fmt.Errorf("cell %s: %w: another grouping: the run trained seeds %v in one ensemble (checkpoint %d), this zoom would replay seeds %v (drop --ensemble)",
			filepath.Base(cellDir), ErrNotTheRunsSetup, h.Ensemble, step, seeds)
	}
	if h.Backend != "" && backend != "" && backendName(h.Backend) != backendName(backend) {
		return fmt.Errorf("cell %s: %w: another backend: the run trained on %s (checkpoint %d), this zoom would replay on %s (use --backend %s)",
			filepath.Base(cellDir), ErrNotTheRunsSetup, h.Backend, step, backend, h.Backend)
	}
	return nil
}

// RunBackend is the backend recorded in a finished run's checkpoints (its first finished cell's
// last checkpoint), "" when none records one.
func RunBackend(runDir string, s Spec) string {
	cells, err := s.Cells()
	if err != nil {
		return ""
	}
	for _, c := range cells {
		dir := CellDir(runDir, c.ID)
		if !cellDone(dir) && !fileExists(filepath.Join(dir, data.ZoomFile)) { // a zoom removes done.json while it captures again
			continue
		}
		if h, err := ReadCheckpointHeader(checkpointPath(dir, s.Train.Steps)); err == nil {
			return h.Backend
		}
	}
	return ""
}

// ErrReplayDiffers is wrapped by RunZoom's error when a replay does not reproduce the run.
var ErrReplayDiffers = errors.New("the replay does not reproduce the run bit for bit")

// RunZoom carries out a plan: it replays each group's segments on b, verifies them and merges
// their checkpoints, then captures the cells of plan.Recapture again. The caller holds the run
// folder's lock. A replay that differs from the run anywhere merges nothing of its segment and
// RunZoom returns an error wrapping ErrReplayDiffers that says how the replay's backend, ensemble
// and binary compare with the run's; segments verified before it, and other groups, stay merged
// and are captured.
func RunZoom(ctx context.Context, b *Backend, runDir string, s Spec, plan ZoomPlan, opt ZoomOptions) error {
	log := logger(opt.Log)
	task, err := data.NewTask(s.Task.Name, s.Task.Params)
	if err != nil {
		return err
	}
	jobs := min(max(opt.Jobs, 1), max(len(plan.Groups), 1))
	replayErr := eachEnsemble(ctx, jobs, plan.Groups, func(g ZoomGroup) error { return replayGroup(ctx, b, runDir, s, task, g, opt, log) })
	if err := ctx.Err(); err != nil {
		return err
	}
	// Every merged checkpoint is verified, so the cells are captured again even when another
	// replay was refused: a refused replay merged nothing, the others' checkpoints join the tables.
	cells, err := s.Cells()
	if err != nil {
		return err
	}
	for _, id := range plan.Recapture {
		if err := ctx.Err(); err != nil {
			return err
		}
		i := slices.IndexFunc(cells, func(c Cell) bool { return c.ID == id })
		dir := CellDir(runDir, id)
		if stale, err := captureStale(dir); err != nil {
			return err
		} else if !stale {
			continue // its replay was refused: nothing new to capture
		}
		// done.json goes first: until the capture ends, the cell reads as unfinished, never as
		// tables of two captures mixed.
		if err := os.Remove(filepath.Join(dir, data.DoneFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		removeStaleTemps(runDir, dir)
		if err := CaptureCell(ctx, b, s, dir, cells[i], log); err != nil {
			return errors.Join(replayErr, fmt.Errorf("capture %s: %w", id, err))
		}
	}
	return replayErr
}

// replayGroup replays g's segments in order, each verified and merged before the next starts; it
// stops at the first segment that fails.
func replayGroup(ctx context.Context, b *Backend, runDir string, s Spec, task data.Task, g ZoomGroup, opt ZoomOptions, log *slog.Logger) error {
	zr := zoomReplay{b: b, runDir: runDir, g: g, opt: opt, log: log, label: "zoom " + g.Label(),
		dirs: make([]string, len(g.Cells)), seeds: make([]uint64, len(g.Cells))}
	for i, c := range g.Cells {
		zr.dirs[i] = CellDir(runDir, c.ID)
		zr.seeds[i] = c.Seed
	}
	zr.rc = RunConfig{Task: task, Model: g.Cells[0].Model, Optim: s.Train.Optimizer, Seeds: zr.seeds, Steps: s.Train.Steps, BatchSize: s.Train.BatchSize}
	for _, sg := range g.Segments {
		if err := zr.replaySegment(ctx, sg); err != nil {
			return err
		}
	}
	return nil
}

// zoomReplay is one ensemble's replay: its members' folders and seeds (in g.Cells' order) and the
// run configuration they trained with.
type zoomReplay struct {
	b      *Backend
	runDir string
	g      ZoomGroup
	opt    ZoomOptions
	log    *slog.Logger
	label  string
	dirs   []string
	seeds  []uint64
	rc     RunConfig
}

// replaySegment resumes the ensemble from checkpoint sg.From, trains it to sg.To saving sg.Points
// in the staging folders and comparing every checkpoint of sg.Verify, and merges the staged
// checkpoints once all of them matched.
func (zr *zoomReplay) replaySegment(ctx context.Context, sg ZoomSegment) error {
	start := time.Now()
	paths := make([]string, len(zr.dirs))
	for i, d := range zr.dirs {
		paths[i] = checkpointPath(d, sg.From)
		if err := resetStaging(zr.runDir, d, true); err != nil {
			return err
		}
	}
	run, err := ResumeRun(zr.b, zr.rc, paths)
	if err != nil {
		return err
	}
	run.KeepGoing = true
	var targets []int
	for _, p := range sg.Points {
		targets = append(targets, p...)
	}
	targets = append(targets, sg.Verify...)
	slices.Sort(targets)
	for _, target := range slices.Compact(targets) {
		if err := zr.trainTo(ctx, run, sg, target); err != nil {
			return err
		}
	}
	if zr.opt.Progress != nil {
		zr.opt.Progress(zr.label, -1, sg.To, 0)
	}
	if err := zr.merge(sg); err != nil {
		return err
	}
	for _, d := range zr.dirs {
		_ = resetStaging(zr.runDir, d, false)
	}
	zr.log.Info("zoom replay verified", "ensemble", zr.g.Label(), "from", sg.From, "to", sg.To, "verified_at", sg.Verify,
		"seconds", time.Since(start).Seconds())
	return nil
}

// trainTo trains run to step target, reporting each step's mean finite loss to opt.Progress, then
// stages the members' checkpoints that sg adds at target and, when target is a step of sg.Verify,
// compares every member with the run's checkpoint there. A difference empties the staging
// folders and returns an error wrapping ErrReplayDiffers.
func (zr *zoomReplay) trainTo(ctx context.Context, run *Run, sg ZoomSegment, target int) error {
	err := run.TrainTo(ctx, target, func(step int, res StepResult) {
		if zr.opt.Progress != nil {
			zr.opt.Progress(zr.label, step, sg.To, meanFinite(res.Loss))
		}
	})
	if err != nil {
		return err
	}
	for i, c := range zr.g.Cells {
		if slices.Contains(sg.Points[c.ID], target) {
			if err := run.Save(zr.staged(i, target), i); err != nil {
				return err
			}
		}
	}
	if !slices.Contains(sg.Verify, target) {
		return nil
	}
	for i, d := range zr.dirs {
		if err := run.SameAsCheckpoint(checkpointPath(d, target), i); err != nil {
			for _, d := range zr.dirs {
				_ = resetStaging(zr.runDir, d, false)
			}
			return fmt.Errorf("cell %s, replay %d→%d: %w: %v; %s; nothing of this replay was merged", zr.g.Cells[i].ID, sg.From, sg.To,
				ErrReplayDiffers, err, replayDiagnosis(checkpointPath(d, target), zr.b, zr.seeds))
		}
	}
	return nil
}

// staged is the path of member i's checkpoint at step in its staging folder.
func (zr *zoomReplay) staged(i, step int) string {
	return filepath.Join(zr.dirs[i], zoomStaging, filepath.Base(checkpointPath(zr.dirs[i], step)))
}

// merge moves a verified segment's staged checkpoints into the members' checkpoints, then records
// them in zoom.json (a kill between the two leaves unrecorded checkpoints, which nothing reads and
// the rerun writes again).
func (zr *zoomReplay) merge(sg ZoomSegment) error {
	for i, c := range zr.g.Cells {
		pts := sg.Points[c.ID]
		if len(pts) == 0 {
			continue
		}
		for _, p := range pts {
			if err := os.Rename(zr.staged(i, p), checkpointPath(zr.dirs[i], p)); err != nil {
				return err
			}
		}
		rec, err := readZoomRecord(zr.dirs[i])
		if err != nil {
			return err
		}
		for _, req := range sg.Requests[c.ID] {
			rec.Windows = append(rec.Windows, zoomWindowRecord{Request: req, Points: zr.opt.Points, From: sg.From, To: sg.To, Steps: pts,
				Backend: zr.b.String(), Ensemble: zr.seeds, Binary: BinaryID(), Time: time.Now().UTC().Format(time.RFC3339)})
		}
		rj, _ := json.MarshalIndent(rec, "", "  ")
		if err := data.WriteFileAtomic(filepath.Join(zr.dirs[i], data.ZoomFile), append(rj, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// resetStaging empties a cell's staging folder of what a killed or refused replay left
// (phaseprobe's own checkpoint and temporary files only), then creates it (create) or removes it
// if it is empty (!create).
func resetStaging(runDir, cellDir string, create bool) error {
	dir := filepath.Join(cellDir, zoomStaging)
	data.RemoveTemps(runDir, dir, "")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		if create {
			return os.MkdirAll(dir, 0o755)
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer func() {
		if !create {
			os.Remove(dir) // only if empty: a file of the user's stays, and so does the folder
		}
	}()
	for _, e := range entries {
		var st int
		if _, err := fmt.Sscanf(e.Name(), data.CheckpointFileFormat, &st); err == nil && strings.HasSuffix(e.Name(), ".ckpt") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// replayDiagnosis says how the replay's backend, ensemble and binary compare with those recorded in
// the run's checkpoint.
func replayDiagnosis(path string, b *Backend, seeds []uint64) string {
	h, err := ReadCheckpointHeader(path)
	if err != nil {
		return err.Error()
	}
	var why []string
	if h.Backend == "" {
		why = append(why, "the run's checkpoints do not record their backend, ensemble or binary (written by an older phaseprobe)")
	} else {
		if h.Backend != b.String() {
			why = append(why, fmt.Sprintf("another backend: the run trained on %s, the replay ran on %s (rerun zoom with --backend %s)", h.Backend, b.String(), h.Backend))
		}
		if !slices.Equal(h.Ensemble, seeds) {
			why = append(why, fmt.Sprintf("another grouping: the run trained seeds %v in one ensemble, the replay %v (drop --ensemble)", h.Ensemble, seeds))
		}
		if h.Binary != BinaryID() {
			why = append(why, fmt.Sprintf("another binary: the run was trained by %s, this is %s", h.Binary, BinaryID()))
		}
	}
	if len(why) == 0 {
		return "same backend, ensemble and binary as the run: the checkpoint was changed after it was written, or the backend is not deterministic here"
	}
	return strings.Join(why, "; ")
}

// SameAsCheckpoint compares member k's state with the checkpoint at path bit for bit: step, seed,
// configuration, optimizer settings, data-stream state and every tensor (weights and both Adam
// moments, compared as bit patterns). It returns nil when all are equal, else an error naming the
// first difference.
func (r *Run) SameAsCheckpoint(path string, k int) error {
	c, err := readCheckpoint(path)
	if err != nil {
		return err
	}
	h, t := c.Header, r.Trainer
	switch {
	case h.Step != t.step:
		return fmt.Errorf("step %d, checkpoint %d", t.step, h.Step)
	case h.Seed != t.seeds[k]:
		return fmt.Errorf("seed %d, checkpoint %d", t.seeds[k], h.Seed)
	case h.Config != t.cfg || h.Optim != t.opt:
		return fmt.Errorf("model or optimizer configuration differs from checkpoint %s", path)
	}
	st, err := r.pcgs[k].MarshalBinary()
	if err != nil {
		return err
	}
	if string(st) != string(h.DataRNG) {
		return errors.New("data-stream state differs")
	}
	if len(c.State) != len(t.state) {
		return fmt.Errorf("%d tensors, checkpoint %d", len(t.state), len(c.State))
	}
	parts := []string{"weight", "Adam m", "Adam v"}
	for j, s := range t.state {
		mine, theirs := memberSlice(s, k), c.State[j]
		name := fmt.Sprintf("%s of %s", parts[j/len(t.specs)], t.specs[j%len(t.specs)].Name)
		if len(mine) != len(theirs) {
			return fmt.Errorf("%s has %d values, checkpoint %d", name, len(mine), len(theirs))
		}
		for i := range mine {
			if math.Float32bits(mine[i]) != math.Float32bits(theirs[i]) {
				return fmt.Errorf("%s[%d] is %v, checkpoint %v", name, i, mine[i], theirs[i])
			}
		}
	}
	return nil
}
