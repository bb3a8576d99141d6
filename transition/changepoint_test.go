package transition

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// optimalPartitioning is the unpruned O(n²) dynamic programme that PELT must
// match exactly (Killick et al. 2012, §3.1), with the same tie rule (the
// smallest last change wins).
func optimalPartitioning(y []float64, beta float64, minSize int) []int {
	n := len(y)
	c := newSegmentCost(y)
	f := make([]float64, n+1)
	prev := make([]int, n+1)
	for i := range f {
		f[i] = math.Inf(1)
	}
	f[0] = -beta
	for t := minSize; t <= n; t++ {
		for tau := 0; tau <= t-minSize; tau++ {
			if tau != 0 && tau < minSize {
				continue
			}
			if v := f[tau] + c.cost(tau, t) + beta; v < f[t] {
				f[t], prev[t] = v, tau
			}
		}
	}
	var cps []int
	for t := prev[n]; t > 0; t = prev[t] {
		cps = append(cps, t)
	}
	slices.Reverse(cps)
	return cps
}

func TestPELTMatchesOptimalPartitioning(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 200; trial++ {
		n := 5 + rng.IntN(60)
		y := make([]float64, n)
		level := 0.0
		for i := range y {
			if rng.Float64() < 0.1 {
				level = rng.NormFloat64()
			}
			y[i] = level + 0.3*rng.NormFloat64()
		}
		beta := math.Pow(10, -2+2.5*rng.Float64())
		minSize := 1 + rng.IntN(4)
		if n < minSize {
			continue
		}
		got, err := PELT(y, beta, minSize)
		if err != nil {
			t.Fatal(err)
		}
		want := optimalPartitioning(y, beta, minSize)
		if !slices.Equal(got, want) {
			t.Fatalf("n %d β %.3g minSize %d: PELT %v, optimal partitioning %v", n, beta, minSize, got, want)
		}
		for i := 1; i < len(got); i++ {
			if got[i]-got[i-1] < minSize {
				t.Fatalf("segment shorter than %d: %v", minSize, got)
			}
		}
	}
}

func TestPELTNoiselessSteps(t *testing.T) {
	y := []float64{1, 1, 1, 1, 5, 5, 5, 2, 2, 2, 2, 2}
	got, err := PELT(y, DefaultPenalty(y), 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{4, 7}; !slices.Equal(got, want) {
		t.Errorf("PELT = %v, want %v", got, want)
	}
	got, _ = PELT([]float64{3, 3, 3, 3}, DefaultPenalty([]float64{3, 3, 3, 3}), 1)
	if len(got) != 0 {
		t.Errorf("PELT of a constant = %v, want none", got)
	}
}

func TestMostSignificantChange(t *testing.T) {
	y := []float64{0, 0.1, -0.1, 0, 2, 2.1, 1.9, 2}
	c, err := MostSignificantChange(y, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Closed form: total SS about the mean 1 is 8·1 + 0.04 = 8.04; the two
	// halves leave 0.02 each.
	if c.Index != 4 || math.Abs(c.Gain-8.0) > 1e-12 || math.Abs(c.Before) > 1e-15 || math.Abs(c.After-2) > 1e-15 {
		t.Errorf("MostSignificantChange = %+v, want index 4, gain 8, means 0 and 2", c)
	}
	if _, err := MostSignificantChange(y[:3], 2); err == nil {
		t.Error("3 points with minSize 2: no error")
	}
}

func TestNoiseSD(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	y := make([]float64, 4000)
	for i := range y {
		y[i] = 0.05 * rng.NormFloat64()
		if i >= 2000 {
			y[i] += 1 // one jump barely moves the MAD of differences
		}
	}
	if got := NoiseSD(y); math.Abs(got-0.05) > 0.003 {
		t.Errorf("NoiseSD = %v, want ≈ 0.05", got)
	}
}

func TestBigBench(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		name string
		y    []float64
		l, b float64 // closed form from the definitions
	}{
		{"equal steps", []float64{0, 1, 2, 3, 4}, 4, 4},
		{"equal falling steps", []float64{4, 3, 2, 1, 0}, -4, -4},
		{"one jump", []float64{0, 0, 0, 1, 1}, 2, inf}, // L = √m, m = 4
		{"constant", []float64{2, 2, 2, 2, 2}, 0, 0},
		// I = 1; Δ = 0.1, 0.1, 0.7, 0.1; mean square 0.13 → L = 1/√0.13;
		// median square 0.01 → B = 10.
		{"step on a slope", []float64{0, 0.1, 0.2, 0.9, 1}, 1 / math.Sqrt(0.13), 10},
		// I = 1; Δ = 0.25 each: L = B = 4 = m. The step scores higher B and
		// lower L than the line, the paper's reading of both measures.
		{"line", []float64{0, 0.25, 0.5, 0.75, 1}, 4, 4},
		// I = 3 (max at index 3 after min at 0); Δ = 1, 1, 1, -1;
		// RMS = 1, root median square = 1.
		{"overshoot", []float64{0, 1, 2, 3, 2}, 3, 3},
	} {
		if got := Linearity(c.y); math.Abs(got-c.l) > 1e-12 {
			t.Errorf("%s: Linearity = %v, want %v", c.name, got, c.l)
		}
		if got := Breakthroughness(c.y); got != c.b && math.Abs(got-c.b) > 1e-12 {
			t.Errorf("%s: Breakthroughness = %v, want %v", c.name, got, c.b)
		}
	}
	// Fewer than 5 points: no score, and BigBench says why.
	for _, y := range [][]float64{{0, 0.5, 1}, {0, 0, 1}, {0, 0, 0, 1}} {
		if l, b := Linearity(y), Breakthroughness(y); !math.IsNaN(l) || !math.IsNaN(b) {
			t.Errorf("%v: L %v B %v, want NaN", y, l, b)
		}
		if _, err := BigBench(y); err == nil {
			t.Errorf("BigBench(%v): no error", y)
		}
	}
	if s, err := BigBench([]float64{0, 0.1, 0.2, 0.9, 1}); err != nil || s.Breakthroughness != Breakthroughness([]float64{0, 0.1, 0.2, 0.9, 1}) {
		t.Errorf("BigBench on 5 points: %+v, %v", s, err)
	}
	// A sharp sigmoid scores higher breakthroughness and lower linearity than
	// a straight line with the same rise and noise.
	rng := rand.New(rand.NewPCG(5, 6))
	x := logGrid(36)
	line := make([]float64, len(x))
	jump := make([]float64, len(x))
	for i, xi := range x {
		e := 0.01 * rng.NormFloat64()
		line[i] = 0.8*(xi-x[0])/(x[len(x)-1]-x[0]) + e
		jump[i] = 0.8*logistic((xi-2)/0.04) + e
	}
	if !(Breakthroughness(jump) > 2*Breakthroughness(line)) || !(Linearity(jump) < Linearity(line)) {
		t.Errorf("jump L %.2f B %.2f, line L %.2f B %.2f", Linearity(jump), Breakthroughness(jump), Linearity(line), Breakthroughness(line))
	}
}
