package data

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// duckScript is tools/duckdb/query.mjs, relative to this package's folder.
const duckScript = "../tools/duckdb/query.mjs"

// duckQuery runs SQL statements in DuckDB through tools/duckdb/query.mjs and returns the rows of
// every statement. Without node or the npm package it skips, or fails when
// PHASEPROBE_REQUIRE_DUCKDB is set (make test sets it).
func duckQuery(t *testing.T, statements ...string) [][]map[string]any {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("../tools/duckdb/node_modules/@duckdb/node-api/package.json")
	}
	if err != nil {
		if os.Getenv("PHASEPROBE_REQUIRE_DUCKDB") != "" {
			t.Fatalf("DuckDB reader unavailable (%v): run make deps (node and npm install in tools/duckdb)", err)
		}
		t.Skipf("DuckDB reader unavailable (%v); make deps installs it", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{duckScript, "--all"}, statements...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("duckdb: %v\n%s\nSQL: %s", err, stderr.String(), strings.Join(statements, "\n"))
	}
	dec := json.NewDecoder(&stdout)
	dec.UseNumber()
	var results [][]map[string]any
	if err := dec.Decode(&results); err != nil {
		t.Fatalf("duckdb output: %v", err)
	}
	return results
}

// sqlString quotes s as an SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// duckTypes maps the Go field types of the row structs to the types DuckDB must read.
var duckTypes = map[reflect.Type]string{
	reflect.TypeFor[string]():    "VARCHAR",
	reflect.TypeFor[bool]():      "BOOLEAN",
	reflect.TypeFor[int32]():     "INTEGER",
	reflect.TypeFor[int64]():     "BIGINT",
	reflect.TypeFor[float32]():   "FLOAT",
	reflect.TypeFor[float64]():   "DOUBLE",
	reflect.TypeFor[*float32]():  "FLOAT",
	reflect.TypeFor[*float64]():  "DOUBLE",
	reflect.TypeFor[[]float32](): "FLOAT[]",
}

// duckColumn is a column of a row struct: its Parquet name, the DuckDB type it must read as, and
// the field's index path.
type duckColumn struct {
	name, duckType string
	index          []int
}

// duckColumns lists the columns of row type t in order, flattening embedded structs as
// parquet-go does.
func duckColumns(t reflect.Type) []duckColumn {
	var cols []duckColumn
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		dt, ok := duckTypes[f.Type]
		if !ok {
			panic("duckColumns: no DuckDB type for " + f.Type.String())
		}
		cols = append(cols, duckColumn{name: name, duckType: dt, index: f.Index})
	}
	return cols
}

// duckNorm brings a Go value or a decoded DuckDB JSON value to a common form: numbers become
// float64 (exact for the small integers and the float32 values used here), lists []any of
// float64.
func duckNorm(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return "bad number " + x.String()
		}
		return f
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case float32:
		return float64(x)
	case *float32:
		if x == nil {
			return nil
		}
		return float64(*x)
	case *float64:
		if x == nil {
			return nil
		}
		return *x
	case []float32:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = float64(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = duckNorm(e)
		}
		return out
	}
	return v
}

// duckCheckTable checks that DuckDB reads a table file written by CreateTable with the types
// of duckTypes and the values Go wrote, in file order. It returns the SQL and a check of its rows.
func duckCheckTable[T TableRow](path string, want []T) (string, func(t *testing.T, got []map[string]any)) {
	cols := duckColumns(reflect.TypeFor[T]())
	var sel []string
	for _, c := range cols {
		sel = append(sel, fmt.Sprintf("typeof(%s) AS \"typeof %s\"", c.name, c.name))
	}
	sql := fmt.Sprintf("SELECT %s, * FROM %s", strings.Join(sel, ", "), sqlString(path))
	return sql, func(t *testing.T, got []map[string]any) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: DuckDB reads %d rows, want %d", path, len(got), len(want))
			return
		}
		for i, row := range got {
			v := reflect.ValueOf(want[i])
			for _, c := range cols {
				if typ := row["typeof "+c.name]; typ != c.duckType {
					t.Errorf("%s: column %s reads as %v, want %s", filepath.Base(path), c.name, typ, c.duckType)
				}
				g, w := duckNorm(row[c.name]), duckNorm(v.FieldByIndex(c.index).Interface())
				if !reflect.DeepEqual(g, w) {
					t.Errorf("%s row %d: %s = %v, Go wrote %v", filepath.Base(path), i, c.name, g, w)
				}
			}
			if len(row) != 2*len(cols) {
				t.Errorf("%s: DuckDB sees %d columns, want %d", filepath.Base(path), len(row)/2, len(cols))
			}
		}
	}
}

