package transition_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/phaseprobe/phaseprobe/transition"
)

func ExampleTestCurve() {
	// The demo's checkpoints and schedule: lr 3e-3, 30 warm-up steps, cosine
	// to 0 over 600 steps.
	steps := []int{0, 1, 2, 4, 6, 8, 13, 20, 30, 46, 71, 109, 167, 256, 392, 600}
	lr := func(s int) float64 {
		if s <= 30 {
			return 3e-3 * float64(s) / 30
		}
		return 3e-3 * 0.5 * (1 + math.Cos(math.Pi*float64(s-30)/570))
	}
	sch := transition.Schedule{CumLR: transition.CumulativeLRTo(nil, steps, lr), Warmup: 30}
	x := make([]float64, len(steps))
	jump := make([]float64, len(steps))
	relax := make([]float64, len(steps))
	noise := rand.New(rand.NewPCG(3, 4))
	for i, s := range steps {
		x[i] = math.Log10(float64(s) + 1)
		// A jump 0.1 → 0.9 between steps 109 and 167, and a relaxation in the
		// cumulative learning rate that looks just as sudden on the log axis.
		jump[i] = 0.1 + 0.8/(1+math.Exp(-(x[i]-2.1)/0.01)) + 0.02*noise.NormFloat64()
		relax[i] = 0.9 - 0.8*math.Exp(-3*sch.CumLR[i]) + 0.02*noise.NormFloat64()
	}
	cfg := transition.DefaultCurveConfig()
	for _, c := range []struct {
		name string
		y    []float64
	}{{"jump", jump}, {"relaxation", relax}} {
		r, err := transition.TestCurve(x, c.y, sch, cfg, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: best null %s, p = %.2f after %d replicates\n", c.name, r.Null, r.P, r.Replicates)
		if r.P <= 0.05 {
			j := r.Jumps[0]
			fmt.Printf("  jump at step %.0f (10%%: %.0f, 90%%: %.0f), size %.2f\n",
				math.Pow(10, j.Mid)-1, math.Pow(10, j.Onset10)-1, math.Pow(10, j.Onset90)-1, j.Size)
		}
	}
	// A jump between two checkpoints has no unique midpoint: any in the gap
	// 109..167 fits as well.

	// Output:
	// jump: best null wide-logistic, p = 0.01 after 99 replicates
	//   jump at step 154 (10%: 147, 90%: 162), size 0.83
	// relaxation: best null relaxation, p = 0.42 after 12 replicates
}
