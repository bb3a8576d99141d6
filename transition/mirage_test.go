package transition

import (
	"math"
	"testing"
)

func TestIndependence(t *testing.T) {
	p := [][]float64{{0.5, 0.5, 0.5}, {0.9, 1, 0.8}, {1, 1, 1}}
	// Closed form: products of the rows.
	want := []float64{0.125, 0.72, 1}
	got := IndependenceTo(nil, p)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("IndependenceTo[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	dst := make([]float64, 3)
	if out := IndependenceTo(dst, p); &out[0] != &dst[0] {
		t.Error("IndependenceTo did not write into dst")
	}
	g, err := CompareIndependence([]float64{0.125, 0.80, 0.95}, p)
	if err != nil {
		t.Fatal(err)
	}
	// Gaps 0, +0.08, −0.05.
	if math.Abs(g.MeanAbs-0.13/3) > 1e-15 || math.Abs(g.MaxAbs-0.08) > 1e-15 || g.MaxAt != 1 || math.Abs(g.Mean-0.01) > 1e-15 {
		t.Errorf("CompareIndependence = %+v", g)
	}
	if _, err := CompareIndependence([]float64{0.1, 1.2, 0.5}, p); err == nil {
		t.Error("exact match 1.2: no error")
	}
}

func TestMeanPower(t *testing.T) {
	p := [][]float64{{0.5, 0.5, 0.5}, {0.9, 1, 0.8}, {1, 1, 1}}
	// Closed form: (row mean)³ = 0.125, 0.9³ = 0.729, 1.
	want := []float64{0.125, 0.729, 1}
	got := MeanPowerTo(nil, p)
	ind := IndependenceTo(nil, p)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("MeanPowerTo[%d] = %v, want %v", i, got[i], want[i])
		}
		if got[i] < ind[i] { // AM–GM
			t.Errorf("checkpoint %d: p̄^L %v below Πp %v", i, got[i], ind[i])
		}
	}
	g, err := CompareMeanPower([]float64{0.125, 0.72, 1}, p)
	if err != nil {
		t.Fatal(err)
	}
	// Gaps 0, −0.009, 0.
	if math.Abs(g.MaxAbs-0.009) > 1e-15 || g.MaxAt != 1 || math.Abs(g.Mean+0.003) > 1e-15 {
		t.Errorf("CompareMeanPower = %+v", g)
	}
	if _, err := CompareMeanPower([]float64{0.1, -0.2, 0.5}, p); err == nil {
		t.Error("exact match −0.2: no error")
	}
}
