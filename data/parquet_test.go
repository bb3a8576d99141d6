package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// tblCoords returns the coordinates of a test cell.
func tblCoords(cell string, dModel int32, seed int64) Coords {
	return Coords{Sweep: "sw", Cell: cell, Task: "addition", DModel: dModel, NLayers: 2, NHeads: 4, Seed: seed}
}

// tblRows holds a few known rows of every table for one cell, with vectors of non-trivial floats
// (negative, subnormal-free, not exactly representable in decimal).
type tblRows struct {
	metrics     []MetricRow
	activations []ActivationRow
	attention   []AttentionRow
	probeSet    []ProbeSetRow
	labels      []LabelRow
	outputs     []OutputRow
}

func tblKnownRows(c Coords) tblRows {
	var r tblRows
	for _, step := range []int64{0, 10, 1000} {
		r.metrics = append(r.metrics,
			MetricRow{Coords: c, Step: step, Split: "test", Layer: NA, Head: NA, Position: NA, Metric: "exact_match", Value: F(float64(step) / 1000)},
			MetricRow{Coords: c, Step: step, Split: "probe", Layer: NA, Head: NA, Position: 3, Metric: "position_accuracy", Value: F(0.25)},
			MetricRow{Coords: c, Step: step, Split: "probe", Site: "blocks.1.hook_resid_post", Layer: 1, Head: NA, Position: NA, Concept: "carry", Metric: "probe_accuracy", Value: F(1.0 / 3)},
			MetricRow{Coords: c, Step: step, Split: "probe", Layer: 0, Head: 2, Position: NA, Metric: "prev_token_score", Value: F(-0.5)},
			MetricRow{Coords: c, Step: step, Split: "test", Layer: NA, Head: NA, Position: NA, Metric: "loss", Value: nil}, // NULL: not finite
		)
	}
	for ex := range int32(2) {
		for pos := range int32(3) {
			v := make([]float32, c.DModel)
			for i := range v {
				v[i] = float32(ex+1)*0.1 - float32(pos)*1.7 + float32(i)/3
			}
			r.activations = append(r.activations, ActivationRow{Coords: c, Step: 10, Site: "blocks.0.hook_resid_post", Example: ex, Pos: pos, Vector: v})
			r.probeSet = append(r.probeSet, ProbeSetRow{Coords: c, Example: ex, Pos: pos, Token: 3*ex + pos, Target: 3*ex + pos + 1, Answer: pos == 2})
			if pos > 0 {
				r.labels = append(r.labels, LabelRow{Coords: c, Example: ex, Pos: pos, Concept: "carry", Label: (ex + pos) % 2})
			}
			r.labels = append(r.labels, LabelRow{Coords: c, Example: ex, Pos: pos, Concept: "answer_digit", Label: pos + 5})
		}
		for head := range int32(2) {
			for q := range int32(3) {
				p := make([]float32, 3)
				for k := range q + 1 {
					p[k] = 1 / float32(q+1)
				}
				r.attention = append(r.attention, AttentionRow{Coords: c, Step: 10, Layer: 1, Head: head, Example: ex, QueryPos: q, Pattern: p})
			}
		}
		r.outputs = append(r.outputs, OutputRow{Coords: c, Step: 10, Example: ex, Pos: 2, Target: 7, Predicted: 7 - ex, LogprobTarget: F32(-0.125 * float32(ex+1)), Probs: []float32{0.1, 0.2, 0.3, 0.4 - float32(ex)/10}})
	}
	r.outputs = append(r.outputs, OutputRow{Coords: c, Step: 20, Example: 0, Pos: 2, Target: 7, Predicted: 0, LogprobTarget: nil, Probs: []float32{0.25, 0.25, 0.25, 0.25}}) // NULL: not finite
	return r
}

// writeAll writes every table of r into dir.
func (r tblRows) writeAll(t testing.TB, dir string, meta Meta, opts ...WriteOption) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tblWrite(t, filepath.Join(dir, MetricsFile), meta, r.metrics, opts...)
	tblWrite(t, filepath.Join(dir, ActivationsFile), meta, r.activations, opts...)
	tblWrite(t, filepath.Join(dir, AttentionFile), meta, r.attention, opts...)
	tblWrite(t, filepath.Join(dir, ProbeSetFile), meta, r.probeSet, opts...)
	tblWrite(t, filepath.Join(dir, LabelsFile), meta, r.labels, opts...)
	tblWrite(t, filepath.Join(dir, OutputsFile), meta, r.outputs, opts...)
}

