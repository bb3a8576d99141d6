package transition

import (
	"fmt"
	"math"
)

// MinBigBenchPoints is the fewest points on which Linearity and
// Breakthroughness give a score. With m = n − 1 differences the root median
// square of 2 differences is their root mean square, so on 3 points
// breakthroughness equals linearity and a line [0, .5, 1] (B = 2) outscores a
// step [0, 0, 1] (B = √2); on 4 points the median still averages two of three
// squared differences. From 5 points (4 differences) a single jump leaves the
// median at the small steps and B separates jumps from lines.
const MinBigBenchPoints = 5

// improvement is BIG-bench's I(y) = sign(argmax y − argmin y)·(max y − min y):
// the total change of the curve, positive when the maximum comes after the
// minimum. The first maximiser and minimiser are used.
func improvement(y []float64) float64 {
	imax, imin := 0, 0
	for i, v := range y {
		if v > y[imax] {
			imax = i
		}
		if v < y[imin] {
			imin = i
		}
	}
	d := y[imax] - y[imin]
	if imax < imin {
		return -d
	}
	return d
}

// Linearity returns BIG-bench's linearity score of a curve y ordered by
// increasing scale (model size, or training step):
//
//	L = I(y) / RootMeanSquare_i(y[i+1] − y[i]),
//	I(y) = sign(argmax_i y[i] − argmin_i y[i]) · (max_i y[i] − min_i y[i]),
//
// after Srivastava et al. (2022), "Beyond the Imitation Game",
// arXiv:2206.04615, §3.4 and Appendix B ("Definitions of linearity and
// breakthroughness"). A high L is the paper's "linear" scaling: with
// m = len(y) − 1 steps |L| ≤ m, with equality exactly when the curve rises (or
// falls) by equal steps; a single jump gives L = √m; noise without a trend
// gives |L| of order 1. L is negative when the curve gets worse with scale.
// Only the order of the points matters, not the x spacing.
//
// Provenance: the appendix itself could not be retrieved here. I(y) and the
// root-median-square denominator of Breakthroughness match an independent
// reimplementation (its "legacy" mode) and the "emergence score" that
// Schaeffer et al. (2023, §4) take from BIG-bench; the root-mean-square
// denominator of L is from memory of the appendix and not confirmed.
//
// Linearity returns NaN for fewer than MinBigBenchPoints points (use BigBench
// for the reason) and 0 for a constant curve.
func Linearity(y []float64) float64 {
	if len(y) < MinBigBenchPoints {
		return math.NaN()
	}
	var s float64
	for i := 0; i+1 < len(y); i++ {
		d := y[i+1] - y[i]
		s += d * d
	}
	if s == 0 {
		return 0
	}
	return improvement(y) / math.Sqrt(s/float64(len(y)-1))
}

// Breakthroughness returns BIG-bench's breakthroughness score of a curve y
// ordered by increasing scale:
//
//	B = I(y) / RootMedianSquare_i(y[i+1] − y[i]),
//
// with I(y) as in Linearity (Srivastava et al. 2022, §3.4 and Appendix B;
// Schaeffer et al. 2023, §4, use it as the "emergence score"). A high B is the
// paper's "breakthrough" scaling: the median makes B large when most steps are
// small and the improvement comes from a few. A curve flat but for one jump has
// B → ∞, a curve rising by equal steps has B = m = len(y) − 1.
//
// Breakthroughness returns NaN for fewer than MinBigBenchPoints points, 0 for
// a constant curve, and ±Inf for a curve whose median squared step is 0 but
// which changes.
func Breakthroughness(y []float64) float64 {
	if len(y) < MinBigBenchPoints {
		return math.NaN()
	}
	sq := make([]float64, len(y)-1)
	for i := range sq {
		d := y[i+1] - y[i]
		sq[i] = d * d
	}
	I := improvement(y)
	if I == 0 {
		return 0
	}
	return I / math.Sqrt(median(sq))
}

// BigBenchScores holds Linearity and Breakthroughness of one curve.
type BigBenchScores struct {
	Linearity, Breakthroughness float64
	Points                      int
}

// BigBench returns Linearity and Breakthroughness of y, or an error saying why
// there is no score: fewer than MinBigBenchPoints points ("3 widths give no
// score"), or a non-finite value.
func BigBench(y []float64) (BigBenchScores, error) {
	if len(y) < MinBigBenchPoints {
		return BigBenchScores{Linearity: math.NaN(), Breakthroughness: math.NaN(), Points: len(y)},
			fmt.Errorf("transition: BIG-bench scores need at least %d points, have %d (with fewer, breakthroughness degenerates to linearity)", MinBigBenchPoints, len(y))
	}
	if err := checkValues(y, MinBigBenchPoints); err != nil {
		return BigBenchScores{Linearity: math.NaN(), Breakthroughness: math.NaN(), Points: len(y)}, err
	}
	return BigBenchScores{Linearity: Linearity(y), Breakthroughness: Breakthroughness(y), Points: len(y)}, nil
}
