package transition

import (
	"math"
	"testing"
)

func TestBHTo(t *testing.T) {
	nan := math.NaN()
	p := []float64{0.01, 0.04, 0.03, nan, 0.2, 0.04, 0.9, 0.001, 0.5, 0.049}
	// statsmodels 0.13.5 multipletests(p[~isnan(p)], method="fdr_bh")[1] via /usr/bin/python3,
	// NaN put back in its place (statsmodels does not take NaN).
	want := []float64{0.045, 0.072, 0.072, nan, 0.2571428571428572, 0.072, 0.9, 0.009, 0.5625, 0.0735}
	orig := append([]float64(nil), p...)
	got := BHTo(nil, p)
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-12) {
			t.Errorf("q[%d] = %v, want %v", i, got[i], want[i])
		}
		if math.IsNaN(orig[i]) != math.IsNaN(p[i]) || (!math.IsNaN(p[i]) && p[i] != orig[i]) {
			t.Errorf("input modified at %d", i)
		}
	}
	// In place gives the same.
	inPlace := BHTo(p, p)
	for i := range want {
		if !(math.IsNaN(got[i]) && math.IsNaN(inPlace[i])) && got[i] != inPlace[i] {
			t.Errorf("in place q[%d] = %v, want %v", i, inPlace[i], got[i])
		}
	}
}

func TestBHToInvariants(t *testing.T) {
	// Monotone in p, q ≥ p, and a single p-value is its own q (m = 1: closed form).
	p := []float64{0.3, 0.001, 0.02, 0.02, 0.8, 0.04, 0.049, 0.5}
	q := BHTo(nil, p)
	for i := range p {
		if q[i] < p[i] || q[i] > 1 {
			t.Errorf("q[%d] = %v outside [p, 1] for p = %v", i, q[i], p[i])
		}
		for j := range p {
			if p[i] < p[j] && q[i] > q[j] {
				t.Errorf("not monotone: p %v→q %v, p %v→q %v", p[i], q[i], p[j], q[j])
			}
			if p[i] == p[j] && q[i] != q[j] {
				t.Errorf("tied p got q %v and %v", q[i], q[j])
			}
		}
	}
	if q := BHTo(nil, []float64{math.NaN(), 0.03, math.NaN()}); q[1] != 0.03 {
		t.Errorf("single p: q = %v, want 0.03 (NaN must not count in m)", q[1])
	}
}

func TestBHToPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"length": func() { BHTo(make([]float64, 2), []float64{0.1}) },
		"range":  func() { BHTo(nil, []float64{1.5}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
