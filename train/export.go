package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
)

// Export of a checkpoint as a TransformerLens HookedTransformer (docs/transformerlens.md).
//
// phaseprobe's model is TransformerLens's HookedTransformer with "standard" (learned absolute)
// positional embeddings, and its parameters already carry HookedTransformer's state-dict names and
// shapes (Config.Params), so the export renames nothing and transposes nothing. It was checked
// against TransformerLens v3.5.1 (github.com/TransformerLensOrg/TransformerLens; the layouts are
// the same in v2.x) formula by formula:
//
//   - transformer_lens/components/embed.py, pos_embed.py: embed.W_E [d_vocab, d_model] indexed by
//     token; pos_embed.W_pos [n_ctx, d_model] indexed by position 0..pos-1; the two are added.
//   - transformer_lens/components/layer_norm.py: x − mean, divided by sqrt(mean((x − mean)²) + eps),
//     times w plus b (w, b [d_model]); phaseprobe's layerNorm is the same with eps = Config.LNEps.
//   - transformer_lens/components/abstract_attention.py, utilities/attention.py: q, k, v =
//     x·W_{Q,K,V} + b_{Q,K,V} with W [n_heads, d_model, d_head], b [n_heads, d_head]; scores
//     q·k / attn_scale with attn_scale = sqrt(d_head) (use_attn_scale, config's __post_init__);
//     keys after the query replaced by IGNORE = −inf; softmax over keys; z = pattern·v; out =
//     Σ_heads z·W_O + b_O with W_O [n_heads, d_head, d_model], b_O [d_model]. phaseprobe masks with
//     −1e30 instead of −inf: in float32 exp(−1e30 − max) is exactly 0, so the patterns are equal
//     (every query sees at least its own key, so no row is all masked).
//   - transformer_lens/components/mlps/mlp.py and utilities/activation_functions.py: x·W_in + b_in
//     (W_in [d_model, d_mlp]), act_fn, ·W_out + b_out (W_out [d_mlp, d_model]). act_fn "gelu" is
//     torch's F.gelu, the exact erf form phaseprobe uses ("gelu_new" would be the tanh form);
//     "relu" is F.relu.
//   - transformer_lens/components/transformer_block.py: pre-norm blocks, resid_mid = resid_pre +
//     attn(ln1(resid_pre)), resid_post = resid_mid + mlp(ln2(resid_mid)); attn_only blocks have no
//     ln2 and no mlp; normalization_type None makes ln1/ln2 identities and (HookedTransformer.py)
//     drops ln_final.
//   - transformer_lens/components/unembed.py: logits = x·W_U + b_U, W_U [d_model, d_vocab_out].
//
// The state dict of a HookedTransformer also holds two buffers per attention layer,
// blocks.{l}.attn.mask and blocks.{l}.attn.IGNORE, which are not weights and whose shape differs
// between TransformerLens versions (v2: [n_ctx, n_ctx]; v3: [0, 0], the mask being built at forward
// time); the export leaves them out, so the model is loaded with load_state_dict(..., strict=False)
// and the missing keys are exactly those buffers (docs/transformerlens.md shows the check).
//
// Nothing in phaseprobe's model family is outside what HookedTransformer expresses; a config with
// a normalization or activation this file does not know (from a later phaseprobe) is refused with
// an error rather than exported wrongly.

