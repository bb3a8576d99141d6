package data

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// FuzzReadTable: ReadMeta and ReadTable never panic on a file of arbitrary bytes, and never
// allocate hundreds of MiB for a small one; they return the rows or an error. The seeds are small valid tables (a metrics table, an activations table and
// the files other tools wrote in testdata/) and truncations of them.
//
//	go test ./data -run '^$' -fuzz FuzzReadTable -fuzztime 30s
func FuzzReadTable(f *testing.F) {
	dir := f.TempDir()
	c := Coords{Sweep: "fz", Cell: "addition-d8-L1-H2-s0", Task: "addition", DModel: 8, NLayers: 1, NHeads: 2, Seed: 3}
	metrics := []MetricRow{
		{Coords: c, Step: 0, Split: "test", Layer: NA, Head: NA, Position: NA, Metric: "exact_match", Value: F(0.25)},
		{Coords: c, Step: 10, Split: "probe", Site: "blocks.0.hook_resid_post", Layer: 0, Head: NA, Position: 2, Concept: "carry", Metric: "probe_accuracy", Value: nil},
		{Coords: c, Step: 10, Split: "train", Layer: NA, Head: NA, Position: NA, Metric: "diverged", Value: F(1)},
	}
	acts := []ActivationRow{
		{Coords: c, Step: 0, Site: "hook_embed", Example: 0, Pos: 3, Vector: []float32{1, -2.5, 0, float32(math.Inf(1))}},
		{Coords: c, Step: 0, Site: "hook_embed", Example: 1, Pos: 3, Vector: []float32{}},
	}
	var seeds [][]byte
	for _, write := range []func(path string) error{
		func(p string) error { return writeSeed(p, metrics) },
		func(p string) error { return writeSeed(p, acts) },
	} {
		p := filepath.Join(dir, "seed.parquet")
		if err := write(p); err != nil {
			f.Fatal(err)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, raw)
	}
	for _, name := range []string{"activations_duckdb.parquet", "activations_pandas.parquet"} {
		if raw, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			seeds = append(seeds, raw)
		}
	}
	for _, raw := range seeds {
		f.Add(raw)
		for _, n := range []int{0, 4, 8, len(raw) / 2, len(raw) - 8, len(raw) - 1} {
			if n >= 0 && n < len(raw) {
				f.Add(raw[:n])
			}
		}
		f.Add(raw[len(raw)/2:]) // the footer without the pages it points at
	}
	path := filepath.Join(dir, "fuzz.parquet")
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		// A small file must not make the reader allocate much more than its size (parquet-go
		// allocates the footer length a file states: see checkFooterLength).
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		defer func() {
			runtime.ReadMemStats(&m1)
			if d := m1.TotalAlloc - m0.TotalAlloc; d > 256<<20 {
				t.Fatalf("reading a %d-byte file allocated %d MiB", len(raw), d>>20)
			}
		}()
		if _, err := ReadMeta(path); err != nil {
			t.Logf("ReadMeta: %v", err)
		}
		n := 0
		if _, err := ReadTable(path, func(rows []MetricRow) error { n += len(rows); return nil }); err != nil {
			t.Logf("ReadTable[MetricRow]: %v", err)
		}
		if _, err := ReadTable(path, func(rows []ActivationRow) error { n += len(rows); return nil }, BatchRows(2)); err != nil {
			t.Logf("ReadTable[ActivationRow]: %v", err)
		}
	})
}

func writeSeed[T TableRow](path string, rows []T) error {
	w, err := CreateTable[T](path, Meta{Config: []byte(`{"cell":"fz"}`)})
	if err != nil {
		return err
	}
	if err := w.Write(rows...); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}
