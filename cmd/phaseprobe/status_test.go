package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// calibSpec is the sweep the disk estimate's compression factors were measured on
// (train/estimate.go): addition, two widths, every default site, answer positions.
const calibSpec = `
name: calib
task: {name: addition, params: {digits: 2}}
model: {d_model: [16, 48], n_layers: [2], n_heads: [4]}
seeds: [0, 1]
train: {steps: 60, batch_size: 32, optimizer: {lr: 0.003}}
checkpoints: {count: 6}
probe: {examples: 64, capture_examples: 32}
ensemble: 2
`

// checkSpec is the sweep the estimate is checked on, not tuned on: another task, attention-only,
// every position, and checkpoints.keep: last.
const checkSpec = `
name: check
task: {name: induction, params: {n_ctx: 16, vocab: 8, seg_len: 4}}
model: {d_model: [24], n_layers: [1], n_heads: [2], attn_only: true}
seeds: [0, 1]
train: {steps: 40, batch_size: 16, optimizer: {lr: 0.003}}
checkpoints: {count: 5, keep: last}
probe: {examples: 48, capture_examples: 16, positions: all}
ensemble: 2
`

var estLineRE = regexp.MustCompile(`^#\s+(\S+)\s+([0-9.]+) (B|KiB|MiB|GiB)\s`)

// planEstimates parses plan's "#   <table> <size> <unit>" lines into bytes.
func planEstimates(t *testing.T, stdout string) map[string]float64 {
	t.Helper()
	unit := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
	out := map[string]float64{}
	for _, line := range strings.Split(stdout, "\n") {
		if m := estLineRE.FindStringSubmatch(line); m != nil {
			x, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			out[m[1]] = x * unit[m[3]]
		}
	}
	return out
}

// writtenBytes sums what a sweep wrote: each table over the cells, the checkpoint files, and the
// cell folders in all.
func writtenBytes(t *testing.T, run string) map[string]float64 {
	t.Helper()
	got := map[string]float64{}
	for _, f := range []string{data.MetricsFile, data.ActivationsFile, data.AttentionFile, data.OutputsFile, data.ProbeSetFile, data.LabelsFile} {
		files, _ := filepath.Glob(filepath.Join(run, "cells", "*", f))
		for _, p := range files {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			got[f] += float64(st.Size())
		}
	}
	files, _ := filepath.Glob(filepath.Join(run, "cells", "*", "checkpoints", "*.ckpt"))
	for _, p := range files {
		st, _ := os.Stat(p)
		got["checkpoints"] += float64(st.Size())
	}
	got["total"] = float64(duBytes(filepath.Join(run, "cells")))
	return got
}

// TestPlanEstimatesDisk: plan's disk estimate (from the table schemas, the spec and compression
// factors measured on the calib sweep) is within 20 % of what the sweep then writes, per table, for
// the checkpoints and in total, on the check sweep it was not tuned on (and on calib). plan
// writes nothing; its time estimate is labelled as one and --no-timing drops it.
func TestPlanEstimatesDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	for _, c := range []struct{ name, spec string }{{"calib", calibSpec}, {"check", checkSpec}} {
		spec := writeFile(t, filepath.Join(dir, c.name+".yaml"), c.spec)
		out := filepath.Join(dir, "runs")
		args := []string{"plan", spec, "--out", out}
		if c.name == "calib" {
			args = append(args, "--no-timing")
		}
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("plan %s: exit %d\n%s", c.name, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(out, c.name)); !os.IsNotExist(err) {
			t.Fatalf("plan created %s", filepath.Join(out, c.name))
		}
		timed := strings.Contains(stdout, "# estimated time per ensemble on backend cpu (an estimate")
		if timed != (c.name == "check") || strings.Contains(stdout, "estimated time") && !strings.Contains(stdout, "#   0 d24-L1-H2 s0,1") {
			t.Errorf("plan %v: time estimate shown %v, want %v:\n%s", args, timed, c.name == "check", stdout)
		}
		est := planEstimates(t, stdout)
		if code, _, stderr := runCLI(t, "sweep", spec, "--out", out); code != 0 {
			t.Fatalf("sweep %s: exit %d\n%s", c.name, code, stderr)
		}
		// plan of a spec whose run folder exists says how far it got.
		if code, stdout, stderr := runCLI(t, "plan", spec, "--out", out, "--no-timing"); code != 0 || !regexp.MustCompile(`# run folder \S+ exists: [0-9]+ done \(`).MatchString(stdout) {
			t.Errorf("plan after the sweep: exit %d, want the folder's state (all done):\n%s%s", code, stdout, stderr)
		}
		got := writtenBytes(t, filepath.Join(out, c.name))
		for _, name := range []string{data.MetricsFile, data.ActivationsFile, data.AttentionFile, data.OutputsFile, data.ProbeSetFile, data.LabelsFile, "checkpoints", "total"} {
			e, ok := est[name]
			if !ok {
				t.Fatalf("plan %s printed no estimate for %s:\n%s", c.name, name, stdout)
			}
			ratio := e / got[name]
			t.Logf("%s %-20s estimated %9.0f, written %9.0f, ratio %.3f", c.name, name, e, got[name], ratio)
			if math.Abs(ratio-1) > 0.2 {
				t.Errorf("%s %s: estimated %.0f bytes, the sweep wrote %.0f (ratio %.3f, want within 20 %%)", c.name, name, e, got[name], ratio)
			}
		}
	}
}

