package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadSpec is a sweep of 32 tiny cells (d_model 8, 1 layer, 6 steps, 3 checkpoints).
const loadSpec = `name: load
task: {name: addition, params: {digits: 2}}
model: {d_model: [8], n_layers: [1], n_heads: [2]}
seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31]
train: {steps: 6, batch_size: 8, optimizer: {lr: 0.003}}
checkpoints: {count: 3}
probe: {examples: 16, capture_examples: 8}
`

// TestLoadReaderNeverSeesPartialFiles (issue 12, load test): `sweep --jobs 2` and then
// `analyze --jobs 2` (the run folder's lock lets only one writer in at a time) write a run
// folder of 32 cells while another process, DuckDB, reads every Parquet file there in a loop.
// Tables are written to temporaries and renamed, so every file a reader finds under its table
// name must be a complete Parquet file: a single failed read fails the test. Both writers must
// exit 0. The reader loop is bounded (at most 400 passes) and stops when the writers are done.
func TestLoadReaderNeverSeesPartialFiles(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("../../tools/duckdb/node_modules/@duckdb/node-api/package.json")
	}
	if err != nil {
		if os.Getenv("PHASEPROBE_REQUIRE_DUCKDB") != "" {
			t.Fatalf("DuckDB reader unavailable (%v): run make deps", err)
		}
		t.Skipf("DuckDB reader unavailable (%v); make deps installs it", err)
	}
	dir := t.TempDir()
	spec := writeFile(t, filepath.Join(dir, "load.yaml"), loadSpec)
	runs := filepath.Join(dir, "runs")
	run := filepath.Join(runs, "load")

	done := make(chan struct{})
	var wg sync.WaitGroup
	var passes, reads int
	var readErrs []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for pass := 0; pass < 400; pass++ {
			select {
			case <-done:
				return
			default:
			}
			cells, _ := filepath.Glob(filepath.Join(run, "cells", "*", "*.parquet"))
			analysis, _ := filepath.Glob(filepath.Join(run, "analysis", "*.parquet"))
			files := append(cells, analysis...)
			if len(files) == 0 {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			var sql []string
			for _, f := range files {
				sql = append(sql, "SELECT count(*) AS n FROM read_parquet('"+strings.ReplaceAll(f, "'", "''")+"')")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := exec.CommandContext(ctx, node, append([]string{"../../tools/duckdb/query.mjs", "--all"}, sql...)...).CombinedOutput()
			cancel()
			passes++
			reads += len(files)
			if err != nil {
				readErrs = append(readErrs, err.Error()+": "+string(out))
			}
		}
	}()
	code, _, stderr := runCLI(t, "sweep", spec, "--out", runs, "--jobs", "2")
	if code != 0 {
		t.Errorf("sweep --jobs 2: exit %d\n%s", code, stderr)
	}
	acode, _, astderr := runCLI(t, "analyze", run, "--jobs", "2")
	if acode != 0 {
		t.Errorf("analyze --jobs 2: exit %d\n%s", acode, astderr)
	}
	close(done)
	wg.Wait()
	cells, _ := filepath.Glob(filepath.Join(run, "cells", "*"))
	analysis, _ := filepath.Glob(filepath.Join(run, "analysis", "*.parquet"))
	t.Logf("%d cells, %d analysis tables; DuckDB made %d passes, %d file reads", len(cells), len(analysis), passes, reads)
	if len(cells) < 30 || len(analysis) == 0 {
		t.Errorf("run folder has %d cells and %d analysis tables, want 30+ and some", len(cells), len(analysis))
	}
	if passes < 3 {
		t.Errorf("DuckDB read the folder only %d times while the writers ran; the test shows nothing", passes)
	}
	for _, e := range readErrs {
		t.Errorf("DuckDB read a partial or corrupt file: %s", e)
	}
}
