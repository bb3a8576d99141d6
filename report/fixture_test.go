package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// fixture describes a synthetic run folder: a 2-width × 2-seed sweep of the addition task whose
// exact match is a sigmoid in log(step+1) (onset at step 200 for d_model 16 and 60 for d_model
// 32, later for seed 1) while per-token accuracy, log-probability and edit distance move smoothly.
type fixture struct {
	Internal   bool     // write internal_metrics.parquet in every cell
	Analysis   bool     // write analysis/transitions, jumps, mirage, verdicts
	Empty      bool     // write the analysis tables with no rows
	Diverged   bool     // add a third seed of d_model 16 that diverges at step 20
	AllDiverge bool     // every cell diverges at step 20: its metrics are NaN after it
	Spectra    bool     // add singular_value rows
	Scenario   scenario // what the verdicts and mirage tables say
	ExtraRows  int      // extra "no coupling shown" coupling rows (probe selectivities), to test the caps
	WarmTask   bool     // exact match's onset of d_model 32 seed 0 lies in the warm-up
}

// scenario is the situation the verdicts and mirage tables describe.
type scenario int

const (
	// scDemo is the demo's situation: exact match jumps in both widths, a genuine jump (per-token
	// accuracy jumps with it), no coupling shown (one measure not coupled, one short of cells, one
	// probe whose control is at ceiling), every lead–lag row short of seeds, 2 widths for scale.
	scDemo scenario = iota
	// scMirage: exact match jumps, every continuous scoring is smooth across its jump window
	// (scoring artefact), the one coupling row is not coupled.
	scMirage
	// scCoupled: a genuine jump, rank of blocks.1 coupled (specific, precedes at d_model 16,
	// coincides at d_model 32), induction not coupled.
	scCoupled
	// scCoupledNotSpecific: scCoupled, but the coupled rank measure is not shown specific.
	scCoupledNotSpecific
	// scCoupledOtherShape: scCoupled, but the specific rank measure's never-learning cells are all
	// of other shapes (its reason says so).
	scCoupledOtherShape
)

// fullFixture has everything.
var fullFixture = fixture{Internal: true, Analysis: true, Spectra: true}

var (
	fxSteps  = []int64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000}
	fxWidths = []int32{16, 32}
	fxSeeds  = []int64{0, 1}
)

const (
	fxSweep  = "syn"
	fxLayers = 2
	fxHeads  = 2
	fxCtx    = 6
	fxJump   = 0.2 // 10→90 % width of the exact-match jump, decades
)

// fxOnset is the exact-match onset step of a cell.
func fxOnset(w int32, seed int64) float64 {
	base := 200.0
	if w == 32 {
		base = 60
	}
	return base * (1 + 0.25*float64(seed))
}

// sig is a logistic in log10(step+1) with midpoint onset and 10→90 % width fxJump decades.
func sig(step int64, onset float64) float64 {
	scale := fxJump / (2 * math.Log(9))
	return 1 / (1 + math.Exp(-(math.Log10(float64(step)+1)-math.Log10(onset+1))/scale))
}

func fxCoords(w int32, seed int64) data.Coords {
	return data.Coords{Sweep: fxSweep, Cell: fmt.Sprintf("addition-d%d-L%d-H%d-s%d", w, fxLayers, fxHeads, seed),
		Task: "addition", DModel: w, NLayers: fxLayers, NHeads: fxHeads, Seed: seed}
}

