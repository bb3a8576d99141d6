package analysis

import (
	"encoding/json"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/geometry"
	"github.com/phaseprobe/phaseprobe/probes"
)

// Options configure the analysis; zero values take the defaults noted.
type Options struct {
	// ProbeFolds is k of the probes' k-fold cross-validation (default 3).
	ProbeFolds int
	// ProbeC is the logistic probes' inverse L2 penalty, sklearn's C (default 1).
	ProbeC float64
	// ProbeTol is the probes' L-BFGS gradient tolerance, sklearn's tol (default 1e-3: a probe's
	// accuracy is settled well before sklearn's 1e-4, at a fraction of the iterations).
	ProbeTol float64
	// ProbeMaxIter bounds the probes' L-BFGS iterations (default 200).
	ProbeMaxIter int
	// ProbeRawFeatures fits the probes on the raw activations; by default features are
	// standardised per fold (probes.LogisticOptions.Standardize), so that one penalty C suits
	// every site whatever its scale.
	ProbeRawFeatures bool
	// ProbeSites selects the sites probed, by suffix (default: hook_resid_post and
	// ln_final.hook_normalized: where each block's information has accumulated).
	ProbeSites []string
	// Sites restricts the geometry and probes to these activation sites (default: every site in
	// the file); a listed site missing from a cell's activations is an error.
	Sites []string
	// RankTol is the relative threshold of the numerical rank (default 1e-3).
	RankTol float64
	// RankMeEpsilon is RankMe's ε (default geometry.RankMeEpsilon, Garrido et al. 2023).
	RankMeEpsilon float64
	// PatternTol is how far an attention pattern may stray from a causal probability
	// distribution before its head scores are refused (probes.CheckPattern; default 1e-3).
	PatternTol float64
	// Seed seeds the folds and control tasks.
	Seed uint64
	// Jobs is how many cells (and, in the sweep-level stage, curves) are analysed at once
	// (default 1).
	Jobs int
	// Replicates is the most parametric-bootstrap replicates a curve's transition test draws
	// (default 199: p-values down to 0.005; smooth curves stop after 5 exceedances (CurveConfig.Exceedances)). The FDR step
	// over a family of m curves can only pass p = 1/(Replicates+1) when at least
	// m/(20·(Replicates+1)) of them are that small: raise it for sweeps where few curves jump.
	Replicates int
	// Decisions are the levels and thresholds of every verdict (default DefaultDecisions()).
	Decisions Decisions
	// Progress, if set, is called after each cell (done of total).
	Progress func(cell string, done, total int)
	// CurveProgress, if set, is called as the sweep-level stage tests curves (done of total).
	CurveProgress func(done, total int)
}

// resolve fills in the defaults documented on Options.
func (o Options) resolve() Options {
	if o.ProbeFolds == 0 {
		o.ProbeFolds = 3
	}
	if o.ProbeC == 0 {
		o.ProbeC = 1
	}
	if o.ProbeTol == 0 {
		o.ProbeTol = 1e-3
	}
	if o.ProbeMaxIter == 0 {
		o.ProbeMaxIter = 200
	}
	if len(o.ProbeSites) == 0 {
		o.ProbeSites = []string{string(data.HookResidPost), string(data.HookLnFinal)}
	}
	if o.RankTol == 0 {
		o.RankTol = 1e-3
	}
	if o.RankMeEpsilon == 0 {
		o.RankMeEpsilon = geometry.RankMeEpsilon
	}
	if o.PatternTol == 0 {
		o.PatternTol = 1e-3
	}
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	if o.Replicates == 0 {
		o.Replicates = 199
	}
	if o.Decisions.Alpha == 0 {
		o.Decisions = DefaultDecisions()
	}
	return o
}

// logistic returns the probes' optimiser settings: probes.DefaultLogisticOptions with the
// penalty, tolerance, iteration bound and standardisation of o.
func (o Options) logistic() probes.LogisticOptions {
	lo := probes.DefaultLogisticOptions()
	lo.C = o.ProbeC
	lo.Tol = o.ProbeTol
	lo.MaxIter = o.ProbeMaxIter
	lo.Standardize = !o.ProbeRawFeatures
	return lo
}

// cellKey is the JSON of every setting that changes a cell's internal_metrics.parquet: the
// probes' folds, sites and full optimiser settings (including those left at probes' defaults, so
// a change of those defaults is seen too), the analysed sites, the rank measures' tolerances, the
// pattern check's tolerance and the seed. A cell whose table was written with another key is
// analysed again.
func (o Options) cellKey() ([]byte, error) {
	lo := o.logistic()
	return json.Marshal(map[string]any{
		"probe_folds": o.ProbeFolds, "probe_c": lo.C, "probe_tol": lo.Tol, "probe_func_tol": lo.FuncTol,
		"probe_max_iter": lo.MaxIter, "probe_standardize": lo.Standardize, "probe_prob_floor": lo.ProbFloor,
		"probe_sites": o.ProbeSites, "sites": o.Sites, "rank_tol": o.RankTol, "rankme_eps": o.RankMeEpsilon,
		"pattern_tol": o.PatternTol, "seed": o.Seed,
	})
}

// sweepSettings are the settings of the sweep-level tables, recorded in their metadata; split is
// the split the capability is judged on.
func (o Options) sweepSettings(split string) data.AnalysisSettings {
	d := o.Decisions
	return data.AnalysisSettings{Split: split, Seed: o.Seed, Replicates: o.Replicates, Alpha: d.Alpha, FDRLevel: d.FDRLevel,
		Learned: d.Learned, NeverLearned: d.NeverLearned, ControlCeiling: d.ControlCeiling, MinCells: d.MinCells, MinWidths: d.MinWidths}
}
