package data

import "slices"

// Metric names: the values of the metric column of metrics.parquet and internal_metrics.parquet
// (MetricRow.Metric, Series.Metric, JumpRow.Metric, MirageRow.Metric, VerdictRow.Metric and
// VerdictRow.TaskMetric). They are the only names phaseprobe writes there; LookupMetric gives each
// one's kind, unit, title and the function that computes it.
const (
	// Task metrics: scorings of the model's outputs at the answer positions (train.Score), in
	// metrics.parquet, one row per split and checkpoint.
	MetricExactMatch       = "exact_match"
	MetricTokenAccuracy    = "token_accuracy"
	MetricPositionAccuracy = "position_accuracy"
	MetricLogprob          = "logprob"
	MetricLoss             = "loss"
	MetricBrier            = "brier"
	MetricEditDistance     = "edit_distance"

	// MetricDiverged is a sentinel row of metrics.parquet, not a measurement: value 1 at the first
	// step whose training loss or outputs were not finite. A cell that never diverged has no such row.
	MetricDiverged = "diverged"

	// Internal metrics: geometry of the activations at one site (internal_metrics.parquet).
	MetricEffectiveRank      = "effective_rank"
	MetricRankMe             = "rankme"
	MetricParticipationRatio = "participation_ratio"
	MetricStableRank         = "stable_rank"
	MetricNumericalRank      = "numerical_rank"
	MetricSingularValue      = "singular_value" // a spectrum: Position is the singular value's index
	MetricCKAFinal           = "cka_final"
	MetricCKANextWidth       = "cka_next_width"

	// Internal metrics: linear probes of one concept at one site.
	MetricProbeAccuracy    = "probe_accuracy"
	MetricProbeLogLoss     = "probe_logloss"
	MetricProbeSelectivity = "probe_selectivity"

	// Control metrics: the probes' baselines, never given a verdict.
	MetricProbeControlAccuracy  = "probe_control_accuracy"
	MetricProbeShuffledAccuracy = "probe_shuffled_accuracy"

	// Internal metrics: attention-head scores of one head (or, for specialisation, one layer).
	MetricEntropy             = "entropy"
	MetricPrevTokenScore      = "prev_token_score"
	MetricInductionScore      = "induction_score"
	MetricDuplicateTokenScore = "duplicate_token_score"
	MetricSpecialisation      = "specialisation"
)

// Values of the split column of metrics.parquet and internal_metrics.parquet.
const (
	SplitTrain = "train" // task metrics on a fixed sample of the training split (Train.String())
	SplitTest  = "test"  // task metrics on the held-out probe set (Test.String())
	SplitProbe = "probe" // internal metrics, computed from the probe set's captured activations
	// SplitTrainBatch holds the training loss of every step on that step's own batch. Its rows
	// are sentinels for the analysis: they sit on the step grid of training, not of checkpoints.
	SplitTrainBatch = "train_batch"
)

// Axes are the coordinates of a metric's rows besides the cell, step and split: the columns
// that hold a value. The other columns of its rows are NA (integers) or "" (strings).
type Axes uint8

// The coordinate columns of MetricRow that a metric may use.
const (
	AxisSite     Axes = 1 << iota // site: a TransformerLens site name
	AxisLayer                     // layer
	AxisHead                      // head
	AxisPosition                  // position: an answer position, or an index into a spectrum
	AxisConcept                   // concept: a probed concept of the task
)

// Has reports whether every axis of b is in a.
func (a Axes) Has(b Axes) bool { return a&b == b }

// MetricInfo describes one metric name: what the rows with that name in the metric column mean.
type MetricInfo struct {
	Name string // the metric column's value, one of the Metric constants
	// Kind is KindTask (a scoring of the outputs, in metrics.parquet), KindInternal (geometry,
	// probes and head scores, in internal_metrics.parquet) or KindControl (a baseline, in
	// internal_metrics.parquet, never given a verdict).
	Kind string
	// Title is its name in words for titles, legends and tables, e.g. "per-token accuracy"; a
	// metric without a name of its own is its identifier with spaces ("cka final").
	Title string
	Unit  string // the axis label of its values with their unit, e.g. "mean log p(answer token) (nats)"
	// Discrete is true for a metric that moves in whole steps by construction: exact match, which
	// scores each example all or nothing over its whole answer (the "discontinuous" metric of
	// Schaeffer et al. 2023), and the integer-valued numerical rank.
	Discrete bool
	// LowerIsBetter is true where a smaller value is a better model (loss, Brier score, edit
	// distance, probe log-loss).
	LowerIsBetter bool
	// Group is the group of near-identical measures that count as one finding (the rank measures
	// of one site, a probe's accuracy, log-loss and selectivity); a metric in no group is its own.
	Group string
	// Axes are the coordinate columns its rows fill in.
	Axes Axes
	// Sentinel is true for a marker row that is not a point of a curve (MetricDiverged).
	Sentinel bool
	// Spectrum is true when the rows of one step are one vector indexed by Position (the singular
	// values of a site), not a curve each.
	Spectrum bool
	// ComputedBy names the function that computes the value and the one that writes its rows.
	ComputedBy string
}