func tblWrite[T TableRow](t testing.TB, path string, meta Meta, rows []T, opts ...WriteOption) {
	t.Helper()
	w, err := CreateTable[T](path, meta, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Write(rows...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// tblReadAll reads a whole table, keeping the rows of every batch as ReadTable allows: the
// batch slice is reused, the vectors in it are not.
func tblReadAll[T TableRow](t testing.TB, path string, opts ...ReadOption) ([]T, Meta, error) {
	t.Helper()
	var all []T
	meta, err := ReadTable(path, func(rows []T) error {
		all = append(all, rows...)
		return nil
	}, opts...)
	return all, meta, err
}

func tblRoundTrip[T TableRow](t *testing.T, dir string, rows []T) {
	t.Helper()
	var zero T
	path := filepath.Join(dir, zero.TableName()+".parquet")
	config := []byte(`{"task":"addition","d_model":8}`)
	// Row groups of 4 rows and batches of 3 make the reader cross row group boundaries.
	tblWrite(t, path, Meta{Config: config, SchemaVersion: 99, Table: "ignored", Rows: -1}, rows, RowGroupRows(4))
	got, meta, err := tblReadAll[T](t, path, BatchRows(3))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("%s: read %d rows %+v\nwant %d rows %+v", zero.TableName(), len(got), got, len(rows), rows)
	}
	want := Meta{SchemaVersion: SchemaVersion, Table: zero.TableName(), Config: config, Rows: int64(len(rows))}
	if !reflect.DeepEqual(meta, want) {
		t.Errorf("%s: meta %+v, want %+v", zero.TableName(), meta, want)
	}
	if m, err := ReadMeta(path); err != nil || !reflect.DeepEqual(m, want) {
		t.Errorf("%s: ReadMeta = %+v, %v; want %+v", zero.TableName(), m, err, want)
	}
	pf := tblOpen(t, path)
	if n, want := len(pf.RowGroups()), (len(rows)+3)/4; n != want {
		t.Errorf("%s: %d row groups, want %d of at most 4 rows", zero.TableName(), n, want)
	}
}

func tblOpen(t testing.TB, path string) *parquet.File {
	t.Helper()
	f, pf, err := openTable(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return pf
}

func TestTableRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := tblKnownRows(tblCoords("addition-d8-L2-H4-s1", 8, 1))
	tblRoundTrip(t, dir, r.metrics)
	tblRoundTrip(t, dir, r.activations)
	tblRoundTrip(t, dir, r.attention)
	tblRoundTrip(t, dir, r.probeSet)
	tblRoundTrip(t, dir, r.labels)
	tblRoundTrip(t, dir, r.outputs)
	// Nothing but the six tables is left behind.
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{ActivationsFile, AttentionFile, LabelsFile, MetricsFile, OutputsFile, ProbeSetFile}
	if !slices.Equal(names, want) {
		t.Errorf("folder holds %v, want %v", names, want)
	}
}

func TestTableEmptyAndNullConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), MetricsFile)
	tblWrite[MetricRow](t, path, Meta{}, nil)
	got, meta, err := tblReadAll[MetricRow](t, path)
	if err != nil || len(got) != 0 || meta.Rows != 0 || string(meta.Config) != "null" {
		t.Errorf("empty table: %d rows, meta %+v, err %v; want 0 rows, config null", len(got), meta, err)
	}
	if _, err := CreateTable[MetricRow](path, Meta{Config: []byte("{not json")}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("invalid config JSON: err = %v, want an error naming %s", err, path)
	}
}

