package data

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go/compress"
)

// NA marks an integer coordinate that does not apply to a row (layer, head or position of a
// metric that has none). String coordinates that do not apply are "".
const NA = -1

// Coords are a cell's coordinates. Every table embeds them, so every row carries its cell and
// tables from many cells concatenate without joins. parquet-go flattens the embedded struct:
// the columns are sweep, cell, task, d_model, n_layers, n_heads, seed.
type Coords struct {
	Sweep   string `parquet:"sweep,dict"` // the sweep's name (runs/<sweep>)
	Cell    string `parquet:"cell,dict"`  // the cell's ID (runs/<sweep>/cells/<cell>)
	Task    string `parquet:"task,dict"`  // the task's registry name, e.g. "addition"
	DModel  int32  `parquet:"d_model,dict"`
	NLayers int32  `parquet:"n_layers,dict"`
	NHeads  int32  `parquet:"n_heads,dict"`
	Seed    int64  `parquet:"seed,dict"` // the model's initialisation seed
}

// MetricRow is one row of metrics.parquet: one value of one metric at one step, optionally at
// one activation site, layer, head, answer position or concept. Task metrics (exact_match,
// token_accuracy, position_accuracy, logprob, brier, edit_distance, loss) and internal metrics
// (effective_rank, cka_final, prev_token_score, probe_accuracy, ...) share this schema; the
// Metric constants name every metric and LookupMetric describes each one. Two kinds of rows are
// sentinels, not checkpoint values (IsSentinel): the "diverged" marker and the per-step
// training-batch losses of split "train_batch".
//
// Value is NULL (nil) where the metric has no finite value: a checkpoint whose outputs are not
// finite (a diverging cell's loss, logprob and brier), or an internal metric that cannot be computed
// from its activations. Writers set it with F, which maps NaN and ±Inf to nil; Float reads it back
// with NaN for NULL.
type MetricRow struct {
	Coords
	Step     int64    `parquet:"step"`
	Split    string   `parquet:"split,dict"`     // "train", "test", "probe" or "train_batch" (the Split constants)
	Site     string   `parquet:"site,dict"`      // TransformerLens site name, "" when not applicable
	Layer    int32    `parquet:"layer,dict"`     // NA when not applicable
	Head     int32    `parquet:"head,dict"`      // NA when not applicable
	Position int32    `parquet:"position,dict"`  // answer position (singular_value: index in the spectrum), NA when not applicable
	Concept  string   `parquet:"concept,dict"`   // probed concept, "" when not applicable
	Metric   string   `parquet:"metric,dict"`    // a Metric constant, e.g. "exact_match"
	Value    *float64 `parquet:"value,optional"` // NULL when not finite
}

// TableName returns "metrics".
func (MetricRow) TableName() string { return "metrics" }

// ActivationRow is one row of activations.parquet: the d_model-vector at one site, example and
// position at one step. The rows of one (step, site) are the residual layout
// [example, pos, d_model] in row-major order.
type ActivationRow struct {
	Coords
	Step    int64     `parquet:"step"`
	Site    string    `parquet:"site,dict"` // TransformerLens site name, e.g. "blocks.0.hook_resid_post"
	Example int32     `parquet:"example"`   // index into the probe set
	Pos     int32     `parquet:"pos"`
	Vector  []float32 `parquet:"vector,list" parquet-element:",split,snappy"` // d_model values; Snappy, not zstd: see CreateTable
}

// TableName returns "activations".
func (ActivationRow) TableName() string { return "activations" }

// AttentionRow is one row of attention.parquet: the attention pattern of one query position of
// one head at one step. The rows of one (step, layer) are the layout
// [example, head, query_pos, key_pos] in row-major order.
type AttentionRow struct {
	Coords
	Step     int64     `parquet:"step"`
	Layer    int32     `parquet:"layer"`
	Head     int32     `parquet:"head"`
	Example  int32     `parquet:"example"`
	QueryPos int32     `parquet:"query_pos"`
	Pattern  []float32 `parquet:"pattern,list" parquet-element:",split"` // n_ctx weights over key_pos, zeros after query_pos
}

// TableName returns "attention".
func (AttentionRow) TableName() string { return "attention" }

// defaultCodec is zstd's fastest level: on bench/capture_bench.sh's capture (337,920 rows of
// n_ctx 11) it wrote the table in 0.22 s at 8.5 MB, the default level in 0.34 s at 8.7 MB,
// Snappy in 0.15 s at 10.6 MB.
func (AttentionRow) defaultCodec() compress.Codec { return &zstdFastest }

// ProbeSetRow is one row of probe_set.parquet: one position of one example of the fixed probe
// set that every checkpoint is evaluated on.
type ProbeSetRow struct {
	Coords
	Example int32 `parquet:"example"`
	Pos     int32 `parquet:"pos"`
	Token   int32 `parquet:"token"`  // the input token at pos
	Target  int32 `parquet:"target"` // the next token the model must predict at pos
	Answer  bool  `parquet:"answer"` // the loss mask: true at answer positions
}

// TableName returns "probe_set".
func (ProbeSetRow) TableName() string { return "probe_set" }

// LabelRow is one row of labels.parquet: the label of one concept at one position of one probe
// example. Positions where a concept is undefined have no row.
type LabelRow struct {
	Coords
	Example int32  `parquet:"example"`
	Pos     int32  `parquet:"pos"`
	Concept string `parquet:"concept,dict"` // a Concept.Name of the task
	Label   int32  `parquet:"label"`        // 0..NumClasses-1
}

// TableName returns "labels".
func (LabelRow) TableName() string { return "labels" }

// OutputRow is one row of outputs.parquet: the model's prediction at one answer position of one
// probe example at one step. LogprobTarget is NULL (nil) when it is not finite (the outputs of a
// diverged checkpoint); Probs holds the softmax as computed, which may then hold NaN.
type OutputRow struct {
	Coords
	Step          int64     `parquet:"step"`
	Example       int32     `parquet:"example"`
	Pos           int32     `parquet:"pos"` // an answer position
	Target        int32     `parquet:"target"`
	Predicted     int32     `parquet:"predicted"`                           // argmax of probs
	LogprobTarget *float32  `parquet:"logprob_target,optional"`             // natural log of probs[target]; NULL when not finite
	Probs         []float32 `parquet:"probs,list" parquet-element:",split"` // d_vocab softmax probabilities
}

// TableName returns "outputs".
func (OutputRow) TableName() string { return "outputs" }

// CellDirs returns the cell folders of a sweep's run folder, runDir/cells/<cell>, sorted by
// name. Entries that are not folders and names starting with "." are skipped.
func CellDirs(runDir string) ([]string, error) {
	cells := filepath.Join(runDir, CellsDir)
	entries, err := os.ReadDir(cells)
	if err != nil {
		return nil, fmt.Errorf("list cells of %s: %w", runDir, err)
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dirs = append(dirs, filepath.Join(cells, e.Name()))
	}
	slices.Sort(dirs)
	return dirs, nil
}