// TestStatus follows a run folder through its states: status of a sweep part-way (a cell pending,
// one training, one trained, one done), of the finished sweep, after analyze and report (both
// current), and after a cell is captured again (both stale, naming the cell). Status writes
// nothing, and its JSON form holds the same states.
func TestStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	_, run := sweepFixture(t, dir) // badSpec: cells addition-d8-L1-H2-s0, -s1, 20 steps
	status := func() (string, []sweepStatus) {
		t.Helper()
		before := snapshot(t, dir)
		code, stdout, stderr := runCLI(t, "status", run)
		if code != 0 {
			t.Fatalf("status: exit %d\n%s", code, stderr)
		}
		code, js, stderr := runCLI(t, "status", "--json", run)
		if code != 0 {
			t.Fatalf("status --json: exit %d\n%s", code, stderr)
		}
		var st []sweepStatus
		if err := json.Unmarshal([]byte(js), &st); err != nil || len(st) != 1 {
			t.Fatalf("status --json: %v\n%s", err, js)
		}
		after := snapshot(t, dir)
		if len(after) != len(before) {
			t.Errorf("status created or removed files (%d before, %d after)", len(before), len(after))
		}
		for name, b := range before {
			if a := after[name]; a.sum != b.sum || !a.mod.Equal(b.mod) {
				t.Errorf("status changed %s", name)
			}
		}
		return stdout, st
	}
	stdout, st := status()
	s0, s1 := st[0].Cells[0], st[0].Cells[1]
	if st[0].States[stateDone] != 2 || s0.State != stateDone || s0.Step != 20 || s0.TotalSteps != 20 || s0.Checkpoints == 0 || s0.Bytes <= s0.CheckpointB || s1.TableB == 0 {
		t.Errorf("finished sweep: %+v", st[0])
	}
	if st[0].Analysis.State != "none" || st[0].Report.State != "none" || !strings.Contains(stdout, "2 done") {
		t.Errorf("unanalysed sweep: analysis %+v, report %+v\n%s", st[0].Analysis, st[0].Report, stdout)
	}

	// analyze, report: both current.
	if code, _, stderr := runCLI(t, "analyze", run); code != 0 {
		t.Fatalf("analyze: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "report", run); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	stdout, st = status()
	if st[0].Analysis.State != "current" || st[0].Report.State != "current" {
		t.Errorf("after analyze and report: analysis %+v, report %+v\n%s", st[0].Analysis, st[0].Report, stdout)
	}
	// A cell captured again (its done.json rewritten): analysis and report are stale.
	done := filepath.Join(run, "cells", "addition-d8-L1-H2-s1", "done.json")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(done, later, later); err != nil {
		t.Fatal(err)
	}
	stdout, st = status()
	if st[0].Analysis.State != "stale" || !strings.Contains(st[0].Analysis.Detail, "addition-d8-L1-H2-s1") || st[0].Report.State != "stale" {
		t.Errorf("after a recapture: analysis %+v, report %+v\n%s", st[0].Analysis, st[0].Report, stdout)
	}
	// A report of the stale analysis is written, with a warning.
	if code, _, stderr := runCLI(t, "report", run); code != 0 || !strings.Contains(stderr, "warning: the analysis is stale") {
		t.Errorf("report of a stale analysis: exit %d, stderr %q; want 0 and a warning", code, stderr)
	}
	// The report's page rewritten by a report that did not finish: its manifest no longer matches.
	if code, _, stderr := runCLI(t, "analyze", run); code != 0 {
		t.Fatalf("analyze: exit %d\n%s", code, stderr)
	}
	_, st = status()
	if st[0].Analysis.State != "current" || st[0].Report.State != "stale" {
		t.Errorf("after a new analysis: analysis %+v, report %+v (want current, stale)", st[0].Analysis, st[0].Report)
	}
	// A later analyze killed after rewriting one of its tables: report refuses to mix two
	// analyses in one page and leaves the report as it was.
	page := filepath.Join(run, "report", "index.html")
	pageBefore, _ := os.ReadFile(page)
	verdicts := filepath.Join(run, "analysis", "verdicts.parquet")
	if err := os.Chtimes(verdicts, later, later); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "report", run); code != 2 || !strings.Contains(stderr, "is incomplete") || !strings.Contains(stderr, "verdicts.parquet") {
		t.Errorf("report of a torn analysis: exit %d, stderr %q; want 2, naming verdicts.parquet", code, stderr)
	}
	if pageAfter, _ := os.ReadFile(page); !bytes.Equal(pageAfter, pageBefore) {
		t.Error("a refused report changed report/index.html")
	}
	if code, _, stderr := runCLI(t, "analyze", run); code != 0 {
		t.Fatalf("analyze: exit %d\n%s", code, stderr)
	}

	// Part-way states, rebuilt from the finished folder: s1 trained (not captured), s0 training
	// (checkpoints up to step 7 of 20), a cell of a wider spec pending.
	os.Remove(done)
	ck, _ := filepath.Glob(filepath.Join(run, "cells", "addition-d8-L1-H2-s0", "checkpoints", "step-*.ckpt"))
	for _, p := range ck {
		var step int
		if _, err := fmt.Sscanf(filepath.Base(p), "step-%08d.ckpt", &step); err == nil && step > 7 {
			os.Remove(p)
		}
	}
	os.Remove(filepath.Join(run, "cells", "addition-d8-L1-H2-s0", "done.json"))
	stdout, st = status()
	s0, s1 = st[0].Cells[0], st[0].Cells[1]
	if s0.State != stateTraining || s0.Step > 7 || s0.Step < 1 || s1.State != stateTrained || s1.Step != 20 {
		t.Errorf("part-way: s0 %+v, s1 %+v\n%s", s0, s1, stdout)
	}
	if !strings.Contains(stdout, "1 trained, 1 training") || !strings.Contains(stdout, "/20") {
		t.Errorf("part-way table:\n%s", stdout)
	}
	// No checkpoint at all: pending.
	os.RemoveAll(filepath.Join(run, "cells", "addition-d8-L1-H2-s0", "checkpoints"))
	os.MkdirAll(filepath.Join(run, "cells", "addition-d8-L1-H2-s0", "checkpoints"), 0o755)
	_, st = status()
	if s0 = st[0].Cells[0]; s0.State != statePending || s0.Step != -1 || st[0].Steps != 20 || st[0].StepsAll != 40 {
		t.Errorf("no checkpoints: s0 %+v, steps %d of %d (want pending, 20 of 40)", s0, st[0].Steps, st[0].StepsAll)
	}
}

