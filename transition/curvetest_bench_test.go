package transition

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTestCurve measures one TestCurve (DefaultCurveConfig) and its
// fits on the demo grid (16 points) and the 40-point grid, on a smooth curve
// (a wide sigmoid, noise 0.03; p > 0.05 on both grids) and an abrupt one (a
// 0.05-decade jump of 0.8; p ≤ 0.02).
func BenchmarkTestCurve(b *testing.B) {
	cfg := DefaultCurveConfig()
	for _, g := range simGrids() {
		if g.name == "log24" {
			continue
		}
		rng := rand.New(rand.NewPCG(5, 7))
		smooth := make([]float64, len(g.x))
		abrupt := make([]float64, len(g.x))
		for i, xi := range g.x {
			smooth[i] = 0.1 + 0.8*logistic((xi-1.8)/(1.0/WidthPerScale)) + 0.03*rng.NormFloat64()
			abrupt[i] = 0.1 + 0.8*logistic((xi-2.1)/(0.05/WidthPerScale)) + 0.03*rng.NormFloat64()
		}
		gr := newGrids(g.x, cfg)
		for _, c := range []struct {
			name string
			y    []float64
		}{{"smooth", smooth}, {"abrupt", abrupt}} {
			b.Run(g.name+"/"+c.name+"/TestCurve", func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				for b.Loop() {
					if _, err := TestCurve(g.x, c.y, g.sch, cfg, r); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(g.name+"/"+c.name+"/nulls", func(b *testing.B) {
				for b.Loop() {
					fitNulls(g.x, c.y, g.sch.CumLR, cfg, gr)
				}
			})
			b.Run(g.name+"/"+c.name+"/one-jump", func(b *testing.B) {
				for b.Loop() {
					fitOneJump(g.x, c.y, gr)
				}
			})
			b.Run(g.name+"/"+c.name+"/two-jump", func(b *testing.B) {
				for b.Loop() {
					one := fitOneJump(g.x, c.y, gr)
					fitTwo(g.x, c.y, gr.jump, gr.jump, []logiComp{one.comps[0]}, gr.pairSearch(g.x, c.y))
				}
			})
		}
	}
}
