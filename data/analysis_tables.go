package data

import "math"

// The rows of the sweep-level tables that `phaseprobe analyze` writes under runs/<sweep>/analysis/
// (TransitionsFile, JumpsFile, MirageFile, VerdictsFile) follow. Statistics that do not apply to a
// row are NULL (a nil pointer), never NaN.

// Kinds of Series.
const (
	KindTask     = "task"     // a scoring of the model's outputs
	KindInternal = "internal" // geometry, probes, head scores
	KindControl  = "control"  // a baseline (control-task and shuffled-label probes): never given a verdict
)

// Series identifies one curve of a cell: a metric at a split, site, layer, head, position and
// concept (the MetricRow columns other than step and value). Kind is KindTask, KindInternal or
// KindControl.
type Series struct {
	Kind     string `parquet:"kind,dict"`
	Split    string `parquet:"split,dict"`
	Site     string `parquet:"site,dict"`
	Layer    int32  `parquet:"layer"`
	Head     int32  `parquet:"head"`
	Position int32  `parquet:"position"`
	Concept  string `parquet:"concept,dict"`
	Metric   string `parquet:"metric,dict"`
}

// TransitionRow is the transition test of one curve of one cell over training steps, on the axis
// x = log10(step + 1) (transition.TestCurve): a calibrated p-value for "contains an abrupt
// transition" against smooth null families fitted on the run's own checkpoint grid and learning-rate
// schedule, its Benjamini–Hochberg q over every curve of the sweep, and the largest jump found.
// Step-valued columns are converted back to steps. NULL where a value does not apply.
type TransitionRow struct {
	Coords
	Series
	Points     int32    `parquet:"points"`                // checkpoints in the curve
	P          *float64 `parquet:"p,optional"`            // parametric-bootstrap p of "no abrupt transition"
	Q          *float64 `parquet:"q,optional"`            // BH q over the sweep's tested curves of the same kind
	Stat       *float64 `parquet:"statistic,optional"`    // likelihood-ratio statistic, jump model vs best null
	Null       string   `parquet:"null_family,dict"`      // the best-fitting smooth null family
	NoiseSD    *float64 `parquet:"noise_sd,optional"`     // residual noise scale used by the bootstrap
	NoiseAR1   *float64 `parquet:"noise_ar1,optional"`    // residual AR(1) coefficient used by the bootstrap
	Replicates int32    `parquet:"replicates"`            // bootstrap replicates drawn
	Abrupt     bool     `parquet:"abrupt"`                // q ≤ the FDR level and the jump is large enough
	Jumps      int32    `parquet:"jumps"`                 // this curve's rows in jumps.parquet (an abrupt curve's jumps, a task curve's candidates); 0 if none
	MidStep    *float64 `parquet:"onset_step,optional"`   // the largest jump's midpoint
	Onset10    *float64 `parquet:"onset10_step,optional"` // its 10 % point
	Onset90    *float64 `parquet:"onset90_step,optional"` // its 90 % point
	Width      *float64 `parquet:"width_decades,optional"`
	Lo         *float64 `parquet:"lo,optional"`   // level before the jump
	Hi         *float64 `parquet:"hi,optional"`   // level after the jump
	Size       *float64 `parquet:"size,optional"` // hi − lo (signed)
	InWarmup   bool     `parquet:"in_warmup"`     // the largest jump's onset lies in the learning-rate warm-up
	ChangeStep *float64 `parquet:"change_step,optional"`
	Reason     string   `parquet:"reason,dict"` // why the curve is or is not abrupt
}

// TableName implements TableRow.
func (TransitionRow) TableName() string { return "transitions" }

// JumpRow is one jump found in a curve, in time order (a plateau-then-jump curve has two).
type JumpRow struct {
	Coords
	Series
	Jump     int32    `parquet:"jump"` // 0, 1, ... in time order
	MidStep  float64  `parquet:"onset_step"`
	Onset10  float64  `parquet:"onset10_step"`
	Onset90  float64  `parquet:"onset90_step"`
	Width    float64  `parquet:"width_decades"`
	Lo       float64  `parquet:"lo"`
	Hi       float64  `parquet:"hi"`
	Size     float64  `parquet:"size"`
	P        *float64 `parquet:"p,optional"` // this jump's own p
	InWarmup bool     `parquet:"in_warmup"`
}

// TableName implements TableRow.
func (JumpRow) TableName() string { return "jumps" }

