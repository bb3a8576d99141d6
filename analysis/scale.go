package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/internal/nanstat"
	"github.com/phaseprobe/phaseprobe/transition"
)

// betterSign is +1 for a task metric where higher is better and −1 where lower is
// (MetricInfo.LowerIsBetter): a step with width is emergence only in the improving direction.
func betterSign(metric string) float64 {
	if info, _ := data.LookupMetric(metric); info.LowerIsBetter {
		return -1
	}
	return 1
}

// oneSeedStep returns which seed the scale test's step rests on: the first value of the two widths
// beside the step whose removal leaves the step non-significant (the test rerun: p > alpha, and
// more than ten times the full data's p, so that the loss of one seed's degrees of freedom alone
// does not count), as
// "d_model W seed value V"; "" when no single seed carries it. TestScale's pure error assumes
// Gaussian seeds, and one seed that fails to learn (a bimodal width) can make a step on its own.
func oneSeedStep(widths []float64, values [][]float64, t transition.ScaleTest, alpha float64, rng *rand.Rand) string {
	for _, k := range []int{t.Gap, t.Gap + 1} {
		if len(values[k]) < 3 {
			continue
		}
		for j := range values[k] {
			vs := slices.Clone(values)
			vs[k] = slices.Delete(slices.Clone(values[k]), j, j+1)
			cfg := transition.DefaultScaleConfig()
			cfg.MinSeeds = 2 // the width left one seed short
			r, err := transition.TestScale(widths, vs, cfg, rng)
			if err == nil && r.P > alpha && r.P > 10*t.P {
				return fmt.Sprintf("the d_model %g seed at %.2f", widths[k], values[k][j])
			}
		}
	}
	return ""
}

// scaleMetrics are the task metrics asked the scale question, in the vocabulary's order
// (all-or-nothing first): the whole-answer scorings. Per-position accuracy (one curve per answer
// position) is left out, and so is the loss, which train.Score defines as −logprob: it is asked
// once, as logprob.
var scaleMetrics = func() []string {
	var out []string
	for _, m := range data.MetricNames(data.KindTask) {
		if info, _ := data.LookupMetric(m); !info.Axes.Has(data.AxisPosition) && m != data.MetricLoss {
			out = append(out, m)
		}
	}
	return out
}()

// scaleRows asks, for a family of at least MinWidths widths, whether each task metric jumps with
// d_model at the final checkpoint (transition.TestScale: a step between adjacent widths against
// smooth trends in log2 width — a line, wide logistics, saturating power laws — seeds as
// replicates), adding BIG-bench's linearity and breakthroughness of
// the seed means (Srivastava et al. 2022) to the reason.
func scaleRows(b *verdictBuilder, cs *curves, shapes []shapeKey, cells map[shapeKey][]string, split string, base data.VerdictRow, opt Options) {
	d := opt.Decisions
	for _, m := range scaleMetrics {
		var widths []float64
		var values [][]float64
		var means []float64
		for _, s := range shapes {
			var v []float64
			for _, c := range cells[s] {
				if cv := cs.get(c, taskSeries(split, m)); cv != nil {
					if x := cv.last(); !math.IsNaN(x) {
						v = append(v, x)
					}
				}
			}
			if len(v) == 0 {
				continue
			}
			widths = append(widths, float64(s.dModel))
			values = append(values, v)
			means = append(means, nanstat.Mean(v))
		}
		r := base
		r.Metric, r.TaskMetric, r.Subject = m, m, m+" at the final checkpoint over d_model"
		r.Cells = int32(len(widths))
		rng := rand.New(rand.NewPCG(opt.Seed, streamSeed(fmt.Sprintf("scale|%s|%d|%d|%s", base.Task, base.NLayers, base.NHeads, m))))
		t, err := transition.TestScale(widths, values, transition.DefaultScaleConfig(), rng)
		if err != nil {
			r.Verdict = verdictUndetermined
			r.Reason = err.Error()
			b.add(r)
			continue
		}
		r.Stat, r.P, r.Effect = data.F(t.Statistic), data.F(t.P), data.F(t.Jump)
		r.Method, r.NullHyp = t.Method, t.NullHyp
		bb, bbErr := transition.BigBench(means)
		i := b.add(r)
		b.test(i, t.P)
		gap := [2]float64{widths[t.Gap], widths[t.Gap+1]}
		b.decide[i] = func(q float64) {
			row := &b.rows[i]
			// transition.ScaleTest.Direction: the step and the change between its widths agree,
			// the change is clear of noise and the largest there, the step a real part of the
			// range; otherwise a significant step is curvature the family lacks, not a jump.
			dir := float64(t.Direction()) * betterSign(m)
			improves, worsens := dir > 0, dir < 0
			clear := math.Abs(t.Change) > 2*t.ChangeSE
			oneSeed := "" // asked only of a significant step: it reruns the test once per seed beside the step
			if q <= d.FDRLevel {
				oneSeed = oneSeedStep(widths, values, t, d.Alpha, rng) // rng: this metric's stream, drawn from nowhere else
			}
			step := fmt.Sprintf("a step of %+.3f between d_model %g and %g beyond every smooth trend in log2 width (best: %s)", t.Jump, gap[0], gap[1], t.Null)
			switch {
			case q <= d.FDRLevel && oneSeed != "":
				row.Verdict = verdictUndetermined
				row.Reason = fmt.Sprintf("%s, but it rests on one seed: without %s it is not significant (p > α)", step, oneSeed)
			case q <= d.FDRLevel && improves:
				row.Verdict = "jumps with width"
				row.Reason = step
			case q <= d.FDRLevel && worsens:
				row.Verdict = "drops at a width (not emergence)"
				row.Reason = step + ", in the worsening direction"
			case q <= d.FDRLevel && t.Jump*t.Change > 0 && clear:
				row.Verdict = verdictUndetermined
				row.Reason = fmt.Sprintf("%s, but it is %.0f%% of the seed means' range over width (a jump needs %.0f%%, and the largest change between neighbouring widths there): a departure from the smooth trends, not a jump", step, 100*math.Abs(t.Jump)/(slices.Max(means)-slices.Min(means)), 100*transition.MinJumpFrac)
			case q <= d.FDRLevel && t.Jump*t.Change > 0:
				row.Verdict = verdictUndetermined
				row.Reason = fmt.Sprintf("%s, but the seed mean changes by only %+.3f (SE %.3f) between those widths: not a jump there", step, t.Change, t.ChangeSE)
			case q <= d.FDRLevel:
				row.Verdict = verdictUndetermined
				row.Reason = fmt.Sprintf("%s, but the seed mean changes by %+.3f there, the other way: a curvature the smooth family does not hold, not a jump", step, t.Change)
			default:
				row.Verdict = "smooth over width"
				row.Reason = fmt.Sprintf("no step between adjacent widths beyond the smooth trends in log2 width (largest at d_model %g→%g, %+.3f; best smooth fit: %s)", gap[0], gap[1], t.Jump, t.Null)
			}
			if bbErr == nil {
				row.Reason += fmt.Sprintf("; BIG-bench linearity %.2f, breakthroughness %.2f of the seed means", bb.Linearity, bb.Breakthroughness)
			}
		}
	}
}
