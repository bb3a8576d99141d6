package transition_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/phaseprobe/phaseprobe/transition"
)

// checkpoints returns x = log10(step+1) for n steps log-spaced over 1..10⁴.
func checkpoints(n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = math.Log10(math.Pow(10, 4*float64(i)/float64(n-1)) + 1)
	}
	return x
}

func ExampleFitSigmoid() {
	x := checkpoints(30)
	y := make([]float64, len(x))
	for i, xi := range x {
		y[i] = 0.1 + 0.8/(1+math.Exp(-(xi-2.5)/0.1)) // jump at 10^2.5 ≈ 316 steps
	}
	s, err := transition.FitSigmoid(x, y)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("midpoint %.3f (step %.0f), 10→90%% width %.3f decades\n", s.X0, math.Pow(10, s.X0)-1, s.Width)
	fmt.Printf("lo %.3f hi %.3f\n", s.Lo, s.Hi)
	// Output:
	// midpoint 2.500 (step 315), 10→90% width 0.439 decades
	// lo 0.100 hi 0.900
}

func ExampleThresholdCrossing() {
	x := []float64{0, 1, 2, 3, 4}
	loss := []float64{3.0, 2.9, 2.5, 1.0, 0.9}
	// Half-way between min 0.9 and max 3.0 is 1.95, crossed between x = 2 and 3.
	c, err := transition.ThresholdCrossing(x, loss, 0.5, transition.Auto)
	fmt.Printf("%.4f %v\n", c, err)
	// Output:
	// 2.3667 <nil>
}

func ExampleDetect() {
	rng := rand.New(rand.NewPCG(1, 2))
	x := checkpoints(34)
	jump := make([]float64, len(x))
	smooth := make([]float64, len(x))
	for i, xi := range x {
		jump[i] = 0.05 + 0.9/(1+math.Exp(-(xi-2)/0.05)) + 0.03*rng.NormFloat64()
		smooth[i] = 0.9 - 0.8*math.Pow(10, -0.3*xi) + 0.03*rng.NormFloat64() // 0.9 − 0.8·(step+1)^−0.3
	}
	cfg := transition.DefaultConfig()
	for _, c := range []struct {
		name string
		y    []float64
	}{{"jump", jump}, {"power law", smooth}} {
		d, err := transition.Detect(x, c.y, cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		if d.Abrupt {
			fmt.Printf("%s: abrupt at %.2f\n", c.name, d.Onset)
		} else {
			fmt.Printf("%s: smooth (%s)\n", c.name, d.Reason)
		}
	}
	// Output:
	// jump: abrupt at 2.01
	// power law: smooth (midpoint within MinSide checkpoints of an end)
}

func ExamplePELT() {
	y := []float64{0.1, 0.12, 0.09, 0.11, 0.1, 0.6, 0.62, 0.59, 0.61, 0.6, 0.6, 0.9, 0.88, 0.91}
	cps, err := transition.PELT(y, transition.DefaultPenalty(y), 2)
	fmt.Println(cps, err)
	c, _ := transition.MostSignificantChange(y, 2)
	fmt.Printf("largest change before index %d: %.2f → %.2f\n", c.Index, c.Before, c.After)
	// Output:
	// [5 11] <nil>
	// largest change before index 5: 0.10 → 0.70
}

func ExampleCompareIndependence() {
	// Per-position accuracies of a 3-token answer at three checkpoints, and
	// the measured exact match.
	p := [][]float64{{0.5, 0.4, 0.5}, {0.9, 0.8, 0.9}, {1, 0.99, 1}}
	em := []float64{0.12, 0.70, 0.99}
	fmt.Printf("%.3f\n", transition.IndependenceTo(nil, p))
	g, _ := transition.CompareIndependence(em, p)
	fmt.Printf("mean |EM − Πp| %.3f, largest %.3f at checkpoint %d\n", g.MeanAbs, g.MaxAbs, g.MaxAt)
	// Output:
	// [0.100 0.648 0.990]
	// mean |EM − Πp| 0.024, largest 0.052 at checkpoint 1
}

func ExampleBreakthroughness() {
	steady := []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6}
	sudden := []float64{0.1, 0.11, 0.1, 0.12, 0.7, 0.71}
	fmt.Printf("steady: L %.2f B %.2f\n", transition.Linearity(steady), transition.Breakthroughness(steady))
	fmt.Printf("sudden: L %.2f B %.2f\n", transition.Linearity(sudden), transition.Breakthroughness(sudden))
	// Output:
	// steady: L 5.00 B 5.00
	// sudden: L 2.35 B 61.00
}