// Measure groups (MetricInfo.Group) that hold more than one metric.
const (
	GroupRank  = "rank"
	GroupProbe = "probe"
)

// metricInfos is the vocabulary: the task metrics in the order of the report's task table, the
// sentinel, then the internal and control metrics by family (rank and CKA, head scores, probes).
var metricInfos = []MetricInfo{
	{Name: MetricExactMatch, Kind: KindTask, Title: "exact match", Unit: "answers fully correct (fraction)", Discrete: true,
		ComputedBy: "train.Score (Scores.ExactMatch); rows by train.CaptureCell"},
	{Name: MetricTokenAccuracy, Kind: KindTask, Title: "per-token accuracy", Unit: "answer tokens correct (fraction)",
		ComputedBy: "train.Score (Scores.TokenAccuracy); rows by train.CaptureCell"},
	{Name: MetricPositionAccuracy, Kind: KindTask, Title: "per-position accuracy", Unit: "answer tokens correct (fraction)",
		Axes: AxisPosition, ComputedBy: "train.Score (Scores.PositionAccuracy, one row per answer position); rows by train.CaptureCell"},
	{Name: MetricLogprob, Kind: KindTask, Title: "log-probability", Unit: "mean log p(answer token) (nats)",
		ComputedBy: "train.Score (Scores.LogProb); rows by train.CaptureCell"},
	{Name: MetricBrier, Kind: KindTask, Title: "Brier score", Unit: "Brier score", LowerIsBetter: true,
		ComputedBy: "train.Score (Scores.Brier); rows by train.CaptureCell"},
	{Name: MetricEditDistance, Kind: KindTask, Title: "edit distance", Unit: "token edit distance (tokens)", LowerIsBetter: true,
		ComputedBy: "train.Score (Scores.EditDistance); rows by train.CaptureCell"},
	{Name: MetricLoss, Kind: KindTask, Title: "loss", Unit: "cross-entropy (nats)", LowerIsBetter: true,
		ComputedBy: "train.Score (Scores.Loss); split train_batch: the training step's own loss (CheckpointHeader.Losses); rows by train.CaptureCell"},
	{Name: MetricDiverged, Kind: KindTask, Title: "diverged", Unit: "1 at the first non-finite step", Sentinel: true,
		ComputedBy: "train.CaptureCell, from the cell's diverged.json (written by the sweep when a loss is not finite)"},

	{Name: MetricEffectiveRank, Kind: KindInternal, Title: "effective rank", Unit: "effective rank (dimensions)", Group: GroupRank,
		Axes: AxisSite, ComputedBy: "geometry.EffectiveRank (Roy & Vetterli 2007) via geometry.RanksFromSpectrum; rows by analysis (siteMetrics)"},
	{Name: MetricRankMe, Kind: KindInternal, Title: "rankme", Unit: "rankme (dimensions)", Group: GroupRank,
		Axes: AxisSite, ComputedBy: "geometry.RankMe (Garrido et al. 2023) via geometry.RanksFromSpectrum; rows by analysis (siteMetrics)"},
	{Name: MetricParticipationRatio, Kind: KindInternal, Title: "participation ratio", Unit: "participation ratio (dimensions)", Group: GroupRank,
		Axes: AxisSite, ComputedBy: "geometry.ParticipationRatio via geometry.RanksFromSpectrum; rows by analysis (siteMetrics)"},
	{Name: MetricStableRank, Kind: KindInternal, Title: "stable rank", Unit: "stable rank (dimensions)", Group: GroupRank,
		Axes: AxisSite, ComputedBy: "geometry.StableRank via geometry.RanksFromSpectrum; rows by analysis (siteMetrics)"},
	{Name: MetricNumericalRank, Kind: KindInternal, Title: "numerical rank", Unit: "numerical rank (dimensions)", Discrete: true, Group: GroupRank,
		Axes: AxisSite, ComputedBy: "geometry.NumericalRank (relative tolerance analysis.Options.RankTol) via geometry.RanksFromSpectrum; rows by analysis (siteMetrics)"},
	{Name: MetricSingularValue, Kind: KindInternal, Title: "singular value", Unit: "singular value", Spectrum: true,
		Axes: AxisSite | AxisPosition, ComputedBy: "geometry.SingularValuesTo of the centred [example·pos, d_model] matrix; rows by analysis (siteMetrics)"},
	{Name: MetricCKAFinal, Kind: KindInternal, Title: "cka final", Unit: "linear CKA (0–1)",
		Axes: AxisSite, ComputedBy: "geometry.LinearCKA (Kornblith et al. 2019) against the same site at the last checkpoint; rows by analysis (siteMetrics)"},
	{Name: MetricCKANextWidth, Kind: KindInternal, Title: "cka next width", Unit: "linear CKA (0–1)",
		Axes: AxisSite, ComputedBy: "geometry.LinearCKA against the same site of the next wider cell of the family; rows by analysis (crossWidthCKA)"},

	{Name: MetricInductionScore, Kind: KindInternal, Title: "induction score", Unit: "mean attention on target (0–1)",
		Axes: AxisSite | AxisLayer | AxisHead, ComputedBy: "probes.InductionScoresTo (Olsson et al. 2022) via probes.ScoreHeads; rows by analysis (headScores)"},
	{Name: MetricPrevTokenScore, Kind: KindInternal, Title: "prev token score", Unit: "mean attention on target (0–1)",
		Axes: AxisSite | AxisLayer | AxisHead, ComputedBy: "probes.PrevTokenScoresTo via probes.ScoreHeads; rows by analysis (headScores)"},
	{Name: MetricDuplicateTokenScore, Kind: KindInternal, Title: "duplicate token score", Unit: "mean attention on target (0–1)",
		Axes: AxisSite | AxisLayer | AxisHead, ComputedBy: "probes.DuplicateTokenScoresTo via probes.ScoreHeads; rows by analysis (headScores)"},
	{Name: MetricEntropy, Kind: KindInternal, Title: "entropy", Unit: "attention entropy (nats)",
		Axes: AxisSite | AxisLayer | AxisHead, ComputedBy: "probes.HeadEntropyTo via probes.ScoreHeads; rows by analysis (headScores)"},
	{Name: MetricSpecialisation, Kind: KindInternal, Title: "specialisation", Unit: "head specialisation (nats, 0–ln 2)",
		Axes: AxisSite | AxisLayer, ComputedBy: "probes.Specialisation (mean pairwise Jensen–Shannon divergence of a layer's heads) via probes.ScoreHeads; rows by analysis (headScores)"},

	{Name: MetricProbeAccuracy, Kind: KindInternal, Title: "probe accuracy", Unit: "probe accuracy (fraction)", Group: GroupProbe,
		Axes: AxisSite | AxisConcept, ComputedBy: "probes.Selectivity (SelectivityResult.Task.Accuracy, cross-validated logistic probe); rows by analysis (probeConcepts)"},
	{Name: MetricProbeSelectivity, Kind: KindInternal, Title: "probe selectivity", Unit: "accuracy − control accuracy", Group: GroupProbe,
		Axes: AxisSite | AxisConcept, ComputedBy: "probes.Selectivity (Hewitt & Liang 2019: task accuracy − control-task accuracy); rows by analysis (probeConcepts)"},
	{Name: MetricProbeControlAccuracy, Kind: KindControl, Title: "probe control accuracy", Unit: "probe accuracy (fraction)",
		Axes: AxisSite | AxisConcept, ComputedBy: "probes.Selectivity (SelectivityResult.Control.Accuracy, Hewitt & Liang 2019 control task); rows by analysis (probeConcepts)"},
	{Name: MetricProbeLogLoss, Kind: KindInternal, Title: "probe logloss", Unit: "held-out probe log-loss (nats)", LowerIsBetter: true, Group: GroupProbe,
		Axes: AxisSite | AxisConcept, ComputedBy: "probes.Selectivity (SelectivityResult.Task.LogLoss); rows by analysis (probeConcepts)"},
	{Name: MetricProbeShuffledAccuracy, Kind: KindControl, Title: "probe shuffled accuracy", Unit: "probe accuracy (fraction)",
		Axes: AxisSite | AxisConcept, ComputedBy: "probes.CrossValidateLogistic on probes.ShuffledLabels; rows by analysis (probeConcepts)"},
}