// TLConfig is the part of TransformerLens's HookedTransformerConfig that describes a phaseprobe
// model, with HookedTransformerConfig's field names (transformer_lens/config/
// hooked_transformer_config.py and transformer_lens_config.py in v3; HookedTransformerConfig.py in
// v2), so that HookedTransformerConfig(**json.load(f)) rebuilds it. Every other field keeps its
// TransformerLens default, which is phaseprobe's behaviour.
type TLConfig struct {
	NLayers   int  `json:"n_layers"`
	DModel    int  `json:"d_model"`
	NCtx      int  `json:"n_ctx"`
	DHead     int  `json:"d_head"`
	NHeads    int  `json:"n_heads"`
	DMLP      *int `json:"d_mlp"` // null for attention-only models
	DVocab    int  `json:"d_vocab"`
	DVocabOut int  `json:"d_vocab_out"`
	// ActFn is "gelu" (torch's exact F.gelu) or "relu".
	ActFn string `json:"act_fn"`
	// NormalizationType is "LN" or null (phaseprobe's "none").
	NormalizationType *string `json:"normalization_type"`
	Eps               float64 `json:"eps"` // LayerNorm's epsilon
	AttnOnly          bool    `json:"attn_only"`
	// PositionalEmbeddingType is "standard": learned absolute positions added to the embedding.
	PositionalEmbeddingType string `json:"positional_embedding_type"`
	// AttentionDir is "causal".
	AttentionDir string `json:"attention_dir"`
	// UseAttnScale divides the attention scores by sqrt(d_head).
	UseAttnScale bool `json:"use_attn_scale"`
	// InitializerRange is the standard deviation phaseprobe initialised weight matrices with.
	InitializerRange float64 `json:"initializer_range"`
	ModelName        string  `json:"model_name"`
}

// TransformerLensConfig maps a phaseprobe model config onto HookedTransformerConfig's fields. It
// returns an error if the model uses something TransformerLens cannot express.
func TransformerLensConfig(c Config, modelName string) (TLConfig, error) {
	c, err := c.Resolve()
	if err != nil {
		return TLConfig{}, err
	}
	tc := TLConfig{
		NLayers: c.NLayers, DModel: c.DModel, NCtx: c.NCtx, DHead: c.DHead, NHeads: c.NHeads,
		DVocab: c.DVocab, DVocabOut: c.DVocab, Eps: c.LNEps, AttnOnly: c.AttnOnly,
		PositionalEmbeddingType: "standard", AttentionDir: "causal", UseAttnScale: true,
		InitializerRange: c.InitRange, ModelName: modelName,
	}
	switch c.ActFn {
	case "gelu", "relu":
		tc.ActFn = string(c.ActFn)
	default:
		return TLConfig{}, fmt.Errorf("act_fn %q has no TransformerLens equivalent this exporter knows", c.ActFn)
	}
	switch c.Normalization {
	case "LN":
		ln := "LN"
		tc.NormalizationType = &ln
	case "none":
	default:
		return TLConfig{}, fmt.Errorf("normalization_type %q has no TransformerLens equivalent this exporter knows", c.Normalization)
	}
	if !c.AttnOnly {
		d := c.DMLP
		tc.DMLP = &d
	}
	return tc, nil
}

// ErrNotCell is returned (wrapped) by ExportTransformerLens for a folder that is not a cell's.
var ErrNotCell = errors.New("not a cell folder")

// NoCheckpointError says that a cell has no checkpoint with weights at the step asked for.
type NoCheckpointError struct {
	CellDir string
	Step    int
	Have    []int // the steps that have checkpoints, ascending
}

func (e *NoCheckpointError) Error() string {
	if len(e.Have) == 0 {
		return fmt.Sprintf("%s has no checkpoints (its cell has not been trained yet)", e.CellDir)
	}
	s := make([]string, len(e.Have))
	for i, st := range e.Have {
		s[i] = strconv.Itoa(st)
	}
	return fmt.Sprintf("%s has no checkpoint weights at step %d; steps with weights: %s", e.CellDir, e.Step, strings.Join(s, ", "))
}

// TLExport describes what ExportTransformerLens wrote.
type TLExport struct {
	Cell        string
	Step        int
	WeightsPath string // model.safetensors
	ConfigPath  string // config.json (TLConfig)
	Tensors     int    // tensors in the safetensors file
	Config      TLConfig
}

// Names of the files an export writes.
const (
	TLWeightsFile = "model.safetensors"
	TLConfigFile  = "config.json"
)

