package transition

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestCumulativeLRTo(t *testing.T) {
	// Closed form: with lr(s) = LR·s/W for s ≤ W and LR after,
	// η(t) = LR·t(t+1)/(2W) for t ≤ W and LR·(W+1)/2 + LR·(t−W) after.
	const lr0, w = 3e-3, 30
	lr := warmupLR(lr0, w, 600, "constant")
	steps := []int{0, 1, 2, 30, 31, 600}
	got := CumulativeLRTo(nil, steps, lr)
	for i, s := range steps {
		want := lr0 * float64(s*(s+1)) / (2 * w)
		if s > w {
			want = lr0*float64(w+1)/2 + lr0*float64(s-w)
		}
		if math.Abs(got[i]-want) > 1e-12 {
			t.Errorf("η(%d) = %v, want %v", s, got[i], want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("decreasing steps did not panic")
		}
	}()
	CumulativeLRTo(nil, []int{2, 1}, lr)
}

// TestNullFitsNoiseless checks that each smooth family recovers a curve drawn
// from itself (RSS ≈ 0) on the demo grid, in both directions, and that its
// Jacobian matches central finite differences of the fitted curve.
func TestNullFitsNoiseless(t *testing.T) {
	g := simGrids()[0]
	x, eta := g.x, g.sch.CumLR
	cfg := DefaultCurveConfig()
	gr := newGrids(x, cfg)
	cases := []struct {
		name string
		f    func(x, eta float64) float64
	}{
		{NullLine, func(x, _ float64) float64 { return 0.2 + 0.25*x }},
		{NullPower, func(x, _ float64) float64 { return 0.9 - 0.8*math.Pow(10, -0.7*x) }},
		{NullGompertz, func(x, _ float64) float64 { return 0.95 * math.Exp(-3*math.Pow(10, -1.2*x)) }},
		{NullRelaxation, func(_, e float64) float64 { return 0.1 + 0.8*(1-math.Exp(-4/eta[len(eta)-1]*e)) }},
		{NullWide, func(x, _ float64) float64 { return 0.1 + 0.7*logistic((x-1.5)/(0.6/WidthPerScale)) }},
	}
	y := make([]float64, len(x))
	for _, c := range cases {
		for _, sign := range []float64{1, -1} {
			for i := range y {
				y[i] = sign * c.f(x[i], eta[i])
			}
			best := fitNulls(x, y, eta, cfg, gr)
			if best.rss > 1e-8 {
				t.Errorf("%s (sign %v): best null %s has RSS %.3g, want ≈ 0", c.name, sign, best.name, best.rss)
			}
		}
	}
	// Jacobian of the logistic sum against finite differences.
	f := logisticSum{c: 0.1, comps: []logiComp{{m: 1.2, s: 0.1, b: 0.4}, {m: 2.3, s: 0.05, b: -0.3}}}
	jac := f.jacTo(x)
	for k := range f.comps {
		for j, h := range []float64{1e-6, 1e-6, 1e-7} { // b, m, s
			fp, fm := f, f
			fp.comps = append([]logiComp(nil), f.comps...)
			fm.comps = append([]logiComp(nil), f.comps...)
			switch j {
			case 0:
				fp.comps[k].b += h
				fm.comps[k].b -= h
			case 1:
				fp.comps[k].m += h
				fm.comps[k].m -= h
			case 2:
				fp.comps[k].s += h
				fm.comps[k].s -= h
			}
			for i, xi := range x {
				num := (fp.at(xi) - fm.at(xi)) / (2 * h)
				if d := math.Abs(num - jac[1+3*k+j][i]); d > 1e-5*(1+math.Abs(num)) {
					t.Fatalf("component %d parameter %d at x[%d]: jacobian %v, finite difference %v", k, j, i, jac[1+3*k+j][i], num)
				}
			}
		}
	}
}

// TestNoiseOfWhite checks noiseOf's closed form at φ = 0: with residuals
// orthogonal to the Jacobian's k columns and r₁ below ρ(0), σ̂² = RSS/(n − k)
// exactly and φ̂ = 0.
func TestNoiseOfWhite(t *testing.T) {
	n := 16
	one := make([]float64, n)
	lin := make([]float64, n)
	r := make([]float64, n)
	for i := range r {
		one[i], lin[i] = 1, float64(i)
		r[i] = math.Pow(-1, float64(i)) // r₁ = −15/16, far below ρ(0)
	}
	// Make r orthogonal to [1, i]: subtract its least-squares line.
	a, b := linearOnBasis(r, lin)
	var rss float64
	for i := range r {
		r[i] -= a + b*lin[i]
		rss += r[i] * r[i]
	}
	sigma, phi := noiseOf(r, nil, [][]float64{one, lin}, 0.7, 0)
	if phi != 0 {
		t.Errorf("φ̂ = %v, want 0", phi)
	}
	if want := math.Sqrt(rss / float64(n-2)); math.Abs(sigma-want) > 1e-12 {
		t.Errorf("σ̂ = %v, want √(RSS/(n−2)) = %v", sigma, want)
	}
}

func TestCurveErrorsAndDeterminism(t *testing.T) {
	g := simGrids()[0]
	cfg := DefaultCurveConfig()
	flat := make([]float64, len(g.x))
	if _, err := TestCurve(g.x, flat, g.sch, cfg, rand.New(rand.NewPCG(1, 1))); !errors.Is(err, ErrFlat) {
		t.Errorf("flat curve: err %v, want ErrFlat", err)
	}
	if _, err := TestCurve(g.x[:7], flat[:7], Schedule{}, cfg, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("7 points: no error")
	}
	y := make([]float64, len(g.x))
	jumpCurve(rand.New(rand.NewPCG(3, 3)), g.x, y, 0.05, 1)
	r1, err1 := TestCurve(g.x, y, g.sch, cfg, rand.New(rand.NewPCG(9, 9)))
	r2, err2 := TestCurve(g.x, y, g.sch, cfg, rand.New(rand.NewPCG(9, 9)))
	if err1 != nil || err2 != nil || r1.P != r2.P || r1.Stat != r2.Stat || r1.Replicates != r2.Replicates || len(r1.Jumps) != len(r2.Jumps) {
		t.Errorf("same rng, different results: %+v / %+v", r1, r2)
	}
	defer func() {
		if recover() == nil {
			t.Error("CumLR of the wrong length did not panic")
		}
	}()
	TestCurve(g.x, y, Schedule{CumLR: []float64{1, 2}}, cfg, rand.New(rand.NewPCG(1, 1)))
}

// TestMCPValueTies: replicate statistics within rounding of the observed one are ties and count
// as exceedances, so a statistic at round-off level (the jump fit is the null fit) gets p = 1
// after Exceedances replicates, whichever side of it the replicates' own round-off falls; a
// statistic above statTieTol is untouched by it.
func TestMCPValueTies(t *testing.T) {
	cfg := DefaultCurveConfig()
	rng := rand.New(rand.NewPCG(11, 12))
	roundOff := func() float64 { return (rng.Float64() - 0.5) * 1e-12 }
	for range 20 {
		p, b := mcPValue(roundOff(), cfg, roundOff)
		if p != 1 || b != cfg.Exceedances {
			t.Fatalf("round-off statistic: p = %v after %d replicates, want 1 after %d", p, b, cfg.Exceedances)
		}
	}
	// A real statistic (5) against replicates below it by more than the tolerance: never reached.
	p, b := mcPValue(5, cfg, func() float64 { return 5 - 10*statTieTol })
	if want := 1 / float64(1+cfg.MaxReplicates); p != want || b != cfg.MaxReplicates {
		t.Fatalf("t = 5, replicates 5 − 10·tol: p = %v after %d, want %v after %d", p, b, want, cfg.MaxReplicates)
	}
	// Replicates at t − tol/2 are ties.
	if p, _ := mcPValue(5, cfg, func() float64 { return 5 - statTieTol/2 }); p != 1 {
		t.Fatalf("replicates within the tolerance below t: p = %v, want 1", p)
	}
}

// TestCurveNoiselessNull: a noiseless wide logistic (a smooth null, which the
// one-logistic model fits as exactly) gives a statistic at round-off level, and its p-value is 1,
// not a draw of rounding noise.
func TestCurveNoiselessNull(t *testing.T) {
	g := simGrids()[0]
	cfg := DefaultCurveConfig()
	y := make([]float64, len(g.x))
	for i, x := range g.x {
		y[i] = 0.1 + 0.7*logistic((x-1.5)/(0.6/WidthPerScale))
	}
	for seed := range uint64(5) {
		ct, err := TestCurve(g.x, y, g.sch, cfg, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(ct.Stat) > statTieTol || ct.P != 1 || ct.Replicates != cfg.Exceedances {
			t.Fatalf("seed %d: statistic %g, p %v after %d replicates; want |T| ≤ %g, p = 1 after %d", seed, ct.Stat, ct.P, ct.Replicates, statTieTol, cfg.Exceedances)
		}
	}
}
