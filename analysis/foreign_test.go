package analysis

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// duckRun runs SQL statements in DuckDB (tools/duckdb/query.mjs). Without node or the npm package
// it skips, or fails when PHASEPROBE_REQUIRE_DUCKDB is set (make test sets it).
func duckRun(t *testing.T, statements ...string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("../tools/duckdb/node_modules/@duckdb/node-api/package.json")
	}
	if err != nil {
		if os.Getenv("PHASEPROBE_REQUIRE_DUCKDB") != "" {
			t.Fatalf("DuckDB unavailable (%v): run make deps", err)
		}
		t.Skipf("DuckDB unavailable (%v); make deps installs it", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"../tools/duckdb/query.mjs", "--all"}, statements...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("duckdb: %v\n%s", err, stderr.String())
	}
}

// TestAnalyzeFilesWrittenByAnotherTool writes a whole cell in phaseprobe's documented schema with
// DuckDB — as a researcher would export a PyTorch model's activations — and analyses it.
//
// The cell: 40 examples × 4 positions; concept "parity" (label = example mod 2) at position 3.
// At step 0 the activation is hashed noise with no label information; from step 1 on its first
// coordinate is 2·label + noise in [−0.15, 0.15), so a linear probe separates the classes perfectly.
// Layer 0 has a pure previous-token head (head 0) and a uniform causal head (head 1).
// Expected values (closed forms):
//   - probe accuracy at step 100: 1 (linearly separable with margin);
//   - prev-token score: head 0 = 1; head 1 = mean over q = 1..3 of 1/(q+1) = (1/2 + 1/3 + 1/4)/3;
//   - entropy of head 0 = 0; of head 1 = mean over q = 1..3 of ln(q+1) = (ln 2 + ln 3 + ln 4)/3.
func TestAnalyzeFilesWrittenByAnotherTool(t *testing.T) {
	run := t.TempDir()
	cell := filepath.Join(run, "cells", "foreign-cell")
	if err := os.MkdirAll(cell, 0o755); err != nil {
		t.Fatal(err)
	}
	q := func(name string) string { return "'" + filepath.Join(cell, name) + "'" }
	coords := `'foreign' AS sweep, 'foreign-cell' AS cell, 'toy' AS task, 8::INTEGER AS d_model, 1::INTEGER AS n_layers, 2::INTEGER AS n_heads, 0::BIGINT AS seed`
	steps := `(SELECT unnest([0, 1, 3, 10, 30, 100])::BIGINT AS step)`
	duckRun(t,
		// n(e, s, j): deterministic noise in [-0.5, 0.5), uncorrelated with the example's parity.
		`CREATE MACRO n(e, s, j) AS (hash(e * 1000003 + s * 1009 + j) % 10000) / 10000.0 - 0.5`,
		`COPY (SELECT `+coords+`, e::INTEGER AS example, p::INTEGER AS pos, ((e*7+p*3)%5)::INTEGER AS token,
			((e*7+p*3+3)%5)::INTEGER AS target, p = 3 AS answer FROM range(40) a(e), range(4) b(p) ORDER BY e, p) TO `+q(data.ProbeSetFile)+` (FORMAT parquet)`,
		`COPY (SELECT `+coords+`, e::INTEGER AS example, 3::INTEGER AS pos, 'parity' AS concept, (e%2)::INTEGER AS label
			FROM range(40) a(e)) TO `+q(data.LabelsFile)+` (FORMAT parquet)`,
		`COPY (SELECT `+coords+`, step, 'test' AS split, '' AS site, -1::INTEGER AS layer, -1::INTEGER AS head, -1::INTEGER AS position,
			'' AS concept, 'exact_match' AS metric, step/100.0 AS value FROM `+steps+`) TO `+q(data.MetricsFile)+` (FORMAT parquet)`,
		`COPY (SELECT `+coords+`, step, 'blocks.0.hook_resid_post' AS site, e::INTEGER AS example, 3::INTEGER AS pos,
			[CASE WHEN step > 0 THEN 2*(e%2) ELSE 0 END + 0.3*n(e, step, 0), n(e, 0, 1), n(e, 0, 2), n(e, 0, 3),
			 n(e, 0, 4), n(e, 0, 5), n(e, step, 6), n(e, 0, 7)]::FLOAT[] AS vector
			FROM `+steps+`, range(40) a(e) ORDER BY step, e) TO `+q(data.ActivationsFile)+` (FORMAT parquet)`,
		`COPY (SELECT `+coords+`, step, 0::INTEGER AS layer, h::INTEGER AS head, e::INTEGER AS example, qp::INTEGER AS query_pos,
			list_transform([0, 1, 2, 3], k -> CASE WHEN h = 0 THEN (CASE WHEN k = greatest(qp-1, 0) THEN 1.0 ELSE 0.0 END)
			                                      ELSE (CASE WHEN k <= qp THEN 1.0/(qp+1) ELSE 0.0 END) END)::FLOAT[] AS pattern
			FROM `+steps+`, range(2) c(h), range(40) a(e), range(4) d(qp) ORDER BY step, h, e, qp) TO `+q(data.AttentionFile)+` (FORMAT parquet)`,
	)
	sum, err := Analyze(context.Background(), run, Options{ProbeFolds: 4})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Cells != 1 {
		t.Fatalf("analysed %d cells, want 1", sum.Cells)
	}
	got := map[string]float64{}
	if _, err := data.ReadTable(filepath.Join(cell, data.InternalMetricsFile), func(rows []data.MetricRow) error {
		for _, r := range rows {
			key := r.Metric
			if r.Head >= 0 {
				key += "/h" + string(rune('0'+r.Head))
			}
			if r.Concept != "" {
				key += "/" + r.Concept
			}
			if r.Step == 100 && r.Position < 0 {
				got[key] = data.Float(r.Value)
			}
			if r.Step == 0 && r.Metric == "probe_accuracy" {
				got["step0_probe"] = data.Float(r.Value)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key      string
		val, tol float64
	}{
		{"probe_accuracy/parity", 1, 1e-12},
		{"prev_token_score/h0", 1, 1e-6},
		{"prev_token_score/h1", (1.0/2 + 1.0/3 + 1.0/4) / 3, 1e-6},
		{"entropy/h0", 0, 1e-6},
		{"entropy/h1", (math.Log(2) + math.Log(3) + math.Log(4)) / 3, 1e-6},
	}
	for _, w := range want {
		v, ok := got[w.key]
		if !ok || math.Abs(v-w.val) > w.tol {
			t.Errorf("%s = %v (present %v), want %v", w.key, v, ok, w.val)
		}
	}
	// Without label information the probe is near chance (binomial sd over 40 rows ≈ 0.08).
	if v := got["step0_probe"]; v > 0.75 {
		t.Errorf("probe accuracy at step 0 = %v: expected near chance (0.5)", v)
	}
	for _, f := range []string{data.AllMetricsFile, data.TransitionsFile, data.JumpsFile, data.MirageFile, data.VerdictsFile} {
		if _, err := data.ReadMeta(filepath.Join(run, "analysis", f)); err != nil {
			t.Errorf("analysis/%s: %v", f, err)
		}
	}
	// A rerun reuses the cell's internal metrics; other options recompute them.
	if again, err := Analyze(context.Background(), run, Options{ProbeFolds: 4}); err != nil || again.Skipped != 1 {
		t.Errorf("rerun with the same options: skipped %d cells (err %v), want 1", again.Skipped, err)
	}
	if other, err := Analyze(context.Background(), run, Options{ProbeFolds: 5}); err != nil || other.Skipped != 0 {
		t.Errorf("rerun with other options: skipped %d cells (err %v), want 0", other.Skipped, err)
	}
	// Bad input names the cell, step and site.
	_, err = Analyze(context.Background(), run, Options{ProbeFolds: 4, Sites: []string{"blocks.3.hook_resid_pre"}})
	if err == nil || !strings.Contains(err.Error(), "foreign-cell") || !strings.Contains(err.Error(), "blocks.3.hook_resid_pre") || !strings.Contains(err.Error(), "step 0") {
		t.Errorf("missing site: error %v, want one naming the cell, step and site", err)
	}
	_, err = Analyze(context.Background(), run, Options{ProbeFolds: 50})
	if err == nil || !strings.Contains(err.Error(), "foreign-cell") || !strings.Contains(err.Error(), "50 folds") || !strings.Contains(err.Error(), "blocks.0.hook_resid_post") {
		t.Errorf("too few examples for the folds: error %v, want one naming the cell, site and folds", err)
	}
}