// MirageRow is the mirage test at the jump for one scoring of one model shape: across the window
// where exact match jumps, does this scoring of the same outputs jump too (transition.TestWindow,
// per learning seed, combined over seeds)? Exact match's own row carries Schaeffer et al.'s
// predictions instead (independence gaps).
type MirageRow struct {
	Sweep       string   `parquet:"sweep,dict"`
	Task        string   `parquet:"task,dict"`
	DModel      int32    `parquet:"d_model"`
	NLayers     int32    `parquet:"n_layers"`
	NHeads      int32    `parquet:"n_heads"`
	Split       string   `parquet:"split,dict"`
	Metric      string   `parquet:"metric,dict"`
	Position    int32    `parquet:"position"` // answer position of position_accuracy, NA otherwise
	Discrete    bool     `parquet:"discrete"` // all-or-nothing scoring (exact match)
	Seeds       int32    `parquet:"seeds"`    // seeds of the shape that learn the task (final exact match ≥ 0.5)
	WindowLo    *float64 `parquet:"window_lo_step,optional"`
	WindowHi    *float64 `parquet:"window_hi_step,optional"`
	Excess      *float64 `parquet:"excess_jump,optional"`      // median over seeds of the jump beyond the smooth fit, in the metric's units
	ExcessFrac  *float64 `parquet:"excess_frac,optional"`      // the same as a fraction of the curve's range
	ExcessUpper *float64 `parquet:"excess_upper,optional"`     // largest upper confidence bound of |excess|/range over seeds
	P           *float64 `parquet:"p,optional"`                // seeds combined (Fisher's method)
	PLogStep    *float64 `parquet:"p_log_step,optional"`       // the same of the seeds' window tests on log step alone
	PCumLR      *float64 `parquet:"p_cum_lr,optional"`         // ... and on the log cumulative learning rate (NULL where not asked)
	Q           *float64 `parquet:"q,optional"`                // BH over the mirage rows of the sweep
	JumpSeeds   int32    `parquet:"jump_seeds"`                // seeds whose window test has p ≤ α
	SmoothSeeds int32    `parquet:"smooth_seeds"`              // seeds shown smooth across the window
	Reading     string   `parquet:"reading,dict"`              // "jumps with exact match", "smooth across the jump", "undetermined"
	IndepGap    *float64 `parquet:"independence_gap,optional"` // exact match: mean |EM − Π position accuracy| across the window
	PowerGap    *float64 `parquet:"mean_token_gap,optional"`   // exact match: mean |EM − p̄^L| across the window
}

// TableName implements TableRow.
func (MirageRow) TableName() string { return "mirage" }

// ReasonOtherShapeBaseline begins the clause of a specificity row's reason that says every
// never-learning cell is of another model shape than the learning cells (followed by the shapes in
// parentheses); the report reads it to qualify a phase-transition sentence.
const ReasonOtherShapeBaseline = "every never-learning cell is of another shape than the learning ones"

// Questions of the verdicts table.
const (
	QuestionTaskJump    = "task_jump"   // does the capability jump over training (per shape)?
	QuestionMirage      = "mirage"      // is the jump a scoring artefact (per shape)?
	QuestionCoupling    = "coupling"    // do internal onsets track task onsets across cells (per family)?
	QuestionSpecificity = "specificity" // is the internal transition absent where the task never jumps?
	QuestionLeadLag     = "lead_lag"    // does the internal transition lead, lag or coincide (per shape)?
	QuestionScale       = "scale"       // does the metric jump with width (per family)?
)

// VerdictRow is one claim phaseprobe makes, with its evidence: one row per task shape (or family
// of widths) and question. The analysis decides every verdict; the report only renders them.
type VerdictRow struct {
	Sweep      string   `parquet:"sweep,dict"`
	Task       string   `parquet:"task,dict"`
	DModel     int32    `parquet:"d_model"` // NA for a question asked over the family of widths
	NLayers    int32    `parquet:"n_layers"`
	NHeads     int32    `parquet:"n_heads"`
	Question   string   `parquet:"question,dict"`
	Subject    string   `parquet:"subject,dict"` // what the question is about, in words
	Site       string   `parquet:"site,dict"`
	Layer      int32    `parquet:"layer"`
	Head       int32    `parquet:"head"`
	Concept    string   `parquet:"concept,dict"`
	Metric     string   `parquet:"metric,dict"`
	Group      string   `parquet:"measure_group,dict"` // near-identical measures counted once (e.g. rank)
	TaskMetric string   `parquet:"task_metric,dict"`
	Onset      string   `parquet:"onset_definition,dict"` // which point of a transition is its onset
	Verdict    string   `parquet:"verdict,dict"`
	Robust     bool     `parquet:"robust"` // lead_lag: the same verdict under every onset definition
	Stat       *float64 `parquet:"statistic,optional"`
	P          *float64 `parquet:"p,optional"`
	Q          *float64 `parquet:"q,optional"` // BH over every verdict test of the sweep
	Effect     *float64 `parquet:"effect,optional"`
	EffectLo   *float64 `parquet:"effect_lo,optional"`
	EffectHi   *float64 `parquet:"effect_hi,optional"`
	Seeds      int32    `parquet:"seeds"`
	Cells      int32    `parquet:"cells"`
	Need       *int32   `parquet:"need,optional"` // seeds or cells the question needs, when short
	Method     string   `parquet:"method,dict"`
	NullHyp    string   `parquet:"null,dict"`
	Reason     string   `parquet:"reason"`
}

// TableName implements TableRow.
func (VerdictRow) TableName() string { return "verdicts" }

// F returns a pointer to v, or nil when v is NaN or infinite: the NULL of an optional column.
func F(v float64) *float64 {
	if v != v || v > 1.7976931348623157e308 || v < -1.7976931348623157e308 {
		return nil
	}
	return &v
}

// F32 returns a pointer to v, or nil when v is NaN or infinite: the NULL of an optional float32
// column.
func F32(v float32) *float32 {
	if v != v || v > 3.4028234663852886e38 || v < -3.4028234663852886e38 {
		return nil
	}
	return &v
}

// Float returns *p, or NaN when p is nil (NULL): the inverse of F, for code that computes with NaN
// as "missing".
func Float(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// I returns a pointer to v.
func I(v int32) *int32 { return &v }
