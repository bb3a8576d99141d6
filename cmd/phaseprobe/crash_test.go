package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/train"
)

// crashSpec is a sweep of two ensembles of two seeds (so one process writes the checkpoints of two
// members one after the other) that trains, captures and analyses in a few seconds on 2 cores.
const crashSpec = `
name: crash
task: {name: addition, params: {digits: 2}}
model: {d_model: [8, 16], n_layers: [1], n_heads: [2]}
seeds: [0, 1]
train: {steps: 150, batch_size: 16, optimizer: {lr: 0.003}}
checkpoints: {count: 10}
probe: {examples: 48, capture_examples: 16}
ensemble: 2
`

// readTableFile reads a whole table file, choosing the row type from its name and folder (a cell's
// tables or the sweep's analysis/ tables). ok is false for a file name phaseprobe does not write.
func readTableFile(path string) (rows any, ok bool, err error) {
	inAnalysis := filepath.Base(filepath.Dir(path)) == "analysis"
	switch name := filepath.Base(path); {
	case name == data.MetricsFile, name == data.InternalMetricsFile:
		rows, err = readRows[data.MetricRow](path)
	case inAnalysis && name == data.TransitionsFile:
		rows, err = readRows[data.TransitionRow](path)
	case inAnalysis && name == data.JumpsFile:
		rows, err = readRows[data.JumpRow](path)
	case inAnalysis && name == data.VerdictsFile:
		rows, err = readRows[data.VerdictRow](path)
	case inAnalysis && name == data.MirageFile:
		rows, err = readRows[data.MirageRow](path)
	case name == data.ActivationsFile:
		rows, err = readRows[data.ActivationRow](path)
	case name == data.AttentionFile:
		rows, err = readRows[data.AttentionRow](path)
	case name == data.OutputsFile:
		rows, err = readRows[data.OutputRow](path)
	case name == data.ProbeSetFile:
		rows, err = readRows[data.ProbeSetRow](path)
	case name == data.LabelsFile:
		rows, err = readRows[data.LabelRow](path)
	case name == data.CheckpointsFile:
		rows, err = readRows[data.CheckpointRow](path)
	default:
		return nil, false, nil
	}
	return rows, true, err
}

func readRows[T data.TableRow](path string) ([]T, error) {
	var all []T
	_, err := data.ReadTable(path, func(rows []T) error {
		all = append(all, rows...)
		return nil
	})
	return all, err
}

// equalNaN is reflect.DeepEqual for table rows, except that a NaN float equals a NaN float (the
// analysis tables hold NaN where a value is undefined).
func equalNaN(x, y any) bool { return equalValues(reflect.ValueOf(x), reflect.ValueOf(y)) }

