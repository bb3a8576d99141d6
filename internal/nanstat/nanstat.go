// Package nanstat has the summary statistics that the analysis and the report both take of
// values where NaN marks a missing one: numpy's nanmedian and nanmean.
package nanstat

import (
	"math"
	"slices"
)

// Median returns the median of the values of v that are not NaN (the mean of the two middle ones
// for an even count), NaN when there are none, like numpy.nanmedian. v is not modified.
func Median(v []float64) float64 {
	v = slices.DeleteFunc(slices.Clone(v), math.IsNaN)
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// Mean returns the arithmetic mean of the values of v that are not NaN, summed in order, NaN
// when there are none, like numpy.nanmean.
func Mean(v []float64) float64 {
	s, n := 0.0, 0
	for _, x := range v {
		if !math.IsNaN(x) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