// TestTableFileColumns pins the on-disk column order, types and encodings that
// docs/tables.md and the outside readers rely on.
func TestTableFileColumns(t *testing.T) {
	dir := t.TempDir()
	r := tblKnownRows(tblCoords("c", 4, 0))
	r.writeAll(t, dir, Meta{})
	pf := tblOpen(t, filepath.Join(dir, ActivationsFile))
	var got []string
	for _, cc := range pf.Metadata().RowGroups[0].Columns {
		md := cc.MetaData
		var encs []string
		for _, e := range md.Encoding {
			encs = append(encs, e.String())
		}
		got = append(got, fmt.Sprintf("%s %s %s %s", strings.Join(md.PathInSchema, "."), md.Type, md.Codec, strings.Join(encs, "+")))
	}
	want := []string{
		"sweep BYTE_ARRAY ZSTD PLAIN+RLE_DICTIONARY",
		"cell BYTE_ARRAY ZSTD PLAIN+RLE_DICTIONARY",
		"task BYTE_ARRAY ZSTD PLAIN+RLE_DICTIONARY",
		"d_model INT32 ZSTD PLAIN+RLE_DICTIONARY",
		"n_layers INT32 ZSTD PLAIN+RLE_DICTIONARY",
		"n_heads INT32 ZSTD PLAIN+RLE_DICTIONARY",
		"seed INT64 ZSTD PLAIN+RLE_DICTIONARY",
		"step INT64 ZSTD PLAIN",
		"site BYTE_ARRAY ZSTD PLAIN+RLE_DICTIONARY",
		"example INT32 ZSTD PLAIN",
		"pos INT32 ZSTD PLAIN",
		"vector.list.element FLOAT SNAPPY RLE+BYTE_STREAM_SPLIT",
	}
	if !slices.Equal(got, want) {
		t.Errorf("activations.parquet columns:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTableKillSafety(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ActivationsFile)
	rows := tblKnownRows(tblCoords("c", 4, 0)).activations

	// A writer that is never closed (the process was killed) leaves only its temporary file.
	w, err := CreateTable[ActivationRow](path, Meta{}, RowGroupRows(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows...); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("final path exists before Close: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ActivationsFile+".tmp-*")); len(m) != 1 {
		t.Fatalf("temporary files %v, want one", m)
	}
	// Abort removes it, and is idempotent.
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("folder not empty after Abort: %v", entries)
	}
	if err := w.Write(rows...); err == nil {
		t.Error("Write after Abort succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after Abort succeeded")
	}

	// An aborted rewrite leaves the previous complete file in place.
	tblWrite(t, path, Meta{}, rows[:2])
	w, err = CreateTable[ActivationRow](path, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows...); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if got, _, err := tblReadAll[ActivationRow](t, path); err != nil || len(got) != 2 {
		t.Errorf("after an aborted rewrite: %d rows, %v; want the 2 rows of the previous file", len(got), err)
	}
	// Abort after Close is a no-op, so `defer w.Abort()` is safe.
	w, _ = CreateTable[ActivationRow](path, Meta{})
	w.Write(rows...)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got, _, err := tblReadAll[ActivationRow](t, path); err != nil || len(got) != len(rows) {
		t.Errorf("after Close then Abort: %d rows, %v; want %d", len(got), err, len(rows))
	}
}

func TestTableCloseAfterWriteError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ActivationsFile)
	rows := tblKnownRows(tblCoords("c", 64, 0)).activations

	// The file goes away under the writer; the write buffer hides it until it fills.
	w, err := CreateTable[ActivationRow](path, Meta{}, RowGroupRows(1))
	if err != nil {
		t.Fatal(err)
	}
	w.f.f.Close() // the AtomicFile's os.File
	var werr error
	for i := 0; i < 1000 && werr == nil; i++ {
		werr = w.Write(rows...)
	}
	if werr == nil || !strings.Contains(werr.Error(), path) {
		t.Fatalf("Write on a closed file: err = %v, want an error naming %s", werr, path)
	}
	if err := w.Write(rows...); err != werr {
		t.Errorf("second Write: %v, want the first error again", err)
	}
	if err := w.Close(); err != werr {
		t.Errorf("Close after a failed Write = %v, want the Write's error", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("folder holds %v after a failed write, want nothing", entries)
	}

	// The failure only shows when Close writes the footer.
	w, err = CreateTable[ActivationRow](path, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rows...); err != nil {
		t.Fatal(err)
	}
	w.f.f.Close() // the AtomicFile's os.File
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Close on a closed file: err = %v, want an error naming %s", err, path)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("folder holds %v after a failed Close, want nothing", entries)
	}
}

func TestTableCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	tblWrite(t, good, Meta{}, tblKnownRows(tblCoords("c", 16, 0)).activations)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// A flipped bit in the last page of the vector column, which its CRC-32 catches.
	pf := tblOpen(t, good)
	vec := pf.Metadata().RowGroups[0].Columns[11].MetaData
	flipped := slices.Clone(data)
	flipped[vec.DataPageOffset+vec.TotalCompressedSize-2] ^= 0x10
	cases := []struct {
		name       string
		data       []byte
		footerGood bool // ReadMeta, which reads only the footer, succeeds
	}{
		{"flipped bit", flipped, true},
		{"empty", nil, false},
		{"magic only", data[:4], false},
		{"half", data[:len(data)/2], false},
		{"missing last byte", data[:len(data)-1], false},
		{"missing footer", data[:len(data)-8], false},
		{"not parquet", []byte(strings.Repeat("phaseprobe ", 100)), false},
	}
	for _, c := range cases {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".parquet")
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tblReadAll[ActivationRow](t, path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: ReadTable err = %v, want an error naming %s", c.name, err, path)
		}
		if _, err := ReadMeta(path); !c.footerGood && (err == nil || !strings.Contains(err.Error(), path)) {
			t.Errorf("%s: ReadMeta err = %v, want an error naming %s", c.name, err, path)
		}
	}
	missing := filepath.Join(dir, "nope.parquet")
	if _, _, err := tblReadAll[ActivationRow](t, missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: err = %v, want an error naming %s", err, missing)
	}
}

// TestTableDictionaryPageFlip flips, one at a time, one bit of every byte of every dictionary
// page (header and values) of a metrics table. parquet-go checks the CRC-32 of data pages but not
// of dictionary pages; before checkDictionaryPages a flip in the position dictionary read back
// position -1 as -16777214 without an error. Every flip must give an error naming the file or
// read back the rows as written (a flip in a header field nobody reads); a flip in the position
// column's values must name the column and the dictionary page.
func TestTableDictionaryPageFlip(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "metrics.parquet")
	want := tblKnownRows(tblCoords("c", 16, 0)).metrics
	tblWrite(t, good, Meta{}, want)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "flipped.parquet")
	dicts, flips, caught := 0, 0, 0
	for _, col := range tblOpen(t, good).Metadata().RowGroups[0].Columns {
		md := col.MetaData
		if md.DictionaryPageOffset == 0 {
			continue
		}
		dicts++
		name := md.PathInSchema[len(md.PathInSchema)-1]
		for off := md.DictionaryPageOffset; off < md.DataPageOffset; off++ {
			flipped := slices.Clone(data)
			flipped[off] ^= 0x01
			if err := os.WriteFile(bad, flipped, 0o644); err != nil {
				t.Fatal(err)
			}
			flips++
			got, _, err := tblReadAll[MetricRow](t, bad)
			switch {
			case err != nil && !strings.Contains(err.Error(), bad):
				t.Errorf("column %s, byte %d: err = %v, want it to name %s", name, off, err, bad)
			case err != nil:
				caught++
				// The last 8 bytes of the page are the two int32 values of position (-1 and 3).
				if name == "position" && off >= md.DataPageOffset-8 &&
					!(strings.Contains(err.Error(), "position") && strings.Contains(err.Error(), "dictionary page")) {
					t.Errorf("position value byte %d: err = %v, want it to name the column and its dictionary page", off, err)
				}
			case !reflect.DeepEqual(got, want):
				t.Errorf("column %s, byte %d: flipped file read without error and with changed rows", name, off)
			case name == "position" && off >= md.DataPageOffset-8:
				t.Errorf("position value byte %d: flipped file read without error", off)
			}
		}
	}
	if dicts < 10 {
		t.Errorf("%d dictionary pages, want the 10+ dict columns of MetricRow", dicts)
	}
	t.Logf("%d dictionary pages, %d flips, %d caught", dicts, flips, caught)
}

// TestTableFooterFlip flips one bit of every footer byte of a metrics table and opens it with
// ReadMeta. The Parquet footer has no checksum, so some flips go unseen; none may crash the
// reader (parquet-go panicked on a negative length in a column's metadata), and an error must
// name the file.
func TestTableFooterFlip(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "metrics.parquet")
	tblWrite(t, good, Meta{}, tblKnownRows(tblCoords("c", 16, 0)).metrics)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	footer := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	bad := filepath.Join(dir, "flipped.parquet")
	caught := 0
	for off := len(data) - 8 - footer; off < len(data)-8; off++ {
		flipped := slices.Clone(data)
		flipped[off] ^= 0x01
		if err := os.WriteFile(bad, flipped, 0o644); err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("footer byte %d: ReadMeta panicked: %v", off, r)
				}
			}()
			if _, err := ReadMeta(bad); err != nil {
				caught++
				if !strings.Contains(err.Error(), bad) {
					t.Errorf("footer byte %d: err = %v, want it to name %s", off, err, bad)
				}
			}
		}()
	}
	t.Logf("%d footer bytes, %d flips refused", footer, caught)
}

