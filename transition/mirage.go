package transition

import (
	"fmt"
	"math"
)

// IndependenceTo puts in dst the exact match predicted from per-position
// accuracies if positions were answered independently (Schaeffer et al. 2023,
// §2: exact match over L tokens ≈ p^L):
//
//	dst[c] = Π_j p[c][j],
//
// where p[c][j] is the accuracy at answer position j at checkpoint c. If dst
// is nil a new slice is allocated; otherwise it must have len(p) elements.
// IndependenceTo panics if the rows of p differ in length or dst has the wrong
// length.
func IndependenceTo(dst []float64, p [][]float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(p))
	}
	if len(dst) != len(p) {
		panic("transition: dst length differs from the number of checkpoints")
	}
	for c, row := range p {
		if len(row) != len(p[0]) {
			panic("transition: per-position accuracy rows differ in length")
		}
		prod := 1.0
		for _, v := range row {
			prod *= v
		}
		dst[c] = prod
	}
	return dst
}

// IndependenceGap summarises |EM − Π_j p_j| over a curve (see
// CompareIndependence).
type IndependenceGap struct {
	MeanAbs float64 // mean over checkpoints of |EM − Πp|
	MaxAbs  float64 // largest |EM − Πp|
	MaxAt   int     // checkpoint index of MaxAbs (the first, on ties)
	Mean    float64 // mean of EM − Πp: positive when answers are right together more often than independence predicts
}

// CompareIndependence compares the measured exact match em[c] with the
// prediction under independence Π_j p[c][j] (IndependenceTo) at every
// checkpoint. A small gap says that the exact-match curve is what the
// per-position accuracies imply: its sharpness is then arithmetic, not a
// separate event (Schaeffer et al. 2023). A large positive gap says the
// positions succeed together.
//
// CompareIndependence panics if len(em) != len(p), if p has no checkpoints,
// or if the rows of p differ in length; it returns an error if a value is not a
// finite number in [0, 1].
func CompareIndependence(em []float64, p [][]float64) (IndependenceGap, error) {
	if err := checkMirageInputs(em, p); err != nil {
		return IndependenceGap{}, err
	}
	return gapOf(em, IndependenceTo(nil, p)), nil
}

// MeanPowerTo puts in dst the exact match that Schaeffer et al. (2023, §2,
// "Alternative explanation for emergent abilities") predict from per-token
// accuracy alone: with p the probability that one token is right and L the
// answer length, exact match ≈ p^L. Here p is the mean per-token accuracy at
// checkpoint c over the L = len(p[c]) answer positions:
//
//	dst[c] = (mean_j p[c][j])^L.
//
// By the AM–GM inequality it is never below the independence prediction
// Π_j p[c][j] (IndependenceTo), with equality when all positions are equally
// accurate: the gap between the two says how much of the prediction rests on
// the positions differing. If dst is nil a new slice is allocated; otherwise
// it must have len(p) elements. MeanPowerTo panics if the rows of p differ in
// length or are empty, or dst has the wrong length.
func MeanPowerTo(dst []float64, p [][]float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(p))
	}
	if len(dst) != len(p) {
		panic("transition: dst length differs from the number of checkpoints")
	}
	for c, row := range p {
		if len(row) != len(p[0]) || len(row) == 0 {
			panic("transition: per-position accuracy rows differ in length or are empty")
		}
		var s float64
		for _, v := range row {
			s += v
		}
		dst[c] = math.Pow(s/float64(len(row)), float64(len(row)))
	}
	return dst
}

// CompareMeanPower compares the measured exact match em[c] with the
// prediction p̄^L of Schaeffer et al. (2023, §2) (MeanPowerTo) at every
// checkpoint, as CompareIndependence does for Π_j p_j. It panics and returns
// errors as CompareIndependence does.
func CompareMeanPower(em []float64, p [][]float64) (IndependenceGap, error) {
	if err := checkMirageInputs(em, p); err != nil {
		return IndependenceGap{}, err
	}
	return gapOf(em, MeanPowerTo(nil, p)), nil
}

// checkMirageInputs panics on mismatched shapes and returns an error for a
// value outside [0, 1].
func checkMirageInputs(em []float64, p [][]float64) error {
	if len(em) != len(p) {
		panic("transition: em and p have different numbers of checkpoints")
	}
	if len(em) == 0 {
		panic("transition: the comparison needs at least one checkpoint")
	}
	for c := range em {
		if !(em[c] >= 0 && em[c] <= 1) {
			return fmt.Errorf("transition: exact match at checkpoint %d is %v, not in [0, 1]", c, em[c])
		}
		for j, v := range p[c] {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("transition: accuracy at checkpoint %d position %d is %v, not in [0, 1]", c, j, v)
			}
		}
	}
	return nil
}

// gapOf summarises em − pred.
func gapOf(em, pred []float64) IndependenceGap {
	var g IndependenceGap
	for c := range em {
		d := em[c] - pred[c]
		g.Mean += d
		g.MeanAbs += math.Abs(d)
		if math.Abs(d) > g.MaxAbs {
			g.MaxAbs, g.MaxAt = math.Abs(d), c
		}
	}
	g.Mean /= float64(len(em))
	g.MeanAbs /= float64(len(em))
	return g
}
