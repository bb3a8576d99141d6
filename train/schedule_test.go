package train

import (
	"math"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestLRScheduleAgrees checks that data.LRSchedule, which the analysis uses to put transition tests
// on the run's own schedule, computes the learning rate of Optim.LRAt, which training uses.
func TestLRScheduleAgrees(t *testing.T) {
	for _, o := range []Optim{
		{LR: 3e-3, WarmupSteps: 30, Schedule: "cosine", MinLRFrac: 0.1},
		{LR: 1e-3, Schedule: "constant"},
		{LR: 1e-2, WarmupSteps: 7, Schedule: "linear", MinLRFrac: 0.5},
		{LR: 1e-3, WarmupSteps: 700, Schedule: "cosine", MinLRFrac: 0.1}, // warm-up longer than the run
	} {
		o, err := o.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		const total = 600
		s := data.LRSchedule{LR: o.LR, WarmupSteps: o.WarmupSteps, Schedule: o.Schedule, MinLRFrac: o.MinLRFrac, Steps: total}
		var eta float64
		cum := s.CumulativeTo(nil, []int64{0, 1, 300, total})
		for step := 1; step <= total; step++ {
			want := o.LRAt(step, total)
			if got := s.At(step); math.Abs(got-want) > 1e-15*want {
				t.Fatalf("%+v step %d: data.LRSchedule.At = %g, Optim.LRAt = %g", o, step, got, want)
			}
			eta += want
			if step == 300 && math.Abs(cum[2]-eta) > 1e-12 {
				t.Fatalf("%+v: cumulative lr at 300 = %g, want %g", o, cum[2], eta)
			}
		}
		if cum[0] != 0 || cum[1] != o.LRAt(1, total) || math.Abs(cum[3]-eta) > 1e-12 {
			t.Fatalf("%+v: cumulative lr %v, want [0 %g … %g]", o, cum, o.LRAt(1, total), eta)
		}
	}
}
