// Package transition finds transitions in metric curves and tests whether an
// internal transition lines up with a task-level one.
//
// A curve is a pair of equal-length slices x and y: x is the training step
// (analysed on log10(step+1), so that one unit is a decade) or the model width,
// and y is a metric (exact match, per-token accuracy, mean log-probability,
// effective rank, probe accuracy, ...). x must be strictly increasing.
//
// The package offers
//
//   - onset estimates: a least-squares logistic fit ([FitSigmoid]), the first
//     crossing of the half-way level ([ThresholdCrossing]), the steepest slope
//     ([SteepestSlope]) and penalised change points ([PELT],
//     [MostSignificantChange]);
//   - a calibrated per-curve test ([TestCurve], tuned by [CurveConfig], on the
//     run's [Schedule]): a parametric-bootstrap generalised likelihood ratio of
//     one or two logistic jumps against smooth nulls on the run's own grid
//     (line, power law, the Gompertz accuracy implied by a power-law loss,
//     relaxation in the cumulative learning rate, logistics at least W0 wide),
//     with AR(1) noise and Besag–Clifford sequential p-values; every jump has
//     its onset, size, own p and a warm-up flag. [Detect] is the older
//     descriptive fit (ΔAIC of a sigmoid over smooth fits): uncalibrated, it
//     describes a curve and supports no claim;
//   - mirage helpers (Schaeffer et al. 2023): exact match predicted from
//     per-position accuracies under independence ([IndependenceTo],
//     [CompareIndependence]) and from the mean per-token accuracy as p̄^L
//     ([MeanPowerTo], [CompareMeanPower]); a local jump test of a continuous
//     scoring across exact match's onset window ([JumpWindow], [TestWindow])
//     that can say both "jumps with it" and "shown smooth" (an equivalence
//     interval); BIG-bench's linearity and breakthroughness (Srivastava et al.
//     2022), which need [MinBigBenchPoints] points ([BigBench]);
//   - the scale axis: a step between adjacent widths against a polynomial in
//     log width, with seeds as pure error ([TestScale]);
//   - multiplicity: Benjamini–Hochberg q-values ([BHTo]);
//   - coupling across cells ([Couple]): a stratified Kendall rank correlation
//     of internal on task onsets within strata (model shapes), so a width
//     effect that moves both is not read as coupling, with an exact one-sided
//     within-stratum permutation p and a stratified Theil–Sen slope with its
//     Kendall-inversion interval;
//   - lead–lag across seeds ([LeadLagTest]): an exact sign-flip test of the
//     mean lag (smallest p 2/2ⁿ, [MinSeedsFor]) and an equivalence test (TOST)
//     for "coincides", so a noisy lag is never evidence of simultaneity;
//   - specificity ([SpecificityTest]): one-sided Fisher exact test of a higher
//     transition rate in cells whose task jumps.
//
// Every test returns its statistic, p, N, method and null; the decision (α,
// FDR level) is the caller's (analysis.Decisions). docs/inference.md states
// each test's null, calibration and what a verdict does and does not mean.
//
// The package does no I/O and no logging. Randomness comes in as a
// *rand.Rand (math/rand/v2); thresholds are parameters. A wrong shape (x and y
// of different lengths) is a programmer error and panics with the prefix
// "transition: "; a data-dependent failure (NaN in y, x not increasing, a flat
// curve) returns an error.
//
// References:
//
//   - Killick, Fearnhead & Eckley (2012), Optimal detection of changepoints with
//     a linear computational cost, JASA 107(500).
//   - Srivastava et al. (2022), Beyond the Imitation Game: Quantifying and
//     extrapolating the capabilities of language models, arXiv:2206.04615,
//     §3.4 and Appendix B.
//   - Schaeffer, Miranda & Koyejo (2023), Are Emergent Abilities of Large
//     Language Models a Mirage?, NeurIPS.
//   - Akaike (1974), A new look at the statistical model identification, IEEE
//     TAC 19(6).
//   - Burnham & Anderson (2002), Model Selection and Multimodel Inference, 2nd
//     ed., §2.6 (ΔAIC scale).
//   - Schwarz (1978), Estimating the dimension of a model, Ann. Statist. 6(2)
//     (BIC, behind DefaultPenalty).
//   - Golub & Pereyra (1973), The differentiation of pseudo-inverses and
//     nonlinear least squares problems whose variables separate, SIAM J. Numer.
//     Anal. 10(2) (variable projection, used by the fits); Moré (1978), The
//     Levenberg–Marquardt algorithm: implementation and theory, LNM 630.
//   - Efron & Tibshirani (1993), An Introduction to the Bootstrap, ch. 13
//     (percentile intervals).
//   - Besag & Clifford (1991), Sequential Monte Carlo p-values, Biometrika
//     78(2); Davison & Hinkley (1997), Bootstrap Methods and their
//     Application, §4.2 (parametric bootstrap tests); Berger (1982),
//     Technometrics 24(4) (intersection–union tests).
//   - Benjamini & Hochberg (1995), JRSS B 57(1); Kendall (1938), Biometrika
//     30; Hirsch, Slack & Smith (1982), Water Resour. Res. 18(1); Sen (1968),
//     JASA 63(324); Theil (1950); Schuirmann (1987), J. Pharmacokin. Biopharm.
//     15(6); Fisher (1935), The Design of Experiments.
package transition
