package analysis

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// writeCell writes a minimal cell (probe set, no labels, metrics, activations, uniform attention)
// whose activations at every step are act(step, example) for 20 examples at position 1.
func writeCell(t *testing.T, run string, c data.Coords, steps []int64, act func(step int64, e int) []float32) string {
	t.Helper()
	dir := filepath.Join(run, "cells", c.Cell)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const n, T = 20, 2
	var ps []data.ProbeSetRow
	var acts []data.ActivationRow
	var attn []data.AttentionRow
	var ms []data.MetricRow
	for e := range n {
		for p := range T {
			ps = append(ps, data.ProbeSetRow{Coords: c, Example: int32(e), Pos: int32(p), Token: int32(e % 3), Target: 0, Answer: p == 1})
		}
	}
	for _, s := range steps {
		ms = append(ms, data.MetricRow{Coords: c, Step: s, Split: "test", Layer: data.NA, Head: data.NA, Position: data.NA, Metric: "exact_match", Value: data.F(0)})
		for e := range n {
			acts = append(acts, data.ActivationRow{Coords: c, Step: s, Site: "blocks.0.hook_resid_post", Example: int32(e), Pos: 1, Vector: act(s, e)})
			for q := range T {
				p := make([]float32, T)
				for k := 0; k <= q; k++ {
					p[k] = 1 / float32(q+1)
				}
				attn = append(attn, data.AttentionRow{Coords: c, Step: s, Layer: 0, Head: 0, Example: int32(e), QueryPos: int32(q), Pattern: p})
			}
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(data.WriteTable(filepath.Join(dir, data.ProbeSetFile), data.Meta{}, ps))
	must(data.WriteTable(filepath.Join(dir, data.LabelsFile), data.Meta{}, []data.LabelRow{}))
	must(data.WriteTable(filepath.Join(dir, data.MetricsFile), data.Meta{}, ms))
	must(data.WriteTable(filepath.Join(dir, data.ActivationsFile), data.Meta{}, acts))
	must(data.WriteTable(filepath.Join(dir, data.AttentionFile), data.Meta{}, attn))
	return dir
}

// TestCKAAcrossWidths: the wider model's site is [X, X] for the narrower one's X, so linear CKA
// between them is exactly 1 (CKA is invariant to isotropic scaling of the Gram matrix, and
// [X, X][X, X]ᵀ = 2XXᵀ); the widest cell has no neighbour and no cka_next_width rows; a cell of
// another seed is not a neighbour.
func TestCKAAcrossWidths(t *testing.T) {
	run := t.TempDir()
	steps := []int64{0, 10, 100}
	rng := rand.New(rand.NewPCG(1, 2))
	x := map[[2]int64][]float32{}
	for _, s := range steps {
		for e := range 20 {
			v := make([]float32, 4)
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
			x[[2]int64{s, int64(e)}] = v
		}
	}
	narrow := data.Coords{Sweep: "w", Cell: "narrow", Task: "toy", DModel: 4, NLayers: 1, NHeads: 1, Seed: 0}
	wide := narrow
	wide.Cell, wide.DModel = "wide", 8
	other := narrow
	other.Cell, other.DModel, other.Seed = "other-seed", 8, 1
	writeCell(t, run, narrow, steps, func(s int64, e int) []float32 { return x[[2]int64{s, int64(e)}] })
	writeCell(t, run, wide, steps, func(s int64, e int) []float32 {
		v := x[[2]int64{s, int64(e)}]
		return append(append([]float32{}, v...), v...)
	})
	writeCell(t, run, other, steps, func(s int64, e int) []float32 { return make([]float32, 8) })
	if _, err := Analyze(context.Background(), run, Options{}); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, cell := range []string{"narrow", "wide", "other-seed"} {
		if _, err := data.ReadTable(filepath.Join(run, "cells", cell, data.InternalMetricsFile), func(rows []data.MetricRow) error {
			for _, r := range rows {
				if r.Metric != "cka_next_width" {
					continue
				}
				count[cell]++
				if math.Abs(data.Float(r.Value)-1) > 1e-9 {
					t.Errorf("%s step %d: cka_next_width = %.12f, want 1", cell, r.Step, data.Float(r.Value))
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if count["narrow"] != len(steps) || count["wide"] != 0 || count["other-seed"] != 0 {
		t.Fatalf("cka_next_width rows per cell: %v; want %d for narrow, none for the others", count, len(steps))
	}
}
