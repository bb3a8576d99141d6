package transition

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Direction says which way a curve is expected to move.
type Direction int

const (
	// Auto infers the direction from the data: increasing when the mean of the
	// last ⌈n/4⌉ points exceeds the mean of the first ⌈n/4⌉ points, decreasing
	// otherwise.
	Auto Direction = iota
	// Increasing is for metrics that improve upwards (accuracy, log-probability).
	Increasing
	// Decreasing is for metrics that improve downwards (loss, edit distance).
	Decreasing
)

// ErrNoCrossing is returned by ThresholdCrossing when the curve never crosses
// the level in the requested direction.
var ErrNoCrossing = errors.New("transition: curve does not cross the level")

// ErrFlat is returned when a curve is constant, so that no transition can be
// located on it.
var ErrFlat = errors.New("transition: curve is flat")

// ErrCoarse is returned by TestCurve for a curve whose range is below
// CurveConfig.MinQuanta steps of its CurveConfig.Resolution: an accuracy over
// N examples that moves by fewer than MinQuanta examples. It wraps ErrFlat
// (errors.Is(ErrCoarse, ErrFlat)): no transition can be shown on it. See
// CurveConfig.MinQuanta for why such curves are not tested.
var ErrCoarse = fmt.Errorf("transition: curve moves by fewer steps of its resolution than CurveConfig.MinQuanta: %w", ErrFlat)

// checkCurve panics if x and y differ in length, and returns an error if the
// curve has fewer than minN points, a non-finite value, or x not strictly
// increasing.
func checkCurve(x, y []float64, minN int) error {
	if len(x) != len(y) {
		panic("transition: x and y lengths differ")
	}
	if len(x) < minN {
		return fmt.Errorf("transition: %d points, need at least %d", len(x), minN)
	}
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) {
			return fmt.Errorf("transition: x[%d] is %v", i, x[i])
		}
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return fmt.Errorf("transition: y[%d] is %v", i, y[i])
		}
		if i > 0 && !(x[i] > x[i-1]) {
			return fmt.Errorf("transition: x not strictly increasing at index %d", i)
		}
	}
	return nil
}

// checkValues returns an error if y has a non-finite value or fewer than minN
// points.
func checkValues(y []float64, minN int) error {
	if len(y) < minN {
		return fmt.Errorf("transition: %d points, need at least %d", len(y), minN)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("transition: y[%d] is %v", i, v)
		}
	}
	return nil
}

// inferDirection implements Auto: it compares the means of the first and last
// ⌈n/4⌉ points.
func inferDirection(y []float64) Direction {
	k := (len(y) + 3) / 4
	var head, tail float64
	for i := 0; i < k; i++ {
		head += y[i]
		tail += y[len(y)-1-i]
	}
	if tail >= head {
		return Increasing
	}
	return Decreasing
}

// CheckpointSpacing returns the median of the gaps x[i+1]−x[i]: the typical
// distance between checkpoints. On log10(step+1) it is the natural tolerance for
// onset comparisons (see DefaultAlignConfig). It panics if len(x) < 2.
func CheckpointSpacing(x []float64) float64 {
	if len(x) < 2 {
		panic("transition: CheckpointSpacing needs at least 2 points")
	}
	d := make([]float64, len(x)-1)
	for i := range d {
		d[i] = x[i+1] - x[i]
	}
	return median(d)
}

// median returns the median of v (the mean of the two middle values for even
// lengths) without modifying v.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return 0.5 * (s[n/2-1] + s[n/2])
}

// meanOf returns the arithmetic mean of v.
func meanOf(v []float64) float64 {
	var s float64
	for _, a := range v {
		s += a
	}
	return s / float64(len(v))
}