// keepKillSpec trains its four cells one at a time (ensemble 1), so a kill can fall after one cell
// is captured and pruned and while another trains.
const keepKillSpec = `
name: keepkill
task: {name: addition, params: {digits: 2}}
model: {d_model: [16], n_layers: [1], n_heads: [2]}
seeds: [0, 1, 2, 3]
train: {steps: 150, batch_size: 16, optimizer: {lr: 0.003}}
checkpoints: {count: 8, keep: last}
probe: {examples: 32, capture_examples: 8}
ensemble: 1
`

// TestKeepLastSurvivesSIGKILL: a sweep with checkpoints.keep: last is SIGKILLed after its first
// cell is captured (and pruned to its final checkpoint) while a later cell trains; that cell
// still holds every checkpoint it wrote, the rerun resumes it, every cell ends with only its
// final checkpoint, and every table equals an uninterrupted keep: all run's, row for row.
func TestKeepLastSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	all := writeFile(t, filepath.Join(dir, "all.yaml"), strings.Replace(keepKillSpec, ", keep: last", "", 1))
	last := writeFile(t, filepath.Join(dir, "last.yaml"), keepKillSpec)
	straight, killed := filepath.Join(dir, "straight"), filepath.Join(dir, "killed")
	if code, _, stderr := runCLI(t, "sweep", all, "--out", straight); code != 0 {
		t.Fatalf("uninterrupted sweep: exit %d\n%s", code, stderr)
	}
	run := filepath.Join(killed, "keepkill")
	cell := func(seed int) string { return filepath.Join(run, "cells", fmt.Sprintf("addition-d16-L1-H2-s%d", seed)) }
	const final = "step-00000150.ckpt"
	var training int // the cell that was training when killed
	wasKilled, code, stderr := killRun(t, func(time.Duration) bool {
		for s := 1; s < 4; s++ {
			ck, _ := filepath.Glob(filepath.Join(cell(s), "checkpoints", "step-0000000[2-9].ckpt"))
			_, doneErr := os.Stat(filepath.Join(cell(s-1), "done.json"))
			_, finalErr := os.Stat(filepath.Join(cell(s), "checkpoints", final))
			if doneErr == nil && len(ck) > 0 && finalErr != nil {
				training = s
				return true
			}
		}
		return false
	}, "sweep", last, "--out", killed)
	if !wasKilled {
		t.Fatalf("the sweep finished (exit %d) before it could be killed mid-way; the test proves nothing\n%s", code, stderr)
	}
	if got := ckptNames(t, cell(0)); !slices.Equal(got, []string{final}) {
		t.Errorf("captured cell s0 after the kill: checkpoints %v, want [%s]", got, final)
	}
	// A kill can land while a checkpoint is being written: its temporary file is expected here
	// (the resumed sweep must remove it, which the check after the resume asserts).
	got := slices.DeleteFunc(ckptNames(t, cell(training)), func(n string) bool { return strings.Contains(n, ".tmp-") })
	if len(got) < 2 || slices.Contains(got, final) || got[0] != "step-00000000.ckpt" {
		t.Errorf("cell s%d, training when killed: checkpoints %v, want every one from step 0 up to the kill", training, got)
	}
	if code, _, stderr := runCLI(t, "sweep", last, "--out", killed); code != 0 {
		t.Fatalf("resumed sweep: exit %d\n%s", code, stderr)
	}
	for s := range 4 {
		if got := ckptNames(t, cell(s)); !slices.Equal(got, []string{final}) {
			t.Errorf("cell s%d after the resumed sweep: checkpoints %v, want [%s]", s, got, final)
		}
	}
	a, b := filepath.Join(straight, "keepkill"), run
	if n := len(readAll[data.MetricRow](t, a, data.MetricsFile)); n == 0 {
		t.Fatal("the uninterrupted sweep wrote no metric rows")
	}
	for _, c := range []struct {
		name string
		x, y any
	}{
		{data.MetricsFile, readAll[data.MetricRow](t, a, data.MetricsFile), readAll[data.MetricRow](t, b, data.MetricsFile)},
		{data.ActivationsFile, readAll[data.ActivationRow](t, a, data.ActivationsFile), readAll[data.ActivationRow](t, b, data.ActivationsFile)},
		{data.AttentionFile, readAll[data.AttentionRow](t, a, data.AttentionFile), readAll[data.AttentionRow](t, b, data.AttentionFile)},
		{data.OutputsFile, readAll[data.OutputRow](t, a, data.OutputsFile), readAll[data.OutputRow](t, b, data.OutputsFile)},
	} {
		if err := compareTables(c.name, c.x, c.y); err != nil {
			t.Error(err)
		}
	}
}