// TestDuckDBReadsTables writes every table of two cells with CreateTable and reads them with
// DuckDB: column types, values, a glob over the cells with no joins, and the key-value metadata.
// Then DuckDB rewrites every file in its own Parquet dialect (optional columns, its own
// encodings) and ReadTable reads the rewrites back.
func TestDuckDBReadsTables(t *testing.T) {
	run := filepath.Join(t.TempDir(), "sw")
	c1, c2 := tblCoords("addition-d8-L2-H4-s1", 8, 1), tblCoords("addition-d16-L2-H4-s2", 16, 2)
	r1, r2 := tblKnownRows(c1), tblKnownRows(c2)
	config := `{"task":"addition","d_model":8,"note":"it's"}`
	dir1, dir2 := filepath.Join(run, "cells", c1.Cell), filepath.Join(run, "cells", c2.Cell)
	r1.writeAll(t, dir1, Meta{Config: []byte(config)}, RowGroupRows(5))
	r2.writeAll(t, dir2, Meta{Config: []byte(`{"d_model":16}`)})

	file := func(name string) string { return filepath.Join(dir1, name) }
	var sqls []string
	var checks []func(*testing.T, []map[string]any)
	add := func(sql string, check func(*testing.T, []map[string]any)) {
		sqls = append(sqls, sql)
		checks = append(checks, check)
	}
	add(duckCheckTable(file(MetricsFile), r1.metrics))
	add(duckCheckTable(file(ActivationsFile), r1.activations))
	add(duckCheckTable(file(AttentionFile), r1.attention))
	add(duckCheckTable(file(ProbeSetFile), r1.probeSet))
	add(duckCheckTable(file(LabelsFile), r1.labels))
	add(duckCheckTable(file(OutputsFile), r1.outputs))

	// One glob over both cells, no joins: the coordinates are on every row.
	glob := filepath.Join(run, "cells", "*", MetricsFile)
	add(fmt.Sprintf("SELECT task, d_model, seed, step, metric, value FROM %s ORDER BY d_model, step, metric", sqlString(glob)),
		func(t *testing.T, got []map[string]any) {
			var want []map[string]any
			for _, r := range append(slices.Clone(r1.metrics), r2.metrics...) {
				want = append(want, map[string]any{"task": r.Task, "d_model": float64(r.DModel), "seed": float64(r.Seed), "step": float64(r.Step), "metric": r.Metric, "value": duckNorm(r.Value)})
			}
			slices.SortStableFunc(want, func(a, b map[string]any) int {
				for _, k := range []string{"d_model", "step"} {
					if c := a[k].(float64) - b[k].(float64); c != 0 {
						return int(c)
					}
				}
				return strings.Compare(a["metric"].(string), b["metric"].(string))
			})
			for _, row := range got {
				for k, v := range row {
					row[k] = duckNorm(v)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("glob over cells:\n got %v\nwant %v", got, want)
			}
		})

	// Key-value metadata of every file.
	add(fmt.Sprintf("SELECT parse_filename(file_name) AS file, regexp_extract(file_name, '/cells/([^/]+)/', 1) AS cell, decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(%s) ORDER BY cell, file, key",
		sqlString(filepath.Join(run, "cells", "*", "*.parquet"))),
		func(t *testing.T, got []map[string]any) {
			var want []map[string]any
			for _, cell := range []string{c2.Cell, c1.Cell} { // "addition-d16…" sorts first
				cfg := config
				if cell == c2.Cell {
					cfg = `{"d_model":16}`
				}
				for _, f := range []string{ActivationsFile, AttentionFile, LabelsFile, MetricsFile, OutputsFile, ProbeSetFile} {
					for _, kv := range [][2]string{{KeyConfig, cfg}, {KeySchemaVersion, strconv.Itoa(SchemaVersion)}, {KeyTable, strings.TrimSuffix(f, ".parquet")}} {
						want = append(want, map[string]any{"file": f, "cell": cell, "key": kv[0], "value": kv[1]})
					}
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("key-value metadata:\n got %v\nwant %v", got, want)
			}
		})

	// DuckDB rewrites every table of cell 1 into its own Parquet.
	rewrites := filepath.Join(t.TempDir(), "rewrites")
	if err := os.MkdirAll(rewrites, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{MetricsFile, ActivationsFile, AttentionFile, ProbeSetFile, LabelsFile, OutputsFile} {
		add(fmt.Sprintf("COPY (SELECT * FROM %s) TO %s (FORMAT parquet)", sqlString(file(f)), sqlString(filepath.Join(rewrites, f))), nil)
	}

	results := duckQuery(t, sqls...)
	if len(results) != len(sqls) {
		t.Fatalf("%d results for %d statements", len(results), len(sqls))
	}
	for i, check := range checks {
		if check != nil {
			check(t, results[i])
		}
	}

	duckReadBack(t, filepath.Join(rewrites, MetricsFile), r1.metrics)
	duckReadBack(t, filepath.Join(rewrites, ActivationsFile), r1.activations)
	duckReadBack(t, filepath.Join(rewrites, AttentionFile), r1.attention)
	duckReadBack(t, filepath.Join(rewrites, ProbeSetFile), r1.probeSet)
	duckReadBack(t, filepath.Join(rewrites, LabelsFile), r1.labels)
	duckReadBack(t, filepath.Join(rewrites, OutputsFile), r1.outputs)
}

// duckReadBack checks that ReadTable reads a file written by another tool as want.
func duckReadBack[T TableRow](t *testing.T, path string, want []T) {
	t.Helper()
	got, meta, err := tblReadAll[T](t, path, BatchRows(2))
	if err != nil {
		t.Errorf("ReadTable of DuckDB's file: %v", err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s written by DuckDB reads as\n%+v\nwant\n%+v", filepath.Base(path), got, want)
	}
	if meta.SchemaVersion != 0 || meta.Table != "" || meta.Rows != int64(len(want)) {
		t.Errorf("%s written by DuckDB: meta %+v, want no phaseprobe keys and %d rows", filepath.Base(path), meta, len(want))
	}
}

// duckUpdate rewrites the DuckDB-written fixtures in testdata/.
var duckUpdate = flag.Bool("duckdb.update", false, "rewrite testdata/activations_duckdb.parquet and activations_pandas.parquet with DuckDB")

// Activations tables written by DuckDB alone: with the exact types, and with pandas' defaults
// (BIGINT, DOUBLE[], an extra column) and phaseprobe's metadata keys.
const (
	duckCoords = "'sw' AS sweep, 'ext' AS cell, 'induction' AS task, 3 AS d_model, 1 AS n_layers, 2 AS n_heads, 42::BIGINT AS seed, 500::BIGINT AS step, 'blocks.0.hook_resid_post' AS site"
	duckFrom   = " FROM range(4) t(e), range(5) u(p) ORDER BY e, p"
	duckExact  = "SELECT " + duckCoords + ", e::INTEGER AS example, p::INTEGER AS pos, [e + p / 4, -e, 0.5]::FLOAT[] AS vector" + duckFrom
	duckPandas = "SELECT " + duckCoords + ", 'torch' AS source, e::BIGINT AS example, p::BIGINT AS pos, [e + p / 4, -e, 0.5]::DOUBLE[] AS vector" + duckFrom
	duckKV     = "KV_METADATA {'phaseprobe.schema_version': '1', 'phaseprobe.table': 'activations'}"
)

// duckWantActivations returns the rows of duckExact and duckPandas.
func duckWantActivations() []ActivationRow {
	c := Coords{Sweep: "sw", Cell: "ext", Task: "induction", DModel: 3, NLayers: 1, NHeads: 2, Seed: 42}
	var want []ActivationRow
	for e := range int32(4) {
		for p := range int32(5) {
			want = append(want, ActivationRow{Coords: c, Step: 500, Site: "blocks.0.hook_resid_post", Example: e, Pos: p,
				Vector: []float32{float32(e) + float32(p)/4, -float32(e), 0.5}})
		}
	}
	return want
}

// duckCheckForeign reads the DuckDB-written activations files exact and pandas with ReadTable.
func duckCheckForeign(t *testing.T, exact, pandas string) {
	t.Helper()
	want := duckWantActivations()
	got, meta, err := tblReadAll[ActivationRow](t, exact)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DuckDB file with the exact types: %v\n got %+v\nwant %+v", err, got, want)
	}
	if meta.SchemaVersion != 0 || meta.Rows != 20 {
		t.Errorf("DuckDB file meta %+v, want no version and 20 rows", meta)
	}
	got, meta, err = tblReadAll[ActivationRow](t, pandas)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DuckDB file with pandas' types: %v\n got %+v\nwant %+v", err, got, want)
	}
	if meta.SchemaVersion != 1 || meta.Table != "activations" { // a version-1 activations file still reads
		t.Errorf("DuckDB file with KV_METADATA: meta %+v", meta)
	}
}

// TestTableReadsDuckDBFixtures reads the activations tables in testdata/ that DuckDB wrote
// (regenerate with go test ./data -run DuckDBWritten -duckdb.update). It needs no DuckDB.
func TestTableReadsDuckDBFixtures(t *testing.T) {
	duckCheckForeign(t, filepath.Join("testdata", "activations_duckdb.parquet"), filepath.Join("testdata", "activations_pandas.parquet"))
}

// TestDuckDBWrittenFilesReadByGo writes activations tables with DuckDB alone, as a researcher
// exporting PyTorch activations through DuckDB or pandas would, and reads them with ReadTable:
// the exact types; pandas' defaults (BIGINT, DOUBLE[], extra columns); and the files ReadTable
// must refuse.
func TestDuckDBWrittenFilesReadByGo(t *testing.T) {
	dir := t.TempDir()
	if *duckUpdate {
		dir = "testdata"
	}
	path := func(name string) string { return filepath.Join(dir, "activations_"+name+".parquet") }
	duckQuery(t,
		fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet)", duckExact, sqlString(path("duckdb"))),
		fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, %s)", duckPandas, sqlString(path("pandas")), duckKV),
		fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, KV_METADATA {'phaseprobe.schema_version': '5'})", duckExact, sqlString(path("v5"))),
		fmt.Sprintf("COPY (SELECT * REPLACE (example + 3000000000 AS example) FROM (%s)) TO %s (FORMAT parquet)", duckPandas, sqlString(path("overflow"))),
		fmt.Sprintf("COPY (SELECT * EXCLUDE (vector) FROM (%s)) TO %s (FORMAT parquet)", duckExact, sqlString(path("novector"))),
		fmt.Sprintf("COPY (SELECT * REPLACE (CASE WHEN example = 2 THEN NULL ELSE pos END AS pos) FROM (%s)) TO %s (FORMAT parquet)", duckExact, sqlString(path("nullpos"))),
	)
	duckCheckForeign(t, path("duckdb"), path("pandas"))
	refused := []struct{ name, want string }{
		{"v5", "schema version 5, this build reads versions up to 4"},
		{"overflow", "column example value 3000000000 does not fit int32"},
		{"novector", "column vector.list.element is missing"},
		{"nullpos", "column pos has a null value"},
	}
	for _, r := range refused {
		_, _, err := tblReadAll[ActivationRow](t, path(r.name))
		if err == nil || !strings.Contains(err.Error(), path(r.name)) || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%s: err = %v, want one naming the file and %q", r.name, err, r.want)
		}
		if *duckUpdate {
			os.Remove(path(r.name)) // only the two readable files are fixtures
		}
	}
}
