package transition

import "math"

// Specificity is the result of SpecificityTest.
type Specificity struct {
	// The 2×2 table: Jump cells (whose task jumps) with and without an
	// internal transition, and NoJump cells (whose task never jumps) with and
	// without one. N is the total.
	JumpWith, JumpWithout, NoJumpWith, NoJumpWithout, N int
	// RateJump and RateNoJump are the transition rates of the two groups
	// (NaN for an empty group); OddsRatio is the sample odds ratio
	// (JumpWith·NoJumpWithout)/(JumpWithout·NoJumpWith), possibly ±Inf or NaN.
	RateJump, RateNoJump, OddsRatio float64
	// P is the one-sided Fisher exact p-value (NaN if either group is empty);
	// MinP is the smallest P any table with the same margins gives (all the
	// transitions that can be in Jump cells are there): when it exceeds α the
	// design cannot show specificity, whatever the cells did.
	P, MinP float64
	// Method names the test; Null states its null hypothesis.
	Method, Null string
}

// SpecificityTest asks whether a curve's transition is specific to cells that
// learn: is its transition rate higher in cells whose task jumps than in cells
// whose task never jumps? The counts form the table
//
//	                 transition   none
//	task jumps           a          b
//	task never jumps     c          d
//
// H0: the transition is independent of whether the task jumps (equal rates,
// odds ratio 1); H1: it is more frequent where the task jumps (odds ratio > 1).
// Conditioning on the margins, a has the hypergeometric distribution and
//
//	P = Σ_{x ≥ a} C(a+b, x)·C(c+d, a+c−x) / C(N, a+c)
//
// (Fisher 1935, The Design of Experiments, §2; scipy.stats.fisher_exact with
// alternative="greater"). Assumptions: cells are independent. The test is
// conservative with small margins. With no cell in one group P is NaN: a
// transition that appears everywhere cannot be told from one that appears only
// where the task is learnt without non-learning cells to compare with.
//
// SpecificityTest panics if a count is negative.
func SpecificityTest(a, b, c, d int) Specificity {
	if a < 0 || b < 0 || c < 0 || d < 0 {
		panic("transition: negative count in SpecificityTest")
	}
	n := a + b + c + d
	s := Specificity{
		JumpWith: a, JumpWithout: b, NoJumpWith: c, NoJumpWithout: d, N: n,
		RateJump: math.NaN(), RateNoJump: math.NaN(), P: math.NaN(), MinP: math.NaN(),
		Method: "Fisher's exact test, one-sided (greater)",
		Null:   "the internal transition rate is the same in cells whose task jumps and in cells whose task never jumps",
	}
	if a+b > 0 {
		s.RateJump = float64(a) / float64(a+b)
	}
	if c+d > 0 {
		s.RateNoJump = float64(c) / float64(c+d)
	}
	s.OddsRatio = float64(a*d) / float64(b*c) // 0/0 = NaN, x/0 = +Inf
	if a+b == 0 || c+d == 0 {
		return s
	}
	r1, c1 := a+b, a+c
	lchoose := func(n, k int) float64 {
		x, _ := math.Lgamma(float64(n + 1))
		y, _ := math.Lgamma(float64(k + 1))
		z, _ := math.Lgamma(float64(n - k + 1))
		return x - y - z
	}
	den := lchoose(n, c1)
	tail := func(from int) float64 {
		var p float64
		for x := from; x <= min(r1, c1); x++ {
			if c1-x > c+d {
				continue
			}
			p += math.Exp(lchoose(r1, x) + lchoose(c+d, c1-x) - den)
		}
		return math.Min(1, p)
	}
	s.P = tail(a)
	s.MinP = tail(min(r1, c1))
	return s
}

// NoJumpCellsFor returns the smallest number of cells whose task never jumps
// that would let a table with a of r1 Jump cells transitioning reach alpha,
// were none of them to transition: the smallest m with C(r1, a)/C(r1+m, a) ≤
// alpha (one-sided Fisher p of the table (a, r1−a; 0, m)), or 0 when a is 0
// (no number of cells can). It panics unless 0 < alpha ≤ 1 and 0 ≤ a ≤ r1.
func NoJumpCellsFor(a, r1 int, alpha float64) int {
	if !(alpha > 0 && alpha <= 1) || a < 0 || a > r1 {
		panic("transition: NoJumpCellsFor: invalid arguments")
	}
	if a == 0 {
		return 0
	}
	lg := func(k int) float64 { v, _ := math.Lgamma(float64(k + 1)); return v }
	for m := 1; ; m++ {
		// ln C(r1, a) − ln C(r1+m, a)
		if lg(r1)-lg(r1-a)-lg(r1+m)+lg(r1+m-a) <= math.Log(alpha)+1e-9 { // p ≤ alpha, Lgamma's rounding aside
			return m
		}
	}
}