// metricIndex maps a metric name to its index in metricInfos.
var metricIndex = func() map[string]int {
	m := make(map[string]int, len(metricInfos))
	for i, info := range metricInfos {
		m[info.Name] = i
	}
	return m
}()

// Metrics returns the whole vocabulary: the task metrics (exact match first, loss last), the
// sentinel, then the internal and control metrics by family. The slice is a copy.
func Metrics() []MetricInfo { return slices.Clone(metricInfos) }

// LookupMetric returns the description of the metric called name, and false when phaseprobe
// writes no metric of that name.
func LookupMetric(name string) (MetricInfo, bool) {
	i, ok := metricIndex[name]
	if !ok {
		return MetricInfo{}, false
	}
	return metricInfos[i], true
}

// MetricNames returns the names of the metrics of the given kind (KindTask, KindInternal or
// KindControl), sentinels and spectra left out, in the order of Metrics.
func MetricNames(kind string) []string {
	var names []string
	for _, info := range metricInfos {
		if info.Kind == kind && !info.Sentinel && !info.Spectrum {
			names = append(names, info.Name)
		}
	}
	return names
}

// IsSentinel reports whether a metrics row is a marker rather than a point of a checkpoint
// curve: the MetricDiverged row, or a training-batch loss (split SplitTrainBatch), whose steps
// are every training step rather than the checkpoints. Readers that build curves over
// checkpoints skip these rows.
func IsSentinel(r MetricRow) bool {
	return r.Metric == MetricDiverged || r.Split == SplitTrainBatch
}
