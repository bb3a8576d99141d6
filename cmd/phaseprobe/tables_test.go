package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// docsSpec is a small sweep laid out like `make demo`'s (examples/demo.yaml): named demo and written
// under demo-runs/, 2-digit addition, 2 layers and 4 heads, 600 steps with the demo's optimizer and
// captured sites, so the cell addition-d32-L2-H4-s0, the site blocks.1.hook_resid_post and the last
// step 600 that the documented queries name exist in it. It is smaller than the demo: one width
// (32, which learns in 600 steps) instead of three, 2 seeds instead of 8, 16 checkpoints instead
// of 32, 64 probe examples instead of 256.
const docsSpec = `
name: demo
task: {name: addition, params: {digits: 2}}
model: {d_model: [32], n_layers: [2], n_heads: [4]}
seeds: [0, 1]
train:
  steps: 600
  batch_size: 64
  optimizer: {lr: 0.003, warmup_steps: 30, schedule: cosine, weight_decay: 0.01}
checkpoints: {count: 16}
probe:
  examples: 64
  capture_examples: 16
  seed: 7
  sites: ["blocks.*.hook_resid_post", "blocks.*.attn.hook_pattern"]
ensemble: 2
`

// duckNode returns the node binary and the absolute path of tools/duckdb/query.mjs; without them
// the test skips, or fails when PHASEPROBE_REQUIRE_DUCKDB is set (make test sets it).
func duckNode(t *testing.T) (node, script string) {
	t.Helper()
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
	script, err = filepath.Abs("../../tools/duckdb/query.mjs")
	if err != nil {
		t.Fatal(err)
	}
	return node, script
}

// duckAll runs SQL text (one or more statements) in DuckDB with dir as the working folder and
// returns the rows of every statement; an error is returned, not fatal, so the caller can name the
// query that failed.
func duckAll(node, script, dir, sql string) ([][]map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, "--all", sql)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("duckdb: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	dec := json.NewDecoder(&stdout)
	dec.UseNumber()
	var res [][]map[string]any
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("duckdb output: %v", err)
	}
	return res, nil
}

// metricColumns are metrics.parquet's columns, in order.
var metricColumns = []string{"sweep", "cell", "task", "d_model", "n_layers", "n_heads", "seed", "step", "split", "site", "layer", "head", "position", "concept", "metric", "value"}

// docsColumns is, for every SQL statement in the docs (keyed by its first comment line), the
// columns its rows must have. A statement the map lacks, or an entry no statement has, fails the
// test, so a new or renamed query is added here.
var docsColumns = map[string][]string{
	"-- The curves on the sweep's own schedule only (without a zoom's checkpoints).":                            metricColumns,
	"-- The original schedule's rows, with the training-batch losses of every step.":                            metricColumns,
	"-- Task curves of a whole sweep: no joins, the coordinates are columns.":                                   {"task", "d_model", "seed", "step", "metric", "value"},
	"-- Per-position accuracy on the test split at the last step of every cell.":                                {"cell", "position", "value"},
	"-- Task and internal metrics together: analyze writes internal_metrics.parquet beside metrics.parquet.":    {"cell", "step", "split", "site", "metric", "value"},
	"-- The checkpoint steps a cell captured.":                                                                  {"step"},
	"-- Residual vectors of one site at the last step of one cell, with their carry labels.":                    {"example", "pos", "label", "vector"},
	"-- Mean attention of each head of each d_model 32 cell to the previous token.":                             {"cell", "layer", "head", "step", "prev_token"},
	"-- Every claim of the analysis, with its evidence; claims with q ≤ 0.05 first.":                            {"question", "d_model", "subject", "verdict", "p", "q", "effect", "effect_lo", "effect_hi", "robust", "reason"},
	"-- Curves with a calibrated transition, outside the warm-up: q IS NULL for curves not tested.":             {"cell", "kind", "site", "concept", "metric", "onset_step", "width_decades", "size", "q"},
	"-- Missing values are NULL: count(onset_step) counts the curves with an onset; min and avg skip the rest.": {"kind", "metric", "curves", "with_onset", "first_onset", "mean_width"},
	"-- A comparison with NULL is not true: only curves whose onset lies after step 100.":                       {"cell", "metric", "site", "concept", "onset_step"},
	"-- The mirage test: does each continuous scoring of the outputs jump with exact match?":                    {"d_model", "metric", "position", "reading", "seeds", "excess_frac", "excess_upper", "p", "q"},
	"-- The metadata of every table: schema version, table name, config.":                                       {"file_name", "key", "value"},
	"-- Your activations as a table (here a stand-in: 4 examples × 5 positions of 768-wide vectors).":           {"Count"},
	"-- Written as a phaseprobe activations table, with the model's coordinates on every row.":                  {"Count"},
}

// docsStatement is one SQL statement of a ```sql block of a Markdown file.
type docsStatement struct {
	file, key, sql string
}

var sqlBlock = regexp.MustCompile("(?s)```sql\n(.*?)```")