// DefaultExportDir is where an export of a cell's step goes unless told otherwise:
// <cell>/export/transformerlens-step-<step>.
func DefaultExportDir(cellDir string, step int) string {
	return filepath.Join(cellDir, "export", fmt.Sprintf("transformerlens-step-%08d", step))
}

// ExportTransformerLens writes the weights of cellDir's checkpoint at step as a safetensors file
// (TLWeightsFile) with TransformerLens HookedTransformer state-dict names and shapes, float32, and
// the model's HookedTransformerConfig fields as JSON (TLConfigFile), into outDir (created if
// needed; files already there are replaced atomically). The checkpoint is read and its checksum
// verified with the checkpoint reader the sweep uses. Errors: ErrNotCell (wrapped) for a folder
// without a cell's config.json, *NoCheckpointError for a step without a checkpoint.
func ExportTransformerLens(cellDir string, step int, outDir string) (TLExport, error) {
	var meta CellMeta
	raw, err := os.ReadFile(filepath.Join(cellDir, data.ConfigFile))
	if err != nil {
		if _, serr := os.Stat(filepath.Join(cellDir, data.CellsDir)); serr == nil {
			return TLExport{}, fmt.Errorf("%s: %w: it is a run folder; give one of its cells, %s", cellDir, ErrNotCell, filepath.Join(cellDir, data.CellsDir, "<cell>"))
		}
		return TLExport{}, fmt.Errorf("%s: %w (no config.json): want runs/<sweep>/cells/<cell>", cellDir, ErrNotCell)
	}
	if err := json.Unmarshal(raw, &meta); err != nil || meta.Cell == "" {
		return TLExport{}, fmt.Errorf("%s: %w (its config.json is not a phaseprobe cell's)", cellDir, ErrNotCell)
	}
	path := checkpointPath(cellDir, step)
	if _, err := os.Stat(path); err != nil {
		return TLExport{}, &NoCheckpointError{CellDir: cellDir, Step: step, Have: CheckpointSteps(cellDir)}
	}
	ck, err := readCheckpoint(path)
	if err != nil {
		return TLExport{}, err
	}
	h := ck.Header
	if h.Step != step {
		return TLExport{}, fmt.Errorf("checkpoint %s: its header says step %d", path, h.Step)
	}
	tc, err := TransformerLensConfig(h.Config, fmt.Sprintf("phaseprobe/%s/step-%d", meta.Cell, step))
	if err != nil {
		return TLExport{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	cfg, _ := h.Config.Resolve() // TransformerLensConfig resolved it without error
	specs := cfg.Params()
	if len(h.Tensors) != len(specs) {
		return TLExport{}, fmt.Errorf("checkpoint %s: %d tensors, its config needs %d", path, len(h.Tensors), len(specs))
	}
	tensors := make([]stTensor, len(specs))
	for i, ps := range specs {
		ct := h.Tensors[i]
		if ct.Name != ps.Name || !equalInts(ct.Shape, ps.Shape) {
			return TLExport{}, fmt.Errorf("checkpoint %s: tensor %d is %s%v, its config needs %s%v", path, i, ct.Name, ct.Shape, ps.Name, ps.Shape)
		}
		tensors[i] = stTensor{Name: ps.Name, Shape: ps.Shape, Data: ck.State[i]}
	}
	metadata := map[string]string{
		"format":            "pt",
		"phaseprobe_cell":   meta.Cell,
		"phaseprobe_sweep":  meta.Sweep,
		"phaseprobe_task":   meta.Task,
		"phaseprobe_seed":   strconv.FormatUint(h.Seed, 10),
		"phaseprobe_step":   strconv.Itoa(step),
		"phaseprobe_source": filepath.ToSlash(filepath.Join(data.CheckpointsDir, filepath.Base(path))),
	}
	st, err := encodeSafetensors(tensors, metadata)
	if err != nil {
		return TLExport{}, err
	}
	cj, err := json.MarshalIndent(tc, "", "  ")
	if err != nil {
		return TLExport{}, err
	}
	for _, f := range []string{TLWeightsFile, TLConfigFile} {
		if err := checkExportTarget(filepath.Join(outDir, f)); err != nil {
			return TLExport{}, err
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return TLExport{}, fmt.Errorf("create %s: %w", outDir, err)
	}
	out := TLExport{Cell: meta.Cell, Step: step, WeightsPath: filepath.Join(outDir, TLWeightsFile),
		ConfigPath: filepath.Join(outDir, TLConfigFile), Tensors: len(tensors), Config: tc}
	if err := data.WriteFileAtomic(out.WeightsPath, st); err != nil {
		return TLExport{}, err
	}
	if err := data.WriteFileAtomic(out.ConfigPath, append(cj, '\n')); err != nil {
		return TLExport{}, err
	}
	return out, nil
}

// checkExportTarget returns an error when path exists and is not a file an earlier export wrote
// (a safetensors file whose metadata names a phaseprobe cell, or a HookedTransformerConfig whose
// model_name is phaseprobe's): an export replaces its own files only, never a cell's config.json
// or a file of the user's in the --out folder.
func checkExportTarget(path string) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	refuse := fmt.Errorf("%s exists and is not a phaseprobe export: refusing to overwrite it (choose another --out)", path)
	if filepath.Base(path) == TLWeightsFile {
		if len(raw) < 8 {
			return refuse
		}
		n := binary.LittleEndian.Uint64(raw[:8])
		var hdr struct {
			Meta map[string]string `json:"__metadata__"`
		}
		if n > uint64(len(raw)-8) || json.Unmarshal(raw[8:8+n], &hdr) != nil || hdr.Meta["phaseprobe_cell"] == "" {
			return refuse
		}
		return nil
	}
	var tc struct {
		ModelName string `json:"model_name"`
	}
	if json.Unmarshal(raw, &tc) != nil || !strings.HasPrefix(tc.ModelName, "phaseprobe/") {
		return refuse
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// stTensor is a float32 tensor to store in a safetensors file, row-major.
type stTensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// encodeSafetensors lays tensors out in the safetensors format (github.com/huggingface/safetensors,
// README "Format"): an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON mapping
// each tensor's name to {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} (byte
// offsets into the data buffer, end exclusive), plus "__metadata__", a string-to-string map; then
// the data buffer, every tensor little-endian and row-major, back to back in the order given, with
// no gaps. The header is padded with spaces so the buffer starts at a multiple of 8 bytes, as the
// reference writer does. It returns an error for a name used twice, a reserved name, or data whose
// length does not match its shape.
func encodeSafetensors(tensors []stTensor, metadata map[string]string) ([]byte, error) {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	if len(metadata) > 0 {
		mj, err := json.Marshal(metadata)
		if err != nil {
			return nil, err
		}
		hdr.WriteString(`"__metadata__":`)
		hdr.Write(mj)
	}
	seen := map[string]bool{}
	off := 0
	for _, t := range tensors {
		if t.Name == "__metadata__" || t.Name == "" || seen[t.Name] {
			return nil, fmt.Errorf("safetensors: tensor name %q is empty, reserved or used twice", t.Name)
		}
		seen[t.Name] = true
		if n := shapeSize(t.Shape); n != len(t.Data) {
			return nil, fmt.Errorf("safetensors: tensor %s has shape %v (%d values) but %d values", t.Name, t.Shape, n, len(t.Data))
		}
		name, _ := json.Marshal(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		sj, _ := json.Marshal(shape)
		if hdr.Len() > 1 {
			hdr.WriteByte(',')
		}
		end := off + 4*len(t.Data)
		fmt.Fprintf(&hdr, `%s:{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, name, sj, off, end)
		off = end
	}
	hdr.WriteByte('}')
	for (8+hdr.Len())%8 != 0 {
		hdr.WriteByte(' ')
	}
	out := make([]byte, 8, 8+hdr.Len()+off)
	binary.LittleEndian.PutUint64(out, uint64(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	for _, t := range tensors {
		for _, v := range t.Data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}
