package analysis

import (
	"github.com/phaseprobe/phaseprobe/data"
)

// transitionRows turns the curve tests into the transitions and jumps tables, in curve order.
func transitionRows(cs *curves, res map[curveKey]*curveResult, opt Options) ([]data.TransitionRow, []data.JumpRow) {
	var trans []data.TransitionRow
	var jumps []data.JumpRow
	for _, k := range cs.sortedKeys() {
		r := res[k]
		c := cs.byKey[k]
		row := data.TransitionRow{Coords: c.coords, Series: c.series, Points: int32(len(r.x)), ChangeStep: data.F(stepOf(r.change))}
		if r.err != nil {
			row.Reason = "not tested: " + r.err.Error()
			trans = append(trans, row)
			continue
		}
		t := r.test
		row.P, row.Q, row.Stat = data.F(t.P), data.F(r.q), data.F(t.Stat)
		row.Null, row.NoiseSD, row.NoiseAR1, row.Replicates = t.Null, data.F(t.Sigma), data.F(t.Phi), int32(t.Replicates)
		row.Abrupt = r.abrupt
		// Every jump of an abrupt curve, and the candidate jumps of every task curve (where the jump
		// model puts them, whatever their p): `phaseprobe zoom --window auto` zooms into those, so a
		// jump the coarse grid could not resolve gets the checkpoints to be resolved.
		if r.abrupt || c.series.Kind == data.KindTask {
			row.Jumps = int32(len(t.Jumps))
			for i, j := range t.Jumps {
				jumps = append(jumps, data.JumpRow{Coords: c.coords, Series: c.series, Jump: int32(i), MidStep: stepOf(j.Mid),
					Onset10: stepOf(j.Onset10), Onset90: stepOf(j.Onset90), Width: j.Width, Lo: j.Lo, Hi: j.Hi, Size: j.Size,
					P: data.F(j.P), InWarmup: j.InWarmup})
			}
		}
		m := r.main
		allWarm := len(t.Jumps) > 0
		for _, j := range t.Jumps {
			allWarm = allWarm && j.InWarmup
		}
		if r.abrupt && m < 0 && allWarm {
			m = 0 // every jump is in the warm-up: describe the first, flagged
			row.InWarmup = true
		}
		if r.abrupt && m >= 0 {
			j := t.Jumps[m]
			row.MidStep, row.Onset10, row.Onset90 = data.F(stepOf(j.Mid)), data.F(stepOf(j.Onset10)), data.F(stepOf(j.Onset90))
			row.Width, row.Lo, row.Hi, row.Size = data.F(j.Width), data.F(j.Lo), data.F(j.Hi), data.F(j.Size)
			row.InWarmup = row.InWarmup || j.InWarmup
		}
		switch {
		case r.abrupt && row.InWarmup:
			row.Reason = "abrupt, but every jump lies in the learning-rate warm-up"
		case r.abrupt && m < 0:
			// The curve departs from every smooth null, but no jump outside the warm-up is
			// significant on its own (the fit's jumps share the departure): no onset to give.
			row.Reason = "abrupt overall, but no jump outside the learning-rate warm-up is significant on its own"
		case r.abrupt:
			row.Reason = "abrupt: q ≤ FDR level against smooth nulls on the run's grid"
		case t.P <= opt.Decisions.Alpha:
			row.Reason = "p ≤ α but not after FDR over the sweep's curves"
		default:
			row.Reason = "smooth: no jump beyond the best smooth null (" + t.Null + ")"
		}
		trans = append(trans, row)
	}
	return trans, jumps
}
