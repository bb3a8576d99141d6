package transition

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkFitLogisticSum measures fitLogisticSum alone (its starts laid
// before the timer) on the 40-point grid: one component from the jump grid's
// best point and the steepest slope (fitOneJump's starts), and two components
// from fitTwo's starts, on a smooth curve (a wide sigmoid), an abrupt one (a
// 0.05-decade jump) and a two-step one, each with noise 0.03.
func BenchmarkFitLogisticSum(b *testing.B) {
	cfg := DefaultCurveConfig()
	for _, g := range simGrids() {
		if g.name != "log40" {
			continue
		}
		rng := rand.New(rand.NewPCG(5, 7))
		curves := map[string][]float64{}
		for _, name := range []string{"smooth", "abrupt", "two-step"} {
			curves[name] = make([]float64, len(g.x))
		}
		for i, xi := range g.x {
			curves["smooth"][i] = 0.1 + 0.8*logistic((xi-1.8)/(1.0/WidthPerScale)) + 0.03*rng.NormFloat64()
			curves["abrupt"][i] = 0.1 + 0.8*logistic((xi-2.1)/(0.05/WidthPerScale)) + 0.03*rng.NormFloat64()
			curves["two-step"][i] = 0.1 + 0.4*logistic((xi-1.5)/(0.05/WidthPerScale)) +
				0.4*logistic((xi-2.8)/(0.1/WidthPerScale)) + 0.03*rng.NormFloat64()
		}
		gr := newGrids(g.x, cfg)
		for _, name := range []string{"smooth", "abrupt", "two-step"} {
			y := curves[name]
			st := gr.jump.search(g.x, y, nil)
			starts1 := [][]logiComp{{st}}
			if m, _, err := SteepestSlope(g.x, y); err == nil {
				starts1 = append(starts1, []logiComp{{m: m, s: CheckpointSpacing(g.x) / 4}})
			}
			one := fitOneJump(g.x, y, gr)
			second := gr.jump.search(g.x, y, []logiComp{one.comps[0]})
			refit := gr.jump.search(g.x, y, []logiComp{second})
			starts2 := [][]logiComp{{one.comps[0], second}, {refit, second}}
			b.Run(name+"/K=1", func(b *testing.B) {
				for b.Loop() {
					fitLogisticSum(g.x, y, []compBox{gr.jump.box}, starts1)
				}
			})
			b.Run(name+"/K=2", func(b *testing.B) {
				for b.Loop() {
					fitLogisticSum(g.x, y, []compBox{gr.jump.box, gr.jump.box}, starts2)
				}
			})
		}
	}
}
