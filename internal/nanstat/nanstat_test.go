package nanstat

import (
	"math"
	"slices"
	"testing"
)

// TestMedianMean: values checked by hand (numpy.nanmedian and numpy.nanmean give the same); NaN
// is skipped, an all-NaN or empty input gives NaN, and the input is not modified.
func TestMedianMean(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		v            []float64
		median, mean float64
	}{
		{[]float64{3, 1, 2}, 2, 2},
		{[]float64{4, 1, 3, 2}, 2.5, 2.5},
		{[]float64{nan, 5, 1, nan}, 3, 3},
		{[]float64{-1, 10, 0}, 0, 3},
		{[]float64{7}, 7, 7},
		{[]float64{nan}, nan, nan},
		{nil, nan, nan},
	} {
		in := slices.Clone(c.v)
		if got := Median(c.v); !same(got, c.median) {
			t.Errorf("Median(%v) = %v, want %v", c.v, got, c.median)
		}
		if got := Mean(c.v); !same(got, c.mean) {
			t.Errorf("Mean(%v) = %v, want %v", c.v, got, c.mean)
		}
		if !slices.EqualFunc(in, c.v, same) {
			t.Errorf("input modified: %v, was %v", c.v, in)
		}
	}
}

func same(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