// docsSQL extracts the ```sql blocks of the Markdown files and splits them into statements: a
// statement ends at a line ending in ";" and is named by its first comment line.
func docsSQL(t *testing.T, files []string) [][]docsStatement {
	t.Helper()
	var blocks [][]docsStatement
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sqlBlock.FindAllStringSubmatch(string(raw), -1) {
			var block []docsStatement
			var lines []string
			for _, line := range strings.Split(m[1], "\n") {
				if strings.TrimSpace(line) == "" && len(lines) == 0 {
					continue
				}
				lines = append(lines, line)
				if strings.HasSuffix(strings.TrimSpace(line), ";") {
					st := docsStatement{file: f, sql: strings.Join(lines, "\n")}
					if strings.HasPrefix(lines[0], "--") {
						st.key = lines[0]
					}
					block = append(block, st)
					lines = nil
				}
			}
			if len(lines) > 0 {
				t.Errorf("%s: an SQL block ends without a ';': %q", f, strings.Join(lines, "\n"))
			}
			blocks = append(blocks, block)
		}
	}
	return blocks
}

// docsRun sweeps and analyzes docsSpec into dir/demo-runs/demo, and sweeps and analyzes
// divergeSpec with lr 1e6 (both cells diverge) into dir/div-runs/div.
func docsRun(t *testing.T, dir string) {
	t.Helper()
	t0 := time.Now()
	spec := writeFile(t, filepath.Join(dir, "demo.yaml"), docsSpec)
	if code, _, stderr := runCLI(t, "sweep", spec, "--out", filepath.Join(dir, "demo-runs"), "--jobs", "1"); code != 0 {
		t.Fatalf("sweep: exit %d\n%s", code, stderr)
	}
	t1 := time.Now()
	if code, _, stderr := runCLI(t, "analyze", filepath.Join(dir, "demo-runs", "demo")); code != 0 {
		t.Fatalf("analyze: exit %d\n%s", code, stderr)
	}
	t2 := time.Now()
	div := writeFile(t, filepath.Join(dir, "div.yaml"), fmt.Sprintf(divergeSpec, "1e6"))
	if code, _, stderr := runCLI(t, "sweep", div, "--out", filepath.Join(dir, "div-runs"), "--jobs", "1"); code != 0 {
		t.Fatalf("diverging sweep: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "analyze", filepath.Join(dir, "div-runs", "div")); code != 0 {
		t.Fatalf("analyze of the diverging sweep: exit %d\n%s", code, stderr)
	}
	t.Logf("demo-like sweep %v, its analysis %v, diverging sweep and analysis %v", t1.Sub(t0).Round(time.Millisecond),
		t2.Sub(t1).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond))
}