func equalValues(x, y reflect.Value) bool {
	if x.IsValid() != y.IsValid() {
		return false
	}
	if !x.IsValid() {
		return true
	}
	if x.Type() != y.Type() {
		return false
	}
	switch x.Kind() {
	case reflect.Float32, reflect.Float64:
		a, b := x.Float(), y.Float()
		return a == b || (math.IsNaN(a) && math.IsNaN(b))
	case reflect.Slice, reflect.Array:
		if x.Kind() == reflect.Slice && x.IsNil() != y.IsNil() && (x.Len() > 0 || y.Len() > 0) {
			return false
		}
		if x.Len() != y.Len() {
			return false
		}
		for i := range x.Len() {
			if !equalValues(x.Index(i), y.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range x.NumField() {
			if !equalValues(x.Field(i), y.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		return equalValues(x.Elem(), y.Elem())
	default:
		return reflect.DeepEqual(x.Interface(), y.Interface())
	}
}

// compareTables reports the first difference between two tables read by readTableFile.
func compareTables(name string, want, got any) error {
	if equalNaN(want, got) {
		return nil
	}
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	if wv.Len() != gv.Len() {
		return fmt.Errorf("%s: %d rows uninterrupted, %d after the kills", name, wv.Len(), gv.Len())
	}
	for i := range wv.Len() {
		if !equalValues(wv.Index(i), gv.Index(i)) {
			return fmt.Errorf("%s differs; first at row %d:\nuninterrupted %+v\nafter kills   %+v", name, i, wv.Index(i).Interface(), gv.Index(i).Interface())
		}
	}
	return nil
}

// tableFiles lists the table files at final names under a sweep folder, relative to it, sorted.
func tableFiles(t *testing.T, sweepDir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(sweepDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			rel, _ := filepath.Rel(sweepDir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// checkNothingTorn opens every file at a final name under a sweep folder: every table reads whole
// with data.ReadMeta and data.ReadTable, every checkpoint passes train.ReadCheckpointHeader, every
// JSON file parses and sweep.yaml is a valid spec. It returns the readable checkpoints.
func checkNothingTorn(t *testing.T, sweepDir, when string) map[string]bool {
	t.Helper()
	ckpts := map[string]bool{}
	err := filepath.WalkDir(sweepDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		rel, _ := filepath.Rel(sweepDir, p)
		switch {
		case strings.Contains(name, ".tmp-"):
			// a temporary file: never read by anything, removed by the next run
		case strings.HasSuffix(name, ".parquet"):
			if _, err := data.ReadMeta(p); err != nil {
				t.Errorf("%s: torn table %s: ReadMeta: %v", when, rel, err)
				return nil
			}
			rows, known, err := readTableFile(p)
			if !known {
				t.Errorf("%s: unexpected table %s", when, rel)
			} else if err != nil {
				t.Errorf("%s: torn table %s: %v", when, rel, err)
			} else if reflect.ValueOf(rows).Len() == 0 && name != data.LabelsFile && name != data.MirageFile && name != data.JumpsFile {
				// labels may be empty by design; mirage and jumps are empty when no cell learns or jumps
				t.Errorf("%s: table %s has no rows", when, rel)
			}
		case strings.HasSuffix(name, ".ckpt"):
			if _, err := train.ReadCheckpointHeader(p); err != nil {
				t.Errorf("%s: torn checkpoint %s: %v", when, rel, err)
			} else {
				ckpts[rel] = true
			}
		case strings.HasSuffix(name, ".json"):
			raw, err := os.ReadFile(p)
			if err != nil || !json.Valid(raw) {
				t.Errorf("%s: torn JSON file %s (%v)", when, rel, err)
			}
		case name == "sweep.yaml":
			raw, err := os.ReadFile(p)
			if err == nil {
				_, err = train.ParseSpec(raw)
			}
			if err != nil {
				t.Errorf("%s: torn sweep.yaml: %v", when, err)
			}
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return ckpts
}

// tempFiles lists the temporary files under dir matching a glob of their base name.
func tempFiles(dir, pattern string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if ok, _ := filepath.Match(pattern, d.Name()); ok {
				out = append(out, p)
			}
		}
		return nil
	})
	return out
}

// killRun is one round of the crash harness: it starts phaseprobe, kills it with SIGKILL as soon as
// trigger() holds, and reports whether it was killed (false: it exited first, with its exit code).
func killRun(t *testing.T, trigger func(elapsed time.Duration) bool, args ...string) (killed bool, code int, stderr string) {
	t.Helper()
	c := cli(args...)
	var errb bytes.Buffer
	c.Stderr = &errb
	start := time.Now()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	for {
		select {
		case err := <-exited:
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			return false, code, errb.String()
		default:
		}
		if trigger(time.Since(start)) {
			c.Process.Signal(syscall.SIGKILL)
			err := <-exited
			if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 0 {
				return false, 0, errb.String()
			}
			// A process that finished on its own between the check and the signal exits 0.
			if err == nil {
				return false, 0, errb.String()
			}
			return true, -1, errb.String()
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// crashSweep runs the uninterrupted sweep and analysis of crashSpec once for the crash tests.
func crashSweep(t *testing.T) (spec, straight string) {
	t.Helper()
	dir := t.TempDir()
	spec = writeFile(t, filepath.Join(dir, "crash.yaml"), crashSpec)
	straight = filepath.Join(dir, "straight")
	t0 := time.Now()
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", straight, "--jobs", "1"); code != 0 {
		t.Fatalf("uninterrupted sweep: exit %d\n%s", code, stderr)
	}
	t1 := time.Now()
	if code, _, stderr := runCLI(t, "analyze", filepath.Join(straight, "crash")); code != 0 {
		t.Fatalf("uninterrupted analyze: exit %d\n%s", code, stderr)
	}
	t.Logf("uninterrupted: sweep %v, analyze %v", t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	return spec, filepath.Join(straight, "crash")
}

// sameTables checks that two sweep folders hold the same table files with equal rows.
func sameTables(t *testing.T, want, got string) {
	t.Helper()
	wf, gf := tableFiles(t, want), tableFiles(t, got)
	if !slices.Equal(wf, gf) {
		t.Fatalf("tables differ:\nuninterrupted %v\nresumed       %v", wf, gf)
	}
	for _, f := range wf {
		a, _, err := readTableFile(filepath.Join(want, f))
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := readTableFile(filepath.Join(got, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := compareTables(f, a, b); err != nil {
			t.Error(err)
		}
	}
}

// TestCrash runs `phaseprobe sweep` and then `phaseprobe analyze` on a tiny spec, SIGKILLs the
// process again and again (when a new checkpoint appears during training, while a checkpoint or a
// table is being written, while the analysis writes its tables, and after seeded random delays),
// and after every kill checks that no file at a final name is torn and that no finished checkpoint
// was lost. After the last kill the reruns finish, and every table equals the uninterrupted run's,
// row for row. A second part rebuilds, file by file, the state a kill between the checkpoint
// writes of two ensemble members leaves (too narrow a window to hit by polling every time).
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	spec, straight := crashSweep(t)
	t.Run("KillAnywhere", func(t *testing.T) { killAnywhere(t, spec, straight) })
	t.Run("KillBetweenMemberCheckpoints", func(t *testing.T) { killBetweenMembers(t, spec, straight) })
	t.Run("KillZoom", func(t *testing.T) { killZoom(t, straight) })
}

// killZoom zooms a copy of the finished run (--window 9:86, 6 points, every cell: one replay of
// each ensemble from step 9 to 86, verified at 16, 28, 49 and 86), SIGKILLs the same zoom of
// another copy again and again (while a replay's checkpoints are staged, while a table is
// rewritten, after seeded random delays), checks after every kill that nothing is torn and no
// checkpoint of the run was lost, and whenever a rerun finishes compares every table with the
// uninterrupted zoom's, row for row (then starts again from a fresh copy).
func killZoom(t *testing.T, straight string) {
	base := t.TempDir()
	want := filepath.Join(base, "want", "crash")
	copyDir(t, straight, want)
	zoomArgs := func(run string) []string { return []string{"zoom", run, "--window", "9:86", "--points", "6"} }
	t0 := time.Now()
	if code, _, stderr := runCLI(t, zoomArgs(want)...); code != 0 {
		t.Fatalf("uninterrupted zoom: exit %d\n%s", code, stderr)
	}
	t.Logf("uninterrupted zoom: %v", time.Since(t0).Round(time.Millisecond))
	marks, err := readRows[data.CheckpointRow](filepath.Join(want, "cells", "addition-d8-L1-H2-s0", data.CheckpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	zoomed := 0
	for _, m := range marks {
		if m.Schedule == data.ScheduleZoom {
			zoomed++
		}
	}
	if zoomed != 6 || len(marks) != 17 {
		t.Fatalf("uninterrupted zoom: %d zoom checkpoints of %d; want 6 of 17 (11 scheduled)", zoomed, len(marks))
	}

	run := filepath.Join(base, "killed", "crash")
	copyDir(t, straight, run)
	exists := func(pattern string) func() bool {
		return func() bool {
			m, _ := filepath.Glob(filepath.Join(run, pattern))
			return len(m) > 0
		}
	}
	staged := exists("cells/*/zoom-staging/step-*.ckpt")
	tableWrite := exists("cells/*/*.parquet.tmp-*")
	rng := rand.New(rand.NewPCG(2025, 15))
	prev := checkNothingTorn(t, run, "before the kills")
	kills, finished := 0, 0
	for i, point := range []string{"staged checkpoint", "table write", "random", "table write", "random", "staged checkpoint", "random", "table write", "random"} {
		var delay time.Duration
		poll := func() bool { return false }
		switch point {
		case "staged checkpoint":
			poll = staged
		case "table write":
			poll = tableWrite
		default:
			delay = time.Duration(50+rng.IntN(1500)) * time.Millisecond
		}
		killed, code, stderr := killRun(t, func(el time.Duration) bool { return (delay > 0 && el >= delay) || poll() }, zoomArgs(run)...)
		if !killed {
			if code != 0 {
				t.Fatalf("zoom exited %d before kill point %d (%s):\n%s", code, i, point, stderr)
			}
			// The zoom finished after the kills before it: its tables must be the uninterrupted
			// zoom's. The next kill points start again from a fresh copy of the run.
			t.Logf("zoom finished before kill point %d (%s): comparing, then starting again", i, point)
			sameTables(t, want, run)
			finished++
			os.RemoveAll(run)
			copyDir(t, straight, run)
			prev = checkNothingTorn(t, run, "fresh copy")
			continue
		}
		kills++
		t.Logf("kill %d at %s %v", kills, point, delay)
		ck := checkNothingTorn(t, run, fmt.Sprintf("after zoom kill %d", kills))
		for c := range prev {
			if !ck[c] && !strings.Contains(c, "zoom-staging") {
				t.Errorf("after zoom kill %d: checkpoint %s was lost", kills, c)
			}
		}
		prev = ck
		if t.Failed() {
			t.FailNow()
		}
	}
	if kills < 4 {
		t.Fatalf("only %d zoom kills landed (want at least 4)", kills)
	}
	t.Logf("%d zoom kills, %d zooms finished after kills", kills, finished)
	if code, _, stderr := runCLI(t, zoomArgs(run)...); code != 0 {
		t.Fatalf("rerun of zoom: exit %d\n%s", code, stderr)
	}
	// Once finished, the same zoom again has nothing to do.
	if code, stdout, stderr := runCLI(t, zoomArgs(run)...); code != 0 || !strings.Contains(stdout, "nothing to do") {
		t.Fatalf("zoom of a zoomed run: exit %d, stdout %q; want 0 and nothing to do\n%s", code, stdout, stderr)
	}
	checkNothingTorn(t, run, "at the end")
	if tmp := tempFiles(run, "*.tmp-*"); len(tmp) > 0 {
		t.Errorf("temporary files left behind after the zoom reruns: %v", tmp)
	}
	if st, _ := filepath.Glob(filepath.Join(run, "cells", "*", "zoom-staging")); len(st) > 0 {
		t.Errorf("staging folders left behind: %v", st)
	}
	sameTables(t, want, run)
}

func killAnywhere(t *testing.T, spec, straight string) {
	killed := filepath.Join(t.TempDir(), "killed")
	sweepArgs := func(out string) []string { return []string{"sweep", spec, "--out", out, "--jobs", "1"} }
	run := filepath.Join(killed, "crash")
	cellsDone := func() int {
		d, _ := filepath.Glob(filepath.Join(run, "cells", "*", "done.json"))
		return len(d)
	}
	const nCells = 4
	ckptCount := func() int {
		c, _ := filepath.Glob(filepath.Join(run, "cells", "*", "checkpoints", "step-*.ckpt"))
		return len(c)
	}
	exists := func(pattern string) func() bool {
		return func() bool {
			m, _ := filepath.Glob(filepath.Join(run, pattern))
			return len(m) > 0
		}
	}
	// A kill point: a poll for the evidence of a phase, or a random delay.
	type point struct {
		name   string
		sweep  bool // a point of the sweep (else of the analysis)
		poll   func() bool
		random bool
	}
	newCkpt := func() func() bool {
		base := ckptCount()
		return func() bool { return ckptCount() > base+1 }
	}
	ckptWrite := exists("cells/*/checkpoints/.step-*.ckpt.tmp-*")
	tableWrite := func() bool {
		for _, f := range []string{data.MetricsFile, data.ActivationsFile, data.AttentionFile, data.OutputsFile} {
			if exists("cells/*/" + f + ".tmp-*")() {
				return true
			}
		}
		return false
	}
	internalWrite := exists("cells/*/" + data.InternalMetricsFile + ".tmp-*")
	analysisWrite := exists("analysis/*.tmp-*")
	// The sweep's kill points, tried while the sweep runs (a training point once training is over
	// becomes a table-write point), then the analysis's.
	sweepPlan := []string{"training", "checkpoint write", "training", "random", "checkpoint write", "table write", "random", "table write"}
	analysisPlan := []string{"internal metrics write", "random", "analysis tables write", "random"}
	const allCkpts = nCells * 11 // the schedule has 11 steps
	rng := rand.New(rand.NewPCG(2024, 11))
	seen := map[string]int{}
	var prevCkpts map[string]bool
	kills := 0
	// round runs phaseprobe once and kills it at the named point; it reports whether the kill
	// landed (false: the command finished first).
	round := func(analysis bool, name string) bool {
		p := point{name: name, sweep: !analysis}
		if p.sweep && (name == "training" || name == "checkpoint write") && ckptCount() == allCkpts {
			name, p.name = "table write", "table write" // training is over
		}
		switch name {
		case "training":
			p.poll = newCkpt()
		case "checkpoint write":
			p.poll = ckptWrite
		case "table write":
			p.poll = tableWrite
		case "internal metrics write":
			p.poll = internalWrite
		case "analysis tables write":
			p.poll = analysisWrite
		default:
			p.random = true
		}
		args := sweepArgs(killed)
		var delay time.Duration
		switch {
		case analysis && p.random:
			args = []string{"analyze", run}
			delay = time.Duration(100+rng.IntN(300)) * time.Millisecond
		case analysis:
			// An analysis of a few cells is short: if the poll misses its writes, kill it anyway.
			args = []string{"analyze", run}
			delay = time.Duration(150+rng.IntN(150)) * time.Millisecond
		case p.random:
			delay = time.Duration(50+rng.IntN(700)) * time.Millisecond
		}
		trigger := func(el time.Duration) bool {
			if delay > 0 && el >= delay {
				return true
			}
			return !p.random && p.poll()
		}
		before := map[string]bool{}
		for _, f := range tempFiles(run, "*.tmp-*") {
			before[f] = true
		}
		wasKilled, code, stderr := killRun(t, trigger, args...)
		if !wasKilled {
			if code != 0 {
				t.Fatalf("phaseprobe %s exited %d before the kill:\n%s", args[0], code, stderr)
			}
			t.Logf("phaseprobe %s finished before the %s kill point", args[0], p.name)
			return false
		}
		kills++
		// Where did the kill land? Temporary files it left behind show a write it cut short.
		where := p.name
		if p.random {
			where = "random delay " + delay.String()
		}
		var cut []string
		for _, f := range tempFiles(run, "*.tmp-*") {
			if before[f] {
				continue // left by an earlier kill in a cell this round did not reach
			}
			switch name := filepath.Base(f); {
			case strings.HasPrefix(name, ".step-"):
				cut = append(cut, "a checkpoint")
			case strings.HasPrefix(name, data.InternalMetricsFile):
				cut = append(cut, "internal_metrics.parquet")
			case filepath.Base(filepath.Dir(f)) == "analysis":
				cut = append(cut, "an analysis table")
			default:
				cut = append(cut, "a captured table")
			}
		}
		state := fmt.Sprintf("%d checkpoints, %d/%d cells done", ckptCount(), cellsDone(), nCells)
		t.Logf("kill %d (%s, %s): %s; cut short: %v", kills, args[0], where, state, cut)
		for _, c := range cut {
			seen["writing "+c]++
		}
		seen[args[0]]++
		ck := checkNothingTorn(t, run, fmt.Sprintf("after kill %d", kills))
		for c := range prevCkpts {
			if !ck[c] {
				t.Errorf("after kill %d: finished checkpoint %s was lost", kills, c)
			}
		}
		prevCkpts = ck
		if t.Failed() {
			t.FailNow()
		}
		return true
	}
	for _, name := range sweepPlan {
		if !round(false, name) {
			break // the sweep finished
		}
	}
	if cellsDone() < nCells {
		if code, _, stderr := runCLI(t, sweepArgs(killed)...); code != 0 {
			t.Fatalf("rerun of phaseprobe sweep: exit %d\n%s", code, stderr)
		}
	}
	for _, name := range analysisPlan {
		if !round(true, name) {
			break // the analysis finished
		}
	}
	if kills < 8 {
		t.Fatalf("only %d kills landed (want at least 8): the run is too short to be caught", kills)
	}
	if seen["sweep"] == 0 || seen["analyze"] == 0 {
		t.Fatalf("kills by stage %v: want kills in both the sweep and the analysis", seen)
	}
	t.Logf("kills by command, and the writes they cut short: %v", seen)

	// Finish: the reruns complete and leave no temporary files.
	for _, args := range [][]string{sweepArgs(killed), {"analyze", run}} {
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("rerun of phaseprobe %s: exit %d\n%s", args[0], code, stderr)
		}
	}
	checkNothingTorn(t, run, "at the end")
	if tmp := tempFiles(run, "*.tmp-*"); len(tmp) > 0 {
		t.Errorf("temporary files left behind after the reruns: %v", tmp)
	}
	// 8 tables per cell (with internal_metrics and checkpoints) and 5 in analysis/ (metrics,
	// transitions, jumps, mirage, verdicts).
	if want := tableFiles(t, straight); len(want) != nCells*8+5 || !slices.Contains(want, filepath.Join("analysis", data.VerdictsFile)) {
		t.Fatalf("the uninterrupted run lacks tables: %v", want)
	}
	sameTables(t, straight, run)
}

// killBetweenMembers rebuilds the state a SIGKILL leaves when it lands after member 0 of an
// ensemble saved its checkpoint at a step and before member 1 saved its own: the rerun resumes
// both from the step before, and must not count the losses since then twice in member 0's next
// checkpoint.
func killBetweenMembers(t *testing.T, spec, straight string) {
	out := filepath.Join(t.TempDir(), "runs")
	run := filepath.Join(out, "crash")
	cp := func(rel string) {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(straight, rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(run, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(run, rel), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cp("sweep.yaml")
	// Schedule 0 1 2 3 5 9 16 28 49 86 150: seed 0 has saved step 28, seed 1 only step 16.
	for _, c := range []struct {
		cell string
		last int
	}{{"addition-d8-L1-H2-s0", 28}, {"addition-d8-L1-H2-s1", 16}, {"addition-d16-L1-H2-s0", 49}, {"addition-d16-L1-H2-s1", 28}} {
		cp(filepath.Join("cells", c.cell, "config.json"))
		for _, st := range []int{0, 1, 2, 3, 5, 9, 16, 28, 49} {
			if st <= c.last {
				cp(filepath.Join("cells", c.cell, "checkpoints", fmt.Sprintf("step-%08d.ckpt", st)))
			}
		}
	}
	for _, args := range [][]string{{"sweep", spec, "--out", out, "--jobs", "1"}, {"analyze", run}} {
		code, _, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("phaseprobe %s: exit %d\n%s", args[0], code, stderr)
		}
		if args[0] == "sweep" && strings.Count(stderr, "resuming") != 2 {
			t.Errorf("want both ensembles resumed:\n%s", stderr)
		}
	}
	sameTables(t, straight, run)
}

// TestInterruptStopsCleanly: SIGINT during a sweep stops it with exit status 130 and a message
// saying how to resume; rerunning the same command finishes the sweep.
func TestInterruptStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "crash.yaml"), crashSpec)
	run := filepath.Join(dir, "runs", "crash")
	c := cli("sweep", spec, "--out", filepath.Join(dir, "runs"), "--jobs", "1")
	var errb bytes.Buffer
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ck, _ := filepath.Glob(filepath.Join(run, "cells", "*", "checkpoints", "step-*.ckpt"))
		if len(ck) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			c.Process.Kill()
			t.Fatal("no checkpoint within a minute")
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("after SIGINT: %v, want exit status 130\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "rerun the same command") {
		t.Errorf("stderr does not say how to resume:\n%s", errb.String())
	}
	checkNothingTorn(t, run, "after SIGINT")
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", filepath.Join(dir, "runs"), "--jobs", "1"); code != 0 {
		t.Fatalf("rerun after SIGINT: exit %d\n%s", code, stderr)
	}
	if d, _ := filepath.Glob(filepath.Join(run, "cells", "*", "done.json")); len(d) != 4 {
		t.Fatalf("%d cells done after the rerun, want 4", len(d))
	}
}
