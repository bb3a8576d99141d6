package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// zoomSpec trains two seeds of one shape in one ensemble: 60 steps, 5 log-spaced checkpoints
// (0, 1, 3, 8, 22, 60).
const zoomSpec = `
name: zm
task: {name: addition, params: {digits: 2}}
model: {d_model: [16], n_layers: [1], n_heads: [2]}
seeds: [0, 1]
train: {steps: 60, batch_size: 16, optimizer: {lr: 0.003, warmup_steps: 5}}
checkpoints: {count: 5}
probe: {examples: 32, capture_examples: 8}
ensemble: 2
`

func zoomSweep(t *testing.T, b *Backend) (Spec, string) {
	t.Helper()
	s, err := ParseSpec([]byte(zoomSpec))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 3, 8, 22, 60}; !slices.Equal(s.Checkpoints.Steps, want) {
		t.Fatalf("schedule %v, want %v (LogSpacedSteps(60, 5))", s.Checkpoints.Steps, want)
	}
	out := t.TempDir()
	if err := RunSweep(context.Background(), b, s, SweepOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	return s, SweepDir(out, s)
}

// snapshotFiles reads every file under dir (path → content).
func snapshotFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == data.LockFile {
			return err
		}
		raw, err := os.ReadFile(p)
		out[p] = raw
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestZoomReplaysTheSameRun zooms into steps 8..22 of cell s0 with 4 points. The replay must
// reproduce the run's checkpoint at 22 bit for bit (RunZoom verifies it; the test checks it again
// with SameAsCheckpoint on a replay of its own), the points are zoomPoints(8, 22, 4) = 10, 12, 15,
// 18 (the steps nearest 10^(log10 9 + i/5·(log10 23 − log10 9)) − 1 = 9.86, 12.10, 14.80, 18.06), each new
// checkpoint equals a straight run from step 0 saved at that step bit for bit, the cell's tables
// gain rows at exactly those steps while every original row stays as it was, checkpoints.parquet
// marks them "zoom" (window 8→22) and the schedule's "log", and the zoomed cell's train_batch
// losses are not written twice. A second zoom of the same window adds nothing; a zoom inside the
// zoomed window (12:15) replays from zoom checkpoint 12 and is verified against zoom checkpoint 15.
func TestZoomReplaysTheSameRun(t *testing.T) {
	b := testBackend(t)
	s, dir := zoomSweep(t, b)
	cells, _ := s.Cells()
	c0 := cells[0]
	before := readCells[data.MetricRow](t, dir, data.MetricsFile)
	actsBefore := readCells[data.ActivationRow](t, dir, data.ActivationsFile)

	opt := ZoomOptions{Points: 4}
	plan, err := PlanZoom(dir, s, []ZoomWindow{{Cell: c0.ID, Lo: 9, Hi: 20, Source: "test"}}, opt, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Groups) != 1 || len(plan.Groups[0].Cells) != 2 {
		t.Fatalf("plan groups %+v: want one ensemble of the 2 seeds (trained together)", plan.Groups)
	}
	sg := plan.Groups[0].Segments
	if len(sg) != 1 || sg[0].From != 8 || sg[0].To != 22 || !slices.Equal(sg[0].Points[c0.ID], []int{10, 12, 15, 18}) || !slices.Equal(sg[0].Verify, []int{22}) {
		t.Fatalf("segments %+v: want 8→22, points [10 12 15 18], verified at [22]", sg)
	}
	if plan.TrainSteps != 14 || plan.ModelSteps != 28 || plan.NewCheckpoints != 4 || !slices.Equal(plan.Recapture, []string{c0.ID}) {
		t.Fatalf("plan: %d steps, %d model-steps, %d checkpoints, recapture %v; want 14, 28, 4, [%s]", plan.TrainSteps, plan.ModelSteps, plan.NewCheckpoints, plan.Recapture, c0.ID)
	}
	if err := RunZoom(context.Background(), b, dir, s, plan, opt); err != nil {
		t.Fatal(err)
	}

	// An independent replay from checkpoint 8 reaches checkpoint 22 bit for bit.
	cd := CellDir(dir, c0.ID)
	task, _ := data.NewTask(s.Task.Name, s.Task.Params)
	rc := RunConfig{Task: task, Model: c0.Model, Optim: s.Train.Optimizer, Seeds: []uint64{0, 1}, Steps: 60, BatchSize: 16}
	run, err := ResumeRun(b, rc, []string{checkpointPath(cd, 8), checkpointPath(CellDir(dir, cells[1].ID), 8)})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.TrainTo(context.Background(), 22, nil); err != nil {
		t.Fatal(err)
	}
	if err := run.SameAsCheckpoint(checkpointPath(cd, 22), 0); err != nil {
		t.Fatalf("replay 8→22 vs the run's checkpoint 22: %v", err)
	}
	// A straight run from scratch, saved at each point, equals the zoom's checkpoints.
	straight, err := NewRun(b, rc)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{10, 12, 15, 18} {
		if err := straight.TrainTo(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
		if err := straight.SameAsCheckpoint(checkpointPath(cd, p), 0); err != nil {
			t.Fatalf("zoom checkpoint %d vs a straight run: %v", p, err)
		}
	}
	// Negative control of the comparison: a straight run one step further is not checkpoint 18.
	if err := straight.TrainTo(context.Background(), 19, nil); err != nil {
		t.Fatal(err)
	}
	if err := straight.SameAsCheckpoint(checkpointPath(cd, 18), 0); err == nil {
		t.Fatal("a run at step 19 compared equal to checkpoint 18")
	}

	after := readCells[data.MetricRow](t, dir, data.MetricsFile)
	steps := map[int64]bool{}
	var kept []data.MetricRow
	for _, r := range after {
		if r.Cell == c0.ID && slices.Contains([]int64{10, 12, 15, 18}, r.Step) && r.Split != "train_batch" {
			steps[r.Step] = true
			continue
		}
		kept = append(kept, r)
	}
	if len(steps) != 4 {
		t.Fatalf("metrics rows at zoom steps %v; want 10, 12, 15, 18", steps)
	}
	if len(kept) != len(before) {
		t.Fatalf("%d rows besides the zoom's, %d before (train_batch losses written twice?)", len(kept), len(before))
	}
	for i := range kept {
		if !reflect.DeepEqual(kept[i], before[i]) {
			t.Fatalf("row %d changed: %+v, before %+v", i, kept[i], before[i])
		}
	}
	actsAfter := readCells[data.ActivationRow](t, dir, data.ActivationsFile)
	var zoomActs int
	for _, r := range actsAfter {
		if r.Cell == c0.ID && slices.Contains([]int64{10, 12, 15, 18}, r.Step) {
			zoomActs++
		}
	}
	if perStep := len(actsBefore) / 2 / 6; zoomActs != 4*perStep {
		t.Fatalf("%d activation rows at the zoom steps, want 4 × %d (the rows of one captured step)", zoomActs, perStep)
	}
	marks := readCells[data.CheckpointRow](t, dir, data.CheckpointsFile)
	var zoomMarks, logMarks int
	for _, m := range marks {
		switch {
		case m.Schedule == data.ScheduleZoom && m.Cell == c0.ID && m.WindowFrom == 8 && m.WindowTo == 22:
			zoomMarks++
		case m.Schedule == data.ScheduleLog && m.WindowFrom == data.NA:
			logMarks++
		default:
			t.Errorf("unexpected checkpoints row %+v", m)
		}
	}
	if zoomMarks != 4 || logMarks != 12 {
		t.Fatalf("checkpoints.parquet: %d zoom rows, %d log rows; want 4 and 12 (6 per cell)", zoomMarks, logMarks)
	}

	// The same window again: nothing to do.
	again, err := PlanZoom(dir, s, []ZoomWindow{{Cell: c0.ID, Lo: 9, Hi: 20, Source: "test"}}, opt, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Groups) != 0 || len(again.Skipped) != 1 || len(again.Recapture) != 0 {
		t.Fatalf("second zoom of the same window: %+v; want nothing to do", again)
	}
	// A zoom inside the zoomed window.
	inner, err := PlanZoom(dir, s, []ZoomWindow{{Cell: c0.ID, Lo: 12, Hi: 15, Source: "test"}}, ZoomOptions{Points: 2}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(inner.Groups) != 1 {
		t.Fatalf("zoom of a zoomed window: %+v", inner)
	}
	// Zoom checkpoints belong to s0 only, so the ensemble's common checkpoints around 12..15 are 8 and 22.
	if sg := inner.Groups[0].Segments[0]; sg.From != 8 || sg.To != 22 {
		t.Fatalf("inner zoom segment %d→%d, want 8→22 (the checkpoints both members have)", sg.From, sg.To)
	}
}

// TestZoomRefusesAnotherGrouping: a cell trained in an ensemble of 2 seeds, zoomed with
// --ensemble 1 (alone) or on another backend, is refused before any work, naming the grouping or
// backend the run recorded.
func TestZoomRefusesAnotherGrouping(t *testing.T) {
	b := testBackend(t)
	s, dir := zoomSweep(t, b)
	cells, _ := s.Cells()
	w := []ZoomWindow{{Cell: cells[0].ID, Lo: 22, Hi: 60, Source: "test"}}
	_, err := PlanZoom(dir, s, w, ZoomOptions{Points: 3, Ensemble: 1, Backend: b.String()}, 4)
	if !errors.Is(err, ErrNotTheRunsSetup) || !strings.Contains(err.Error(), "another grouping") || !strings.Contains(err.Error(), "[0 1]") {
		t.Fatalf("zoom with --ensemble 1: %v; want ErrNotTheRunsSetup naming the grouping [0 1]", err)
	}
	_, err = PlanZoom(dir, s, w, ZoomOptions{Points: 3, Backend: "xla:/x.so"}, 4)
	if !errors.Is(err, ErrNotTheRunsSetup) || !strings.Contains(err.Error(), "another backend") {
		t.Fatalf("zoom on another backend: %v; want ErrNotTheRunsSetup naming the backend", err)
	}
	if got := RunBackend(dir, s); got != b.String() {
		t.Fatalf("RunBackend = %q, want %q", got, b.String())
	}
}

// TestZoomRefusesADifferentRun: when the run's checkpoint at the window end differs from what the
// replay computes (here one bit of its last Adam-v value is flipped and the checksum rewritten, as
// a changed binary or a non-deterministic backend would make it differ), RunZoom fails with
// ErrReplayDiffers, names the tensor and says that backend, ensemble and binary are the run's, and
// leaves every file of the run folder as it was (nothing merged, staging emptied).
func TestZoomRefusesADifferentRun(t *testing.T) {
	b := testBackend(t)
	s, dir := zoomSweep(t, b)
	cells, _ := s.Cells()
	path := checkpointPath(CellDir(dir, cells[1].ID), 60)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := len(raw) - 4
	raw[n-1] ^= 0x01 // an exponent bit of the last float (Adam v of unembed.b_U): a changed value
	binary.LittleEndian.PutUint32(raw[n:], crc32.ChecksumIEEE(raw[:n]))
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshotFiles(t, dir)
	opt := ZoomOptions{Points: 3, Backend: b.String()}
	plan, err := PlanZoom(dir, s, []ZoomWindow{{Cell: cells[0].ID, Lo: 22, Hi: 60, Source: "test"}}, opt, 4)
	if err != nil {
		t.Fatal(err)
	}
	err = RunZoom(context.Background(), b, dir, s, plan, opt)
	if !errors.Is(err, ErrReplayDiffers) || !strings.Contains(err.Error(), "Adam v of unembed") || !strings.Contains(err.Error(), "same backend, ensemble and binary") {
		t.Fatalf("zoom against a changed checkpoint: %v; want ErrReplayDiffers naming the tensor and the same setup", err)
	}
	afterFiles := snapshotFiles(t, dir)
	for p, raw := range afterFiles {
		if old, ok := before[p]; !ok {
			t.Errorf("new file %s after a refused zoom", p)
		} else if !bytes.Equal(old, raw) {
			t.Errorf("%s changed by a refused zoom", p)
		}
	}
	for p := range before {
		if _, ok := afterFiles[p]; !ok {
			t.Errorf("%s deleted by a refused zoom", p)
		}
	}
}

func TestZoomPoints(t *testing.T) {
	cases := []struct {
		a, b, k int
		have    []int
		want    []int
	}{
		{8, 22, 4, nil, []int{10, 12, 15, 18}}, // targets 10^(log10 9 + i/5·log10(23/9)) − 1 = 9.86, 12.10, 14.80, 18.06 (Python)
		{0, 3, 8, nil, []int{1, 2}},            // fewer inner steps than points: all of them
		// targets 1.60, 2.37, 3.38, 4.69, 6.39, 8.59, 11.45, 15.17 (Python): 2.37's nearest, 2, is taken, so 3
		{1, 20, 8, nil, []int{2, 3, 4, 5, 6, 9, 11, 15}},
		// a window over log-spaced checkpoints: targets 3.86, 4.90, 6.17, 7.70, 9.57, 11.84, 14.59, 17.94
		// would all land on checkpoints; the nearest free steps are taken instead
		{3, 22, 8, []int{4, 5, 6, 8, 10, 12, 15, 18}, []int{7, 9, 11, 13, 14, 16, 17, 19}},
		{100, 101, 4, nil, nil},
		{5, 8, 4, []int{6, 7}, nil},
	}
	for _, c := range cases {
		have := map[int]bool{}
		for _, h := range c.have {
			have[h] = true
		}
		if got := zoomPoints(c.a, c.b, c.k, have); !slices.Equal(got, c.want) {
			t.Errorf("zoomPoints(%d, %d, %d, %v) = %v, want %v", c.a, c.b, c.k, c.have, got, c.want)
		}
	}
}

// TestZoomOfAZoomedWindow zooms both cells into 9..20 (points 10, 12, 15, 18), then cell s0 into
// 12..15 with 2 points: the replay resumes from zoom checkpoint 12 and is verified against zoom
// checkpoint 15, and its points 13, 14 (the only free steps) equal a straight run's state there.
// Then it rebuilds what a kill between moving a replay's checkpoints in and recording them leaves
// (s1's zoom.json gone, its zoom checkpoint files still there): the rerun replays the window
// again and ends with s1's metrics row for row as before.
func TestZoomOfAZoomedWindow(t *testing.T) {
	b := testBackend(t)
	s, dir := zoomSweep(t, b)
	cells, _ := s.Cells()
	zoom := func(ws []ZoomWindow, k int) ZoomPlan {
		t.Helper()
		opt := ZoomOptions{Points: k, Backend: b.String()}
		plan, err := PlanZoom(dir, s, ws, opt, 4)
		if err != nil {
			t.Fatal(err)
		}
		if err := RunZoom(context.Background(), b, dir, s, plan, opt); err != nil {
			t.Fatal(err)
		}
		return plan
	}
	zoom([]ZoomWindow{{Cell: cells[0].ID, Lo: 9, Hi: 20}, {Cell: cells[1].ID, Lo: 9, Hi: 20}}, 4)
	s1 := CellDir(dir, cells[1].ID)
	s1Metrics := readCells[data.MetricRow](t, dir, data.MetricsFile)

	inner := zoom([]ZoomWindow{{Cell: cells[0].ID, Lo: 12, Hi: 15}}, 2)
	if len(inner.Groups) != 1 || len(inner.Groups[0].Segments) != 1 {
		t.Fatalf("inner plan %+v", inner)
	}
	if sg := inner.Groups[0].Segments[0]; sg.From != 12 || sg.To != 15 || !slices.Equal(sg.Verify, []int{15}) || !slices.Equal(sg.Points[cells[0].ID], []int{13, 14}) {
		t.Fatalf("inner segment %+v: want 12→15 verified at [15], points [13 14]", sg)
	}
	task, _ := data.NewTask(s.Task.Name, s.Task.Params)
	straight, err := NewRun(b, RunConfig{Task: task, Model: cells[0].Model, Optim: s.Train.Optimizer, Seeds: []uint64{0, 1}, Steps: 60, BatchSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{13, 14} {
		if err := straight.TrainTo(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
		if err := straight.SameAsCheckpoint(checkpointPath(CellDir(dir, cells[0].ID), p), 0); err != nil {
			t.Fatalf("inner zoom checkpoint %d vs a straight run: %v", p, err)
		}
	}

	// A kill after s1's checkpoints were moved in, before zoom.json was written.
	if err := os.Remove(filepath.Join(s1, data.ZoomFile)); err != nil {
		t.Fatal(err)
	}
	again := zoom([]ZoomWindow{{Cell: cells[1].ID, Lo: 9, Hi: 20}}, 4)
	if again.NewCheckpoints != 4 {
		t.Fatalf("rerun after the simulated kill: %d new checkpoints, want the 4 unrecorded ones again", again.NewCheckpoints)
	}
	var before, after []data.MetricRow
	for _, r := range s1Metrics {
		if r.Cell == cells[1].ID {
			before = append(before, r)
		}
	}
	for _, r := range readCells[data.MetricRow](t, dir, data.MetricsFile) {
		if r.Cell == cells[1].ID {
			after = append(after, r)
		}
	}
	if len(before) == 0 || !reflect.DeepEqual(before, after) {
		t.Fatalf("s1's metrics after the rerun differ from before the simulated kill (%d vs %d rows)", len(after), len(before))
	}
}