// tblRawWrite writes rows with parquet-go directly and the given key-value metadata, as another
// tool or another version of phaseprobe would.
func tblRawWrite[T any](t *testing.T, path string, rows []T, kv ...string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	var opts []parquet.WriterOption
	for i := 0; i+1 < len(kv); i += 2 {
		opts = append(opts, parquet.KeyValueMetadata(kv[i], kv[i+1]))
	}
	w := parquet.NewGenericWriter[T](f, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// metricV2 is a metrics row as schema versions 1 and 2 wrote it: value a required DOUBLE, NaN where
// it was not finite.
type metricV2 struct {
	Coords
	Step     int64   `parquet:"step"`
	Split    string  `parquet:"split,dict"`
	Site     string  `parquet:"site,dict"`
	Layer    int32   `parquet:"layer,dict"`
	Head     int32   `parquet:"head,dict"`
	Position int32   `parquet:"position,dict"`
	Concept  string  `parquet:"concept,dict"`
	Metric   string  `parquet:"metric,dict"`
	Value    float64 `parquet:"value"`
}

// outputV2 is an outputs row of schema versions 1 and 2: logprob_target a required FLOAT.
type outputV2 struct {
	Coords
	Step          int64     `parquet:"step"`
	Example       int32     `parquet:"example"`
	Pos           int32     `parquet:"pos"`
	Target        int32     `parquet:"target"`
	Predicted     int32     `parquet:"predicted"`
	LogprobTarget float32   `parquet:"logprob_target"`
	Probs         []float32 `parquet:"probs,list" parquet-element:",split"`
}

// TestTableReadsVersion2NaNAsNull: a version-2 metrics or outputs file (required value columns,
// NaN and ±Inf where a value was not finite) reads into the version-3 rows with NULL (nil) for
// every non-finite value and the finite values unchanged, so a finished sweep's tables need no
// retraining. The same holds for a file of another tool with NaN in an optional column.
func TestTableReadsVersion2NaNAsNull(t *testing.T) {
	dir := t.TempDir()
	c := tblCoords("c", 4, 0)
	vals := []float64{0.5, math.NaN(), math.Inf(1), math.Inf(-1), 0, -2}
	var m2 []metricV2
	var o2 []outputV2
	var mWant []MetricRow
	var oWant []OutputRow
	for i, v := range vals {
		m2 = append(m2, metricV2{Coords: c, Step: int64(i), Split: "test", Layer: NA, Head: NA, Position: NA, Metric: "loss", Value: v})
		mWant = append(mWant, MetricRow{Coords: c, Step: int64(i), Split: "test", Layer: NA, Head: NA, Position: NA, Metric: "loss", Value: F(v)})
		o2 = append(o2, outputV2{Coords: c, Step: int64(i), Pos: 2, Target: 1, LogprobTarget: float32(v), Probs: []float32{1, 0}})
		oWant = append(oWant, OutputRow{Coords: c, Step: int64(i), Pos: 2, Target: 1, LogprobTarget: F32(float32(v)), Probs: []float32{1, 0}})
	}
	for _, version := range []string{"1", "2", ""} { // "": no phaseprobe keys, another tool's file
		kv := func(table string) []string {
			if version == "" {
				return nil
			}
			return []string{KeySchemaVersion, version, KeyTable, table}
		}
		mp, op := filepath.Join(dir, "metrics-v"+version+".parquet"), filepath.Join(dir, "outputs-v"+version+".parquet")
		tblRawWrite(t, mp, m2, kv("metrics")...)
		tblRawWrite(t, op, o2, kv("outputs")...)
		mGot, _, err := tblReadAll[MetricRow](t, mp)
		if err != nil || !reflect.DeepEqual(mGot, mWant) {
			t.Errorf("version %q metrics: %v\n got %s\nwant %s", version, err, tblValues(mGot), tblValues(mWant))
		}
		oGot, _, err := tblReadAll[OutputRow](t, op)
		if err != nil || !reflect.DeepEqual(oGot, oWant) {
			t.Errorf("version %q outputs: %v\n got %+v\nwant %+v", version, err, oGot, oWant)
		}
	}
	if mWant[1].Value != nil || mWant[2].Value != nil || mWant[3].Value != nil || mWant[0].Value == nil || mWant[4].Value == nil {
		t.Fatalf("F does not map exactly the non-finite values to nil: %s", tblValues(mWant))
	}
	// Version 3 itself: a NaN written into the optional column by hand also reads as NULL.
	nan := math.NaN()
	v3 := filepath.Join(dir, "metrics-v3.parquet")
	tblRawWrite(t, v3, []MetricRow{{Coords: c, Split: "test", Layer: NA, Head: NA, Position: NA, Metric: "loss", Value: &nan}}, KeySchemaVersion, "3", KeyTable, "metrics")
	if got, _, err := tblReadAll[MetricRow](t, v3); err != nil || len(got) != 1 || got[0].Value != nil {
		t.Errorf("version 3 metrics with a NaN value: %v, %s; want one row with a NULL value", err, tblValues(got))
	}
}

// tblValues prints the value column of metrics rows, "NULL" for nil.
func tblValues(rows []MetricRow) string {
	var s []string
	for _, r := range rows {
		if r.Value == nil {
			s = append(s, "NULL")
		} else {
			s = append(s, fmt.Sprint(*r.Value))
		}
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestTableSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	rows := tblKnownRows(tblCoords("c", 4, 0)).metrics
	cases := []struct {
		version string
		want    []string // substrings of the error; nil for success
	}{
		{"1", nil}, // metrics did not change in version 2: a version-1 file still reads
		{"2", nil},
		{"3", nil},
		{"4", nil},
		{"5", []string{"schema version 5", "up to 4"}},
		{"0", []string{KeySchemaVersion, `"0"`}},
		{"v1", []string{KeySchemaVersion, `"v1"`}},
	}
	// An analysis table of version 1 (before the verdicts rebuild) is refused with the way out.
	old := filepath.Join(dir, "transitions-v1.parquet")
	tblRawWrite(t, old, []TransitionRow{{Coords: rows[0].Coords}}, KeySchemaVersion, "1", KeyTable, "transitions")
	if _, _, err := tblReadAll[TransitionRow](t, old); err == nil || !strings.Contains(err.Error(), "rerun phaseprobe analyze") {
		t.Errorf("version-1 transitions table: err = %v, want a refusal that says to rerun analyze", err)
	}
	// A version-3 mirage table (one-axis p, no p_log_step or p_cum_lr) is refused the same way.
	oldMirage := filepath.Join(dir, "mirage-v3.parquet")
	tblRawWrite(t, oldMirage, []MirageRow{{Sweep: "s", Metric: "token_accuracy"}}, KeySchemaVersion, "3", KeyTable, "mirage")
	if _, _, err := tblReadAll[MirageRow](t, oldMirage); err == nil || !strings.Contains(err.Error(), "rerun phaseprobe analyze") {
		t.Errorf("version-3 mirage table: err = %v, want a refusal that says to rerun analyze", err)
	}
	for _, c := range cases {
		path := filepath.Join(dir, "metrics-v"+c.version+".parquet")
		tblRawWrite(t, path, rows, KeySchemaVersion, c.version, KeyTable, "metrics")
		got, _, err := tblReadAll[MetricRow](t, path)
		if c.want == nil {
			if err != nil || len(got) != len(rows) {
				t.Errorf("version %s: %d rows, %v; want %d rows", c.version, len(got), err, len(rows))
			}
			continue
		}
		if err == nil {
			t.Errorf("version %s: read succeeded, want an error", c.version)
			continue
		}
		for _, s := range append(c.want, path) {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("version %s: error %q does not contain %q", c.version, err, s)
			}
		}
	}
}

func TestTableWrongSchema(t *testing.T) {
	dir := t.TempDir()
	r := tblKnownRows(tblCoords("c", 4, 0))
	metrics := filepath.Join(dir, MetricsFile)
	tblWrite(t, metrics, Meta{}, r.metrics)

	// Another table's file, named by its metadata.
	if _, _, err := tblReadAll[ActivationRow](t, metrics); err == nil ||
		!strings.Contains(err.Error(), metrics) || !strings.Contains(err.Error(), `table "metrics", want "activations"`) {
		t.Errorf("metrics read as activations: err = %v", err)
	}

	// Files without metadata whose columns do not fit.
	type missingValue struct {
		Coords
		Step     int64  `parquet:"step"`
		Split    string `parquet:"split"`
		Site     string `parquet:"site"`
		Layer    int32  `parquet:"layer"`
		Head     int32  `parquet:"head"`
		Position int32  `parquet:"position"`
		Concept  string `parquet:"concept"`
		Metric   string `parquet:"metric"`
	}
	type stringStep struct {
		Coords
		Step   string  `parquet:"step"`
		Split  string  `parquet:"split"`
		Site   string  `parquet:"site"`
		Metric string  `parquet:"metric"`
		Value  float64 `parquet:"value"`
	}
	type vectorNotList struct {
		Coords
		Step    int64     `parquet:"step"`
		Site    string    `parquet:"site"`
		Example int32     `parquet:"example"`
		Pos     int32     `parquet:"pos"`
		Vector  []float32 `parquet:"vector"` // a bare repeated field, not a LIST
	}
	p1 := filepath.Join(dir, "missing.parquet")
	tblRawWrite(t, p1, []missingValue{{Coords: r.metrics[0].Coords}})
	p2 := filepath.Join(dir, "stringstep.parquet")
	tblRawWrite(t, p2, []stringStep{{Coords: r.metrics[0].Coords, Step: "ten"}})
	p3 := filepath.Join(dir, "notlist.parquet")
	tblRawWrite(t, p3, []vectorNotList{{Coords: r.metrics[0].Coords, Vector: []float32{1}}})
	cases := []struct {
		path string
		read func(string) error
		want string
	}{
		{p1, func(p string) error { _, _, err := tblReadAll[MetricRow](t, p); return err }, "column value is missing (want DOUBLE)"},
		{p2, func(p string) error { _, _, err := tblReadAll[MetricRow](t, p); return err }, "column step is BYTE_ARRAY, want INT64"},
		{p3, func(p string) error { _, _, err := tblReadAll[ActivationRow](t, p); return err }, "column vector.list.element is missing (want list<FLOAT>); the file has vector as list<FLOAT>"},
	}
	for _, c := range cases {
		err := c.read(c.path)
		if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one naming the file and %q", filepath.Base(c.path), err, c.want)
		}
	}
}

func TestTableCallbackError(t *testing.T) {
	path := filepath.Join(t.TempDir(), MetricsFile)
	tblWrite(t, path, Meta{}, tblKnownRows(tblCoords("c", 4, 0)).metrics)
	stop := errors.New("stop")
	calls := 0
	_, err := ReadTable(path, func([]MetricRow) error { calls++; return stop }, BatchRows(2))
	if err != stop || calls != 1 {
		t.Errorf("ReadTable = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func TestTableCellDirs(t *testing.T) {
	run := filepath.Join(t.TempDir(), "sw")
	for _, d := range []string{"cells/b", "cells/a", "cells/.hidden", "analysis"} {
		if err := os.MkdirAll(filepath.Join(run, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(run, "cells", "c.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := CellDirs(run)
	want := []string{filepath.Join(run, "cells", "a"), filepath.Join(run, "cells", "b")}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("CellDirs = %v, %v; want %v", got, err, want)
	}
	if _, err := CellDirs(filepath.Join(run, "nope")); err == nil {
		t.Error("CellDirs of a missing run succeeded")
	}
}

// tblRandomActivations fills rows with standard-normal vectors, as a residual stream looks.
func tblRandomActivations(rows []ActivationRow, rng *rand.Rand, dModel int) {
	c := tblCoords("addition-d128-L2-H4-s0", int32(dModel), 0)
	for i := range rows {
		v := rows[i].Vector[:0]
		for range dModel {
			v = append(v, float32(rng.NormFloat64()))
		}
		rows[i] = ActivationRow{Coords: c, Step: 1000, Site: "blocks.0.hook_resid_post", Example: int32(i / 16), Pos: int32(i % 16), Vector: v}
	}
}

// plainActivationRow is ActivationRow with a PLAIN-encoded vector, to measure what
// byte-stream-split buys.
type plainActivationRow struct {
	Coords
	Step    int64     `parquet:"step"`
	Site    string    `parquet:"site,dict"`
	Example int32     `parquet:"example"`
	Pos     int32     `parquet:"pos"`
	Vector  []float32 `parquet:"vector,list" parquet-element:",snappy"`
}

func (plainActivationRow) TableName() string { return "activations" }

// TestTableCompression measures the file size of standard-normal activations as a fraction of
// their raw float32 bytes. Byte-stream-split puts the four bytes of every float in separate
// streams, so Snappy finds the repeats in the sign-and-exponent byte (a standard normal's exponent
// takes a handful of values): the fraction measured is 0.917, against about 1.0 for Snappy over
// plain floats, whose random mantissas hide the repeats. (zstd, which also entropy-codes, gave
// 0.885; activations use Snappy because zstd took 3× as long to write them, see CreateTable.)
func TestTableCompression(t *testing.T) {
	const n, dModel = 8192, 128
	rows := make([]ActivationRow, n)
	for i := range rows {
		rows[i].Vector = make([]float32, 0, dModel)
	}
	tblRandomActivations(rows, rand.New(rand.NewPCG(1, 2)), dModel)
	plain := make([]plainActivationRow, n)
	for i, r := range rows {
		plain[i] = plainActivationRow(r)
	}
	dir := t.TempDir()
	raw := float64(n * dModel * 4)
	splitPath, plainPath := filepath.Join(dir, "split.parquet"), filepath.Join(dir, "plain.parquet")
	tblWrite(t, splitPath, Meta{}, rows)
	tblWrite(t, plainPath, Meta{}, plain)
	size := func(p string) float64 {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return float64(st.Size()) / raw
	}
	split, plainSnappy := size(splitPath), size(plainPath)
	t.Logf("file size / raw float bytes: byte-stream-split+snappy %.3f, plain+snappy %.3f", split, plainSnappy)
	if split > 0.93 || plainSnappy < 0.97 || split >= plainSnappy {
		t.Errorf("size fractions: split %.3f (want ≈ 0.917), plain %.3f (want ≈ 1.0)", split, plainSnappy)
	}
}

// TestTableMemoryBounded writes and reads back a million rows (61 MiB of float payload, a 57 MiB
// file) and checks that the live heap stays bounded: about 35 MiB of it is zstd encoder state
// (its 8 MiB windows, shared by all writers), the rest one row group. A writer or reader that
// kept the whole table would exceed the bound by the size of the file.
func TestTableMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a million rows")
	}
	const n, dModel, batch = 1_000_000, 16, 1000
	const bound = 64 << 20
	path := filepath.Join(t.TempDir(), ActivationsFile)
	rng := rand.New(rand.NewPCG(3, 4))
	rows := make([]ActivationRow, batch)
	for i := range rows {
		rows[i].Vector = make([]float32, 0, dModel)
	}
	var peak uint64
	sample := func() { // live heap: after a collection
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}
	runtime.GC()
	w, err := CreateTable[ActivationRow](path, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for i := range n / batch {
		tblRandomActivations(rows, rng, dModel)
		if err := w.Write(rows...); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			sample()
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sample()
	writePeak := peak
	rows = nil
	runtime.GC()
	peak = 0
	var count int64
	calls := 0
	_, err = ReadTable(path, func(rs []ActivationRow) error {
		count += int64(len(rs))
		if calls++; calls%50 == 0 {
			sample()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("heap peak: write %.1f MiB, read %.1f MiB (payload %.1f MiB)", float64(writePeak)/(1<<20), float64(peak)/(1<<20), float64(n*dModel*4)/(1<<20))
	if count != n {
		t.Errorf("read %d rows, want %d", count, n)
	}
	if writePeak > bound || peak > bound {
		t.Errorf("heap peak write %d, read %d bytes; want both ≤ %d", writePeak, peak, bound)
	}
}

// BenchmarkWriteActivations writes standard-normal activation rows (batches of 1,024 rows) at
// d_model 32 (bench/capture_bench.sh's sweep) and 128; MB/s counts the rows' float payload bytes
// (d_model × 4 per row), the file also holds the coordinates, step, site, example and position.
func BenchmarkWriteActivations(b *testing.B) {
	for _, dModel := range []int{32, 128} {
		b.Run(fmt.Sprintf("d_model=%d", dModel), func(b *testing.B) {
			const batch = 1024
			rows := make([]ActivationRow, batch)
			for i := range rows {
				rows[i].Vector = make([]float32, 0, dModel)
			}
			tblRandomActivations(rows, rand.New(rand.NewPCG(5, 6)), dModel)
			w, err := CreateTable[ActivationRow](filepath.Join(b.TempDir(), ActivationsFile), Meta{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Abort()
			b.SetBytes(int64(batch * dModel * 4))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Write(rows...); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
