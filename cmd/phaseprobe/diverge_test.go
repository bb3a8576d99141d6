package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// divergeSpec trains one ensemble of two seeds; with lr 1e6 both diverge within a few steps.
const divergeSpec = `
name: div
task: {name: addition, params: {digits: 2}}
model: {d_model: [8], n_layers: [1], n_heads: [2]}
seeds: [0, 1]
train: {steps: 60, batch_size: 16, optimizer: {lr: %s}}
checkpoints: {count: 8}
probe: {examples: 32, capture_examples: 12}
ensemble: 2
`

// divergedAt reads a cell's diverged.json and its metrics row "diverged", checks they agree and
// returns the step (-1 when the cell did not diverge, and then neither exists).
func divergedAt(t *testing.T, cellDir string) int64 {
	t.Helper()
	rows, err := readRows[data.MetricRow](filepath.Join(cellDir, data.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	row := int64(-1)
	for _, r := range rows {
		if r.Metric == "diverged" {
			if row >= 0 {
				t.Errorf("%s: two diverged rows", cellDir)
			}
			row = r.Step
			if data.Float(r.Value) != 1 || r.Split != "train" || r.Cell != filepath.Base(cellDir) {
				t.Errorf("%s: diverged row %+v", cellDir, r)
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(cellDir, "diverged.json"))
	if os.IsNotExist(err) {
		if row >= 0 {
			t.Errorf("%s: metrics say diverged at step %d, but there is no diverged.json", cellDir, row)
		}
		return -1
	}
	var dj struct {
		Cell string
		Step int64
	}
	if err := json.Unmarshal(raw, &dj); err != nil {
		t.Fatalf("%s/diverged.json: %v", cellDir, err)
	}
	if dj.Cell != filepath.Base(cellDir) || dj.Step != row {
		t.Errorf("%s: diverged.json %s, metrics row at step %d", cellDir, raw, row)
	}
	if _, err := os.Stat(filepath.Join(cellDir, "done.json")); err != nil {
		t.Errorf("%s: a diverged cell is still a finished cell: %v", cellDir, err)
	}
	return dj.Step
}

// analyzeAndReport runs `phaseprobe analyze` and, when this build has it, `phaseprobe report` on a
// run folder with diverged cells: both succeed, and show the diverged cells.
func analyzeAndReport(t *testing.T, run string, diverged []string) {
	t.Helper()
	code, _, stderr := runCLI(t, "analyze", run)
	if code != 0 {
		t.Fatalf("analyze: exit %d\n%s", code, stderr)
	}
	if want := fmt.Sprintf("diverged=%d", len(diverged)); !strings.Contains(stderr, want) {
		t.Errorf("analyze does not say %s:\n%s", want, stderr)
	}
	merged, err := readRows[data.MetricRow](filepath.Join(run, "analysis", data.AllMetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	marked := map[string]bool{}
	for _, r := range merged {
		if r.Metric == "diverged" {
			marked[r.Cell] = true
		}
	}
	for _, c := range diverged {
		if !marked[c] {
			t.Errorf("analysis/metrics.parquet does not mark %s as diverged", c)
		}
	}
	if len(marked) != len(diverged) {
		t.Errorf("analysis/metrics.parquet marks %v as diverged, want %v", marked, diverged)
	}
	code, _, stderr = runCLI(t, "report", run)
	if code == 2 && strings.Contains(stderr, `unknown command "report"`) {
		t.Log("this build has no report command")
		return
	}
	if code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	html, err := os.ReadFile(filepath.Join(run, "report", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range diverged {
		if !bytes.Contains(html, []byte(c)) {
			t.Errorf("report/index.html does not name the diverged cell %s", c)
		}
	}
}

// TestEveryCellDiverges: with lr 1e6 every cell's loss stops being finite; the sweep still
// succeeds, marks each cell (diverged.json and a metrics row "diverged" at the step), captures the
// checkpoints it saved, and analyze and report succeed and show the cells as diverged.
func TestEveryCellDiverges(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "div.yaml"), fmt.Sprintf(divergeSpec, "1e6"))
	code, _, stderr := runCLI(t, "sweep", spec, "--out", dir, "--jobs", "1")
	if code != 0 {
		t.Fatalf("sweep: exit %d\n%s", code, stderr)
	}
	run := filepath.Join(dir, "div")
	cells := []string{"addition-d8-L1-H2-s0", "addition-d8-L1-H2-s1"}
	for _, c := range cells {
		step := divergedAt(t, filepath.Join(run, "cells", c))
		if step < 1 || step > 60 {
			t.Errorf("%s: diverged at step %d, want a step of the run", c, step)
		}
		if !strings.Contains(stderr, "cell="+c) {
			t.Errorf("the sweep's log does not name the diverged cell %s:\n%s", c, stderr)
		}
	}
	analyzeAndReport(t, run, cells)
}

// poisonCheckpoint rewrites a checkpoint with every weight and optimizer value NaN, keeping its
// format valid (see train/checkpoint.go: magic, header length, JSON header, float32s, CRC-32).
func poisonCheckpoint(t *testing.T, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const magic = 8
	hl := int(binary.LittleEndian.Uint64(raw[magic:]))
	start, end := magic+8+hl, len(raw)-4
	nan := math.Float32bits(float32(math.NaN()))
	for off := start; off+4 <= end; off += 4 {
		binary.LittleEndian.PutUint32(raw[off:], nan)
	}
	binary.LittleEndian.PutUint32(raw[end:], crc32.ChecksumIEEE(raw[:end]))
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOneMemberDiverges: members of an ensemble are independent, so when one member's loss stops
// being finite the others train on. The sweep resumes an ensemble whose seed-1 checkpoint at step 5
// was poisoned with NaN weights: seed 1 is marked diverged at step 6, seed 0's tables equal those of
// the uninterrupted run, and analyze and report succeed.
func TestOneMemberDiverges(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "div.yaml"), fmt.Sprintf(divergeSpec, "0.003"))
	straightOut, out := filepath.Join(dir, "straight"), filepath.Join(dir, "poisoned")
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", straightOut, "--jobs", "1"); code != 0 {
		t.Fatalf("sweep: exit %d\n%s", code, stderr)
	}
	straight, run := filepath.Join(straightOut, "div"), filepath.Join(out, "div")
	for _, c := range []string{"addition-d8-L1-H2-s0", "addition-d8-L1-H2-s1"} {
		if step := divergedAt(t, filepath.Join(straight, "cells", c)); step >= 0 {
			t.Fatalf("%s diverged at step %d with lr 0.003", c, step)
		}
	}
	// The state of a run killed at step 5 (schedule 0 1 2 3 6 10 19 33 60): checkpoints up to step 3.
	cp := func(rel string) string {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join(straight, rel))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(run, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(run, rel), raw, 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(run, rel)
	}
	cp("sweep.yaml")
	ck, _ := filepath.Glob(filepath.Join(straight, "cells", "*", "checkpoints", "step-*.ckpt"))
	var last string
	for _, c := range ck {
		var st int
		fmt.Sscanf(filepath.Base(c), "step-%08d.ckpt", &st)
		if st <= 5 {
			rel, _ := filepath.Rel(straight, c)
			p := cp(rel)
			if strings.Contains(rel, "-s1") && p > last {
				last = p
			}
		}
	}
	for _, c := range []string{"addition-d8-L1-H2-s0", "addition-d8-L1-H2-s1"} {
		cp(filepath.Join("cells", c, "config.json"))
	}
	poisonCheckpoint(t, last)
	var lastStep int64
	fmt.Sscanf(filepath.Base(last), "step-%08d.ckpt", &lastStep)

	code, _, stderr := runCLI(t, "sweep", spec, "--out", out, "--jobs", "1")
	if code != 0 {
		t.Fatalf("sweep of the poisoned run: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "resuming") {
		t.Fatalf("the sweep did not resume from the checkpoints:\n%s", stderr)
	}
	if step := divergedAt(t, filepath.Join(run, "cells", "addition-d8-L1-H2-s1")); step != lastStep+1 {
		t.Errorf("seed 1 diverged at step %d, want %d (the first update from its NaN checkpoint)", step, lastStep+1)
	}
	s0 := filepath.Join("cells", "addition-d8-L1-H2-s0")
	if step := divergedAt(t, filepath.Join(run, s0)); step >= 0 {
		t.Errorf("seed 0 diverged at step %d; it should train on", step)
	}
	for _, f := range []string{data.MetricsFile, data.ActivationsFile, data.AttentionFile, data.OutputsFile, data.ProbeSetFile, data.LabelsFile} {
		a, _, err := readTableFile(filepath.Join(straight, s0, f))
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := readTableFile(filepath.Join(run, s0, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := compareTables(filepath.Join(s0, f), a, b); err != nil {
			t.Errorf("seed 0 is not the run it would have been without seed 1's divergence: %v", err)
		}
	}
	analyzeAndReport(t, run, []string{"addition-d8-L1-H2-s1"})
}