func ckptNames(t *testing.T, cellDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cellDir, "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestStatusRunsFolderWithABrokenSweep: a runs folder holding a good sweep and one whose
// sweep.yaml does not parse lists the good one, names the broken one with its error, and exits
// non-zero; --json holds both, the broken one with its error.
func TestStatusRunsFolderWithABrokenSweep(t *testing.T) {
	dir := t.TempDir()
	_, run := sweepFixture(t, dir)
	broken := filepath.Join(filepath.Dir(run), "broken")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(broken, "sweep.yaml"), "name: [\n")
	code, stdout, stderr := runCLI(t, "status", filepath.Dir(run))
	if code == 0 || !strings.Contains(stdout, "fx") || !strings.Contains(stdout, broken+": cannot be read") || !strings.Contains(stderr, broken) {
		t.Errorf("status of a runs folder with a broken sweep: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	code, js, _ := runCLI(t, "status", "--json", filepath.Dir(run))
	var st []sweepStatus
	if err := json.Unmarshal([]byte(js), &st); err != nil || code == 0 || len(st) != 2 {
		t.Fatalf("status --json: exit %d, %v\n%s", code, err, js)
	}
	for _, s := range st {
		if (s.Dir == broken) != (s.Error != "") {
			t.Errorf("%s: error %q", s.Dir, s.Error)
		}
	}
}
