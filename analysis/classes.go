package analysis

import (
	"math"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/transition"
)

// cellClass is what a cell's primary task curve (exact match on the primary split) says about it.
type cellClass struct {
	learned      bool    // final exact match ≥ Decisions.Learned: the cell has the capability
	neverLearned bool    // final exact match < Decisions.NeverLearned: a baseline for specificity
	jump         bool    // learned, and exact match is abrupt with a rising jump: the capability jump
	smallJump    bool    // exact match is abrupt with a rising jump but the cell does not learn
	warmupJump   bool    // exact match is abrupt, and its only rising jumps lie in the warm-up: no onset to assess
	diverged     bool    // its training diverged (the metrics' "diverged" row)
	final        float64 // final exact match
	onset        *curveResult
	jumpIdx      int // index into onset.test.Jumps of the capability jump
}

// taskOnset is the cell's capability-jump onset under an onset definition (NaN without a jump).
func (c cellClass) taskOnset(def string) float64 {
	if !c.jump {
		return math.NaN()
	}
	j := c.onset.test.Jumps[c.jumpIdx]
	switch def {
	case onsetMid:
		return j.Mid
	case onset10:
		return j.Onset10
	}
	return c.onset.change
}

// capabilityJump picks the jump of an exact-match curve that stands for the capability: a rising
// jump outside the warm-up, those significant on their own first, then the largest; -1 if none.
func capabilityJump(js []transition.Jump, alpha float64) int {
	rising := make([]transition.Jump, len(js))
	for i, j := range js {
		rising[i] = j
		if j.Size <= 0 {
			rising[i].InWarmup = true // excluded, as mainJump skips warm-up jumps
		}
	}
	return mainJump(rising, alpha)
}

// classifyCells reads each cell's exact match on the primary split. A cell has the capability jump
// when it learns the task (final exact match ≥ Learned: a 1-layer control that rises 0.02 → 0.10
// has none) and its exact match is abrupt (q ≤ the FDR level) with a rising jump; the onset is that
// jump's.
func classifyCells(cs *curves, res map[curveKey]*curveResult, split string, d Decisions) map[string]cellClass {
	out := map[string]cellClass{}
	for cell := range cs.cells {
		c := cs.get(cell, taskSeries(split, data.MetricExactMatch))
		if c == nil {
			continue
		}
		cl := cellClass{final: c.last(), jumpIdx: -1}
		_, cl.diverged = cs.diverged[cell]
		cl.learned = cl.final >= d.Learned
		// A cell whose training diverged did not show it cannot learn: it is no never-learning
		// baseline, whatever its exact match was before the loss stopped being finite.
		cl.neverLearned = cl.final < d.NeverLearned && !cl.diverged
		r := res[curveKey{cell, c.series}]
		if r != nil && r.abrupt {
			if k := capabilityJump(r.test.Jumps, d.Alpha); k >= 0 {
				cl.onset, cl.jumpIdx = r, k
				cl.jump = cl.learned
				cl.smallJump = !cl.learned
			} else {
				// Only when every rising jump is in the warm-up: a rising jump after it that is
				// not significant on its own leaves the curve abrupt overall, not a warm-up jump.
				rising, warm := 0, 0
				for _, j := range r.test.Jumps {
					if j.Size > 0 {
						rising++
						if j.InWarmup {
							warm++
						}
					}
				}
				cl.warmupJump = rising > 0 && warm == rising
			}
		}
		out[cell] = cl
	}
	return out
}
