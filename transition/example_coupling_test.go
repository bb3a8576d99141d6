package transition_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/phaseprobe/phaseprobe/transition"
)

func ExampleBHTo() {
	p := []float64{0.001, 0.04, 0.03, 0.2}
	fmt.Printf("%.3f\n", transition.BHTo(nil, p))
	// Output: [0.004 0.053 0.053 0.200]
}

func ExampleMinSeedsFor() {
	fmt.Println(transition.MinSeedsFor(0.05), transition.MinSeedsFor(0.01))
	// Output: 6 8
}

func ExampleLeadLagTest() {
	// Six seeds whose internal onset comes 0.08–0.12 decade before the task's.
	task := []float64{1.50, 1.62, 1.41, 1.55, 1.70, 1.48}
	internal := []float64{1.40, 1.53, 1.29, 1.47, 1.58, 1.39}
	r, err := transition.LeadLagTest(internal, task, transition.DefaultLeadLagConfig(0.18), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	fmt.Printf("mean lag %.3f, sign-flip p %.4f (smallest possible %.4f), TOST p %.4f\n", r.MeanLag, r.P, r.MinP, r.TOSTP)
	// Output: mean lag -0.100, sign-flip p 0.0312 (smallest possible 0.0312), TOST p 0.0156
}

func ExampleCouple() {
	// Two widths (strata) × 4 seeds; the wider model learns a decade earlier,
	// and within each width the internal onset tracks the task's. P = (1/4!)²;
	// the slope and its interval agree with a brute-force enumeration in numpy.
	task := []float64{2.0, 2.1, 1.9, 2.2, 1.0, 1.15, 0.9, 1.05}
	internal := []float64{1.9, 2.05, 1.75, 2.1, 0.92, 1.0, 0.85, 0.97}
	strata := []int{0, 0, 0, 0, 1, 1, 1, 1}
	c, err := transition.Couple(internal, task, strata, transition.DefaultCoupleConfig(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	fmt.Printf("tau %.2f, p %.4f (exact %v), slope %.2f [%.2f, %.2f]\n", c.Tau, c.P, c.Exact, c.Slope, c.SlopeLow, c.SlopeHigh)
	// Output: tau 1.00, p 0.0017 (exact true), slope 0.90 [0.50, 1.50]
}