// TestTablesAsDocumented runs a small sweep laid out like `make demo`'s and one whose cells
// diverge, analyzes both, and reads every table with DuckDB.
//
// DocsQueries: every ```sql block of README.md and docs/*.md runs as written, in the folder that
// holds demo-runs/demo (so its paths resolve as they do in the repository after `make demo`); the
// test makes no substitution in the SQL. The differences from the demo (docsSpec: fewer widths,
// seeds and checkpoints) only change how many rows come back: every statement must return at least
// one row, with exactly the columns of docsColumns. The DuckDB export of docs/tables.md must write
// an activations table that data.ReadTable reads.
//
// NullNotNaN: in both sweeps, no DOUBLE or FLOAT column of any table holds NaN or ±Inf
// (count(*) FILTER (WHERE isnan(col) OR isinf(col)) = 0; DESIGN.md: "Missing values are NULL,
// never NaN"), and avg and max of every such column are a number or NULL, never NaN. The columns
// that must be missing somewhere in these sweeps (a diverged checkpoint's loss and logprob_target,
// a smooth curve's onset, the gaps and p-values that apply to some rows only) hold at least one
// NULL, so the aggregates are taken over columns with missing values.
func TestTablesAsDocumented(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	node, script := duckNode(t)
	dir := t.TempDir()
	docsRun(t, dir)

	t.Run("DocsQueries", func(t *testing.T) {
		files, _ := filepath.Glob("../../docs/*.md")
		files = append(files, "../../README.md")
		blocks := docsSQL(t, files)
		seen := map[string]bool{}
		for _, block := range blocks {
			if len(block) == 0 {
				continue
			}
			var sql []string
			for _, st := range block {
				sql = append(sql, st.sql)
			}
			res, err := duckAll(node, script, dir, strings.Join(sql, "\n"))
			if err != nil {
				t.Errorf("%s: the SQL block starting %q does not run: %v", block[0].file, block[0].key, err)
				continue
			}
			if len(res) != len(block) {
				t.Errorf("%s: %d results for the %d statements of the block starting %q", block[0].file, len(res), len(block), block[0].key)
				continue
			}
			for i, st := range block {
				want, ok := docsColumns[st.key]
				if !ok {
					t.Errorf("%s: statement %q has no entry in docsColumns (and needs a first comment line naming it)", st.file, st.key)
					continue
				}
				seen[st.key] = true
				if len(res[i]) == 0 {
					t.Errorf("%s: %q returns no rows on the demo-like sweep:\n%s", st.file, st.key, st.sql)
					continue
				}
				var got []string
				for k := range res[i][0] {
					got = append(got, k)
				}
				slices.Sort(got)
				w := slices.Sorted(slices.Values(want))
				if !slices.Equal(got, w) {
					t.Errorf("%s: %q returns columns %v, want %v", st.file, st.key, got, w)
				}
			}
		}
		for k := range docsColumns {
			if !seen[k] {
				t.Errorf("docsColumns has %q, which no statement of the docs has", k)
			}
		}
		// The export of docs/tables.md wrote activations.parquet into the working folder.
		var rows []data.ActivationRow
		_, err := data.ReadTable(filepath.Join(dir, "activations.parquet"), func(b []data.ActivationRow) error {
			rows = append(rows, b...)
			return nil
		})
		if err != nil {
			t.Fatalf("the documented DuckDB export: %v", err)
		}
		if len(rows) != 20 || rows[0].Cell != "gpt2-small" || len(rows[0].Vector) != 768 || rows[19].Example != 3 || rows[19].Pos != 4 {
			t.Errorf("the documented DuckDB export reads as %d rows, first %s with %d values; want 20 rows of 768 values of gpt2-small", len(rows), rows[0].Cell, len(rows[0].Vector))
		}
	})

	t.Run("NullNotNaN", func(t *testing.T) {
		tables := []string{data.MetricsFile, data.InternalMetricsFile, data.ActivationsFile, data.AttentionFile,
			data.OutputsFile, data.ProbeSetFile, data.LabelsFile}
		analysis := []string{data.AllMetricsFile, data.TransitionsFile, data.JumpsFile, data.MirageFile, data.VerdictsFile}
		// Columns that must hold NULLs in one of the two sweeps: table glob suffix -> column.
		mustNull := map[string]bool{
			"div/cells/*/metrics.parquet value": true, "div/cells/*/outputs.parquet logprob_target": true,
			"div/analysis/metrics.parquet value": true, "demo/analysis/transitions.parquet onset_step": true,
			"demo/analysis/transitions.parquet p": true, "demo/analysis/mirage.parquet independence_gap": true,
			"demo/analysis/mirage.parquet p": true, "demo/analysis/verdicts.parquet p": true,
		}
		var globs []string
		for _, run := range []string{"demo-runs/demo", "div-runs/div"} {
			for _, f := range tables {
				globs = append(globs, run+"/cells/*/"+f)
			}
			for _, f := range analysis {
				globs = append(globs, run+"/analysis/"+f)
			}
		}
		var describe []string
		for _, g := range globs {
			if m, _ := filepath.Glob(filepath.Join(dir, g)); len(m) == 0 {
				t.Fatalf("%s: no such table", g)
			}
			describe = append(describe, fmt.Sprintf("DESCRIBE SELECT * FROM '%s';", g))
		}
		desc, err := duckAll(node, script, dir, strings.Join(describe, "\n"))
		if err != nil {
			t.Fatal(err)
		}
		var sel, keys []string
		for i, g := range globs {
			for _, c := range desc[i] {
				typ, name := c["column_type"].(string), c["column_name"].(string)
				if typ != "DOUBLE" && typ != "FLOAT" {
					continue
				}
				keys = append(keys, strings.TrimPrefix(strings.TrimPrefix(g, "demo-runs/"), "div-runs/")+" "+name)
				sel = append(sel, fmt.Sprintf("SELECT count(*) FILTER (WHERE isnan(%[1]s) OR isinf(%[1]s)) AS bad, "+
					"count(*) AS n, count(%[1]s) AS present, isnan(avg(%[1]s)) AS avg_nan, isnan(max(%[1]s)) AS max_nan FROM '%[2]s';", name, g))
			}
		}
		res, err := duckAll(node, script, dir, strings.Join(sel, "\n"))
		if err != nil {
			t.Fatal(err)
		}
		for i, key := range keys {
			row := res[i][0]
			if bad := fmt.Sprint(row["bad"]); bad != "0" {
				t.Errorf("%s: %s of %v rows are NaN or ±Inf", key, bad, row["n"])
			}
			if row["avg_nan"] == true || row["max_nan"] == true {
				t.Errorf("%s: avg or max is NaN", key)
			}
			if mustNull[key] {
				if fmt.Sprint(row["present"]) == fmt.Sprint(row["n"]) {
					t.Errorf("%s: no NULL in %v rows, but this sweep has rows where it is missing", key, row["n"])
				}
				delete(mustNull, key)
			}
		}
		for k := range mustNull {
			t.Errorf("%s: not a DOUBLE or FLOAT column of these sweeps", k)
		}
		t.Logf("%d float columns of %d tables checked", len(keys), len(globs))
	})
}