func writeTable[T data.TableRow](t *testing.T, path string, rows []T) {
	t.Helper()
	w, err := data.CreateTable[T](path, data.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Write(rows...); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func metricRow(c data.Coords, step int64, split, metric string, v float64) data.MetricRow {
	return data.MetricRow{Coords: c, Step: step, Split: split, Layer: data.NA, Head: data.NA, Position: data.NA, Metric: metric, Value: data.F(v)} // NaN (after a divergence) is NULL, as the sweep writes it
}

// makeRun writes the fixture's run folder under t.TempDir() and returns it.
func makeRun(t *testing.T, fx fixture) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), fxSweep)
	spec := fmt.Sprintf(`name: %s
task:
  name: addition
  params: {digits: 2}
model:
  d_model: [16, 32]
  n_layers: [%d]
  n_heads: [%d]
seeds: [0, 1]
train:
  steps: 1000
  batch_size: 32
  optimizer: {lr: 0.003, schedule: cosine}
checkpoints:
  count: 11
  steps: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000]
probe:
  examples: 64
  split: test
`, fxSweep, fxLayers, fxHeads)
	if err := os.MkdirAll(filepath.Join(dir, "cells"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sweep.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	type cell struct {
		w    int32
		seed int64
		div  int64 // diverged at, -1 if not
	}
	var cells []cell
	for _, w := range fxWidths {
		for _, s := range fxSeeds {
			div := int64(-1)
			if fx.AllDiverge {
				div = 20
			}
			cells = append(cells, cell{w, s, div})
		}
	}
	if fx.Diverged {
		cells = append(cells, cell{16, 2, 20})
	}
	var trans []data.TransitionRow
	for _, c := range cells {
		co := fxCoords(c.w, c.seed)
		cd := filepath.Join(dir, "cells", co.Cell)
		if err := os.MkdirAll(cd, 0o755); err != nil {
			t.Fatal(err)
		}
		cfg, _ := json.Marshal(map[string]any{"sweep": fxSweep, "cell": co.Cell, "task": "addition", "seed": c.seed,
			"model": map[string]any{"d_model": c.w, "n_layers": fxLayers, "n_heads": fxHeads, "n_ctx": fxCtx}})
		if err := os.WriteFile(filepath.Join(cd, "config.json"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		onset := fxOnset(c.w, c.seed)
		var task, internal []data.MetricRow
		for st := int64(1); st <= 40; st++ {
			task = append(task, metricRow(co, st, "train_batch", "loss", 3/math.Sqrt(float64(st))))
		}
		for _, st := range fxSteps {
			x := math.Log10(float64(st) + 1)
			for _, split := range []string{"test", "train"} {
				bonus := 0.0
				if split == "train" {
					bonus = 0.02
				}
				em := math.Min(1, sig(st, onset)+bonus)
				tok := 0.2 + 0.25*x + bonus
				lp := -2.5 + 0.8*x
				if c.div >= 0 && st > c.div {
					em, tok, lp = math.NaN(), math.NaN(), math.NaN()
				}
				if fx.AllDiverge && st > c.div {
					continue // no checkpoint after the divergence
				}
				task = append(task, metricRow(co, st, split, "exact_match", em), metricRow(co, st, split, "token_accuracy", tok),
					metricRow(co, st, split, "logprob", lp), metricRow(co, st, split, "loss", -lp),
					metricRow(co, st, split, "edit_distance", 3*(1-tok)), metricRow(co, st, split, "brier", 1-tok))
				for pos := int32(0); pos < 3; pos++ {
					r := metricRow(co, st, split, "position_accuracy", tok)
					r.Position = pos
					task = append(task, r)
				}
			}
			if !fx.Internal {
				continue
			}
			er := metricRow(co, st, "probe", "effective_rank", float64(c.w)/2-6*sig(st, 0.8*onset))
			er.Site = "blocks.1.hook_resid_post"
			er0 := metricRow(co, st, "probe", "effective_rank", float64(c.w)/2-x)
			er0.Site = "blocks.0.hook_resid_post"
			internal = append(internal, er, er0)
			for head := int32(0); head < fxHeads; head++ {
				ind := metricRow(co, st, "probe", "induction_score", 0.1+0.02*x)
				if head == 1 {
					ind.Value = data.F(0.1 + 0.8*sig(st, onset))
				}
				ind.Site, ind.Layer, ind.Head = "blocks.1.attn.hook_pattern", 1, head
				prev := metricRow(co, st, "probe", "prev_token_score", 0.2+0.05*float64(head)+0.1*x)
				prev.Site, prev.Layer, prev.Head = "blocks.0.attn.hook_pattern", 0, head
				internal = append(internal, ind, prev)
			}
			for layer := int32(0); layer < fxLayers; layer++ {
				sp := metricRow(co, st, "probe", "specialisation", 0.1+0.2*float64(layer)*sig(st, onset))
				sp.Layer = layer
				internal = append(internal, sp)
			}
			if fx.Spectra {
				for i := int32(0); i < 8; i++ {
					sv := metricRow(co, st, "probe", "singular_value", 10*math.Exp(-float64(i)*(0.2+0.6*sig(st, 0.8*onset))))
					sv.Site, sv.Position = "blocks.1.hook_resid_post", i
					internal = append(internal, sv)
				}
			}
		}
		if c.div >= 0 {
			task = append(task, metricRow(co, c.div, "train", "diverged", 1))
		}
		writeTable(t, filepath.Join(cd, data.MetricsFile), task)
		if fx.Internal {
			writeTable(t, filepath.Join(cd, data.InternalMetricsFile), internal)
		}
		writeTable(t, filepath.Join(cd, data.AttentionFile), fxAttention(co, onset))
		if c.div < 0 {
			tr := fxTransitions(co, onset)
			if fx.WarmTask && c.w == 32 && c.seed == 0 {
				tr[0].InWarmup = true
			}
			trans = append(trans, tr...)
		}
	}
	if fx.Analysis {
		ad := filepath.Join(dir, "analysis")
		if err := os.MkdirAll(ad, 0o755); err != nil {
			t.Fatal(err)
		}
		if fx.Empty {
			writeTable(t, filepath.Join(ad, data.TransitionsFile), []data.TransitionRow{})
			writeTable(t, filepath.Join(ad, data.JumpsFile), []data.JumpRow{})
			writeTable(t, filepath.Join(ad, data.MirageFile), []data.MirageRow{})
			writeTable(t, filepath.Join(ad, data.VerdictsFile), []data.VerdictRow{})
		} else {
			writeTable(t, filepath.Join(ad, data.TransitionsFile), trans)
			writeTable(t, filepath.Join(ad, data.JumpsFile), fxJumps(trans))
			writeTable(t, filepath.Join(ad, data.MirageFile), fxMirage(fx.Scenario))
			writeTable(t, filepath.Join(ad, data.VerdictsFile), fxVerdicts(fx.Scenario, fx.ExtraRows))
		}
	}
	return dir
}

// fxAttention: uniform causal attention, except head 1 of layer 1, which attends to the previous
// position once exact match has jumped.
func fxAttention(co data.Coords, onset float64) []data.AttentionRow {
	var rows []data.AttentionRow
	for _, st := range fxSteps {
		for layer := int32(0); layer < fxLayers; layer++ {
			for ex := int32(0); ex < 3; ex++ {
				for head := int32(0); head < fxHeads; head++ {
					for q := int32(0); q < fxCtx; q++ {
						p := make([]float32, fxCtx)
						for k := int32(0); k <= q; k++ {
							p[k] = 1 / float32(q+1)
						}
						if layer == 1 && head == 1 && q > 0 && sig(st, onset) > 0.5 {
							clear(p)
							p[q-1] = 1
						}
						rows = append(rows, data.AttentionRow{Coords: co, Step: st, Layer: layer, Head: head, Example: ex, QueryPos: q, Pattern: p})
					}
				}
			}
		}
	}
	return rows
}

func fxSeries(kind, split, site string, layer, head int32, metric string) data.Series {
	return data.Series{Kind: kind, Split: split, Site: site, Layer: layer, Head: head, Position: data.NA, Metric: metric}
}

// fxTransitions: exact match, effective rank of blocks.1 (at 0.8 × the task onset) and
// induction L1H1 are abrupt; per-token accuracy is smooth; effective rank of blocks.0 has its
// largest jump in the warm-up (step 2) in seed 0 of d_model 16 only.
func fxTransitions(co data.Coords, onset float64) []data.TransitionRow {
	abrupt := func(s data.Series, at float64) data.TransitionRow {
		x := math.Log10(at + 1)
		return data.TransitionRow{Coords: co, Series: s, Points: int32(len(fxSteps)), P: data.F(0.001), Q: data.F(0.004), Stat: data.F(25),
			Null: "power law", Replicates: 999, Abrupt: true, Jumps: 1, MidStep: data.F(at),
			Onset10: data.F(math.Pow(10, x-fxJump/2) - 1), Onset90: data.F(math.Pow(10, x+fxJump/2) - 1), Width: data.F(fxJump),
			Lo: data.F(0), Hi: data.F(1), Size: data.F(1), ChangeStep: data.F(at), Reason: "jump beyond every smooth null"}
	}
	smooth := func(s data.Series) data.TransitionRow {
		return data.TransitionRow{Coords: co, Series: s, Points: int32(len(fxSteps)), P: data.F(0.6), Q: data.F(0.8), Stat: data.F(0.5),
			Null: "power law", Replicates: 999, Reason: "no jump beyond the smooth nulls"}
	}
	er0 := smooth(fxSeries("internal", "probe", "blocks.0.hook_resid_post", data.NA, data.NA, "effective_rank"))
	if co.DModel == 16 && co.Seed == 0 {
		er0 = abrupt(er0.Series, 2)
		er0.InWarmup = true
	}
	return []data.TransitionRow{
		abrupt(fxSeries("task", "test", "", data.NA, data.NA, "exact_match"), onset),
		smooth(fxSeries("task", "test", "", data.NA, data.NA, "token_accuracy")),
		abrupt(fxSeries("internal", "probe", "blocks.1.hook_resid_post", data.NA, data.NA, "effective_rank"), 0.8*onset),
		er0,
		abrupt(fxSeries("internal", "probe", "blocks.1.attn.hook_pattern", 1, 1, "induction_score"), onset),
	}
}

// fxJumps is one jump per abrupt curve.
func fxJumps(trans []data.TransitionRow) []data.JumpRow {
	var out []data.JumpRow
	for _, t := range trans {
		if t.Abrupt {
			out = append(out, data.JumpRow{Coords: t.Coords, Series: t.Series, MidStep: *t.MidStep, Onset10: *t.Onset10, Onset90: *t.Onset90,
				Width: *t.Width, Lo: *t.Lo, Hi: *t.Hi, Size: *t.Size, P: t.P, InWarmup: t.InWarmup})
		}
	}
	return out
}

// fxMirage is the mirage table of the scenario: per width, exact match's row with its window and
// Schaeffer gaps, and one row per continuous scoring.
func fxMirage(sc scenario) []data.MirageRow {
	var out []data.MirageRow
	for _, w := range fxWidths {
		base := data.MirageRow{Sweep: fxSweep, Task: "addition", DModel: w, NLayers: fxLayers, NHeads: fxHeads, Split: "test",
			Position: data.NA, Seeds: 2, WindowLo: data.F(fxOnset(w, 0) / 2), WindowHi: data.F(fxOnset(w, 1) * 2)}
		em := base
		em.Metric, em.Discrete, em.Reading = "exact_match", true, "the jump (all-or-nothing scoring)"
		em.IndepGap, em.PowerGap = data.F(0.003), data.F(0.004)
		if sc == scMirage {
			em.IndepGap, em.PowerGap = data.F(0.002), data.F(0.0025)
		}
		out = append(out, em)
		cont := func(metric string, pos int32, reading string) data.MirageRow {
			r := base
			r.Metric, r.Position, r.Reading = metric, pos, reading
			r.Excess, r.ExcessFrac, r.ExcessUpper = data.F(0.01), data.F(0.02), data.F(0.05)
			r.P, r.Q, r.SmoothSeeds = data.F(0.5), data.F(0.7), 2
			if reading == "jumps with exact match" {
				r.Excess, r.ExcessFrac, r.ExcessUpper = data.F(0.3), data.F(0.4), data.F(0.6)
				r.P, r.Q, r.JumpSeeds, r.SmoothSeeds = data.F(0.0001), data.F(0.001), 2, 0
			}
			if reading == "undetermined" {
				r.SmoothSeeds = 1
			}
			return r
		}
		reading := func(demo, coupled string) string {
			switch sc {
			case scMirage:
				return "smooth across the jump"
			case scCoupled, scCoupledNotSpecific, scCoupledOtherShape:
				return coupled
			}
			return demo
		}
		pos0 := reading("undetermined", "jumps with exact match")
		if w == 32 && sc == scDemo {
			pos0 = "jumps with exact match"
		}
		out = append(out,
			cont("token_accuracy", data.NA, reading("jumps with exact match", "jumps with exact match")),
			cont("position_accuracy", 0, pos0),
			cont("position_accuracy", 1, reading("smooth across the jump", "smooth across the jump")),
			cont("position_accuracy", 2, reading("smooth across the jump", "smooth across the jump")),
			cont("logprob", data.NA, reading("smooth across the jump", "jumps with exact match")),
			cont("brier", data.NA, reading("smooth across the jump", "smooth across the jump")),
			cont("edit_distance", data.NA, reading("undetermined", "smooth across the jump")))
		train := em
		train.Split = "train"
		out = append(out, train)
	}
	return out
}

// Subjects of the fixture's verdict rows, as analysis's unitLabel writes them.
const (
	fxRank      = "effective_rank of blocks.1.hook_resid_post"
	fxInduction = "induction_score of blocks.1.attn.hook_pattern L1H1"
	fxProbe     = "probe_selectivity of blocks.0.hook_resid_post for answer_digit"
)

// fxVerdicts is the verdicts table of the scenario, with extra not-coupled probe rows.
func fxVerdicts(sc scenario, extra int) []data.VerdictRow {
	row := func(d int32, q, verdict string) data.VerdictRow {
		return data.VerdictRow{Sweep: fxSweep, Task: "addition", DModel: d, NLayers: fxLayers, NHeads: fxHeads, Question: q,
			Layer: data.NA, Head: data.NA, TaskMetric: "exact_match", Verdict: verdict, Seeds: 2, Method: "fixture", NullHyp: "fixture"}
	}
	unit := func(r data.VerdictRow, subject string) data.VerdictRow {
		r.Subject = subject
		switch subject {
		case fxRank:
			r.Site, r.Metric, r.Group = "blocks.1.hook_resid_post", "effective_rank", "rank"
		case fxInduction:
			r.Site, r.Layer, r.Head, r.Metric, r.Group = "blocks.1.attn.hook_pattern", 1, 1, "induction_score", "induction_score"
		case fxProbe:
			r.Site, r.Concept, r.Metric, r.Group = "blocks.0.hook_resid_post", "answer_digit", "probe_selectivity", "probe"
		}
		return r
	}
	tested := func(r data.VerdictRow, stat, p, q, eff, lo, hi float64, cells int32, reason string) data.VerdictRow {
		r.Stat, r.P, r.Q, r.Effect, r.EffectLo, r.EffectHi, r.Cells, r.Reason = data.F(stat), data.F(p), data.F(q), data.F(eff), data.F(lo), data.F(hi), cells, reason
		return r
	}
	var out []data.VerdictRow
	for _, w := range fxWidths {
		tj := row(w, data.QuestionTaskJump, "jumps")
		tj.Subject, tj.Metric, tj.Cells = "exact match (test)", "exact_match", 2
		tj.Effect, tj.EffectLo, tj.EffectHi = data.F(0.97), data.F(0.96), data.F(0.98)
		tj.Reason = "capability jump (≥ 0.3) in 2 of 2 seeds; final exact match 1.00"
		out = append(out, tj)
		mv := "genuine jump"
		reason := "continuous scorings that jump with exact match (q ≤ FDR): token_accuracy"
		if sc == scMirage {
			mv, reason = "scoring artefact (mirage)", "every continuous scoring is shown smooth across exact match's jump window"
		}
		m := row(w, data.QuestionMirage, mv)
		m.Subject, m.Metric, m.Cells, m.Effect, m.Q, m.Reason = "exact match's jump", "exact_match", 2, data.F(0.003), data.F(0.001), reason
		out = append(out, m)
	}
	cpl := func(subject, verdict string) data.VerdictRow {
		return unit(row(data.NA, data.QuestionCoupling, verdict), subject)
	}
	spec := func(subject, verdict, reason string) data.VerdictRow {
		r := unit(row(data.NA, data.QuestionSpecificity, verdict), subject)
		r.Reason = reason
		return r
	}
	ll := func(subject string, w int32, verdict string) data.VerdictRow {
		r := unit(row(w, data.QuestionLeadLag, verdict), subject)
		r.Onset, r.Cells = "midpoint", 2
		return r
	}
	noBaseline := "every cell of the family learns or is in between: no baseline where the task never jumps"
	switch sc {
	case scDemo:
		short := cpl(fxInduction, "insufficient cells (need 6)")
		short.Need, short.Cells, short.Reason = data.I(6), 4, "4 cells have both an internal and a task transition"
		ceil := cpl(fxProbe, "control at ceiling (cannot calibrate the probe)")
		ceil.Reason = "the control task is decoded at ≥ 0.95"
		out = append(out, tested(cpl(fxRank, "no coupling shown"), 0.2, 0.4, 0.6, 0.3, -0.5, 1.2, 4, "τ = 0.20 over 4 cells; q > 0.05"), short, ceil,
			spec(fxRank, "undetermined (no non-learning cells)", noBaseline), spec(fxInduction, "undetermined (no non-learning cells)", noBaseline))
		for _, s := range []string{fxRank, fxInduction} {
			for _, w := range fxWidths {
				r := ll(s, w, "insufficient seeds (need 6)")
				r.Need, r.Effect, r.Reason = data.I(6), data.F(-0.09), "2 paired seeds: the smallest attainable sign-flip p is 0.5 > α = 0.05"
				out = append(out, r)
			}
		}
	case scMirage:
		out = append(out, tested(cpl(fxRank, "no coupling shown"), 0.1, 0.7, 0.8, 0.2, -0.9, 1.5, 4, "τ = 0.10 over 4 cells; q > 0.05"),
			spec(fxRank, "undetermined (no non-learning cells)", noBaseline))
		for _, w := range fxWidths {
			r := ll(fxRank, w, "not assessed (no coupling shown)")
			r.Reason = "lead–lag is asked only of internal transitions coupled to the task jump across cells (coupling: no coupling shown)"
			out = append(out, r)
		}
	case scCoupled, scCoupledNotSpecific, scCoupledOtherShape:
		out = append(out,
			tested(cpl(fxRank, "coupled"), 0.8, 0.001, 0.004, 0.95, 0.8, 1.1, 4, "stratified Kendall τ = 0.80 over 4 cells in 2 widths"),
			tested(cpl(fxInduction, "no coupling shown"), 0.3, 0.3, 0.4, 0.5, -0.2, 1.3, 4, "τ = 0.30 over 4 cells; q > 0.05"))
		sp := spec(fxRank, "specific", "transition in 4/4 learning cells and 0/2 never-learning cells")
		sp.P, sp.Q, sp.Effect = data.F(0.01), data.F(0.02), data.F(1)
		if sc == scCoupledNotSpecific {
			sp = spec(fxRank, "not shown specific", "transition in 4/4 learning cells and 1/2 never-learning cells")
		}
		if sc == scCoupledOtherShape {
			sp.Reason += "; " + data.ReasonOtherShapeBaseline + " (d_model 8 L2 H2): a smaller model, not the same model on a task it cannot learn, so a measure that differs with size can differ without learning"
		}
		out = append(out, sp, spec(fxInduction, "not shown specific", "transition in 4/4 learning cells and 2/2 never-learning cells"))
		pre := ll(fxRank, 16, "precedes")
		pre.P, pre.Q, pre.Effect, pre.Reason = data.F(0.01), data.F(0.02), data.F(-0.1), "mean lag -0.100 decades over 2 seeds (tolerance ±0.050)"
		pre.Robust = true
		co := ll(fxRank, 32, "coincides")
		co.P, co.Q, co.Effect, co.Reason = data.F(0.6), data.F(0.03), data.F(0.01), "mean lag +0.010 decades over 2 seeds (tolerance ±0.050)"
		out = append(out, pre, co)
		for _, w := range fxWidths {
			out = append(out, ll(fxInduction, w, "not assessed (no coupling shown)"))
		}
	}
	for i := range extra {
		r := tested(cpl(fxProbe, "no coupling shown"), 0.1, 0.5+float64(i)/1000, 0.9, 0.1, -1, 1, 4, "τ = 0.10 over 4 cells; q > 0.05")
		r.Concept = fmt.Sprintf("c%d", i)
		r.Subject = "probe_selectivity of blocks.0.hook_resid_post for " + r.Concept
		out = append(out, r)
	}
	sr := row(data.NA, data.QuestionScale, "not assessed: 2 widths (need 5)")
	sr.Subject, sr.Metric, sr.Cells, sr.Need = "exact match and the continuous scorings over d_model", "exact_match", 2, data.I(5)
	sr.Reason = "with fewer widths a jump over width cannot be told from a smooth trend"
	return append(out, sr)
}
