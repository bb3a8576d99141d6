package train

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // model code reads better with graph ops unqualified

	"github.com/phaseprobe/phaseprobe/data"
)

// Config describes one member of the model family: a decoder-only transformer in the layout of
// TransformerLens's HookedTransformer. It is stored in every checkpoint, so a checkpoint describes
// itself. Zero values take the defaults noted (see Resolve).
type Config struct {
	DVocab  int `json:"d_vocab"`  // vocabulary size (from the task)
	NCtx    int `json:"n_ctx"`    // positions per sequence (from the task)
	DModel  int `json:"d_model"`  // residual width
	NLayers int `json:"n_layers"` // transformer blocks
	NHeads  int `json:"n_heads"`  // attention heads per block
	DHead   int `json:"d_head"`   // per-head width; default d_model / n_heads
	DMLP    int `json:"d_mlp"`    // MLP hidden width; default 4·d_model; unused when AttnOnly
	// AttnOnly drops the MLPs (the setting of Olsson et al. 2022's induction-head models).
	AttnOnly bool `json:"attn_only"`
	// Normalization is NormLN ("LN", pre-LayerNorm, the default) or NormNone ("none").
	Normalization Normalization `json:"normalization_type"`
	// ActFn is the MLP non-linearity: ActGELU ("gelu", exact, erf-based; the default) or ActReLU
	// ("relu").
	ActFn ActFn `json:"act_fn"`
	// InitRange is the standard deviation of the normal initialisation of every weight matrix;
	// default 0.8/sqrt(d_model), TransformerLens's default.
	InitRange float64 `json:"initializer_range"`
	// LNEps is LayerNorm's epsilon; default 1e-5 (GoMLX's own default is 1e-3).
	LNEps float64 `json:"ln_eps"`
}

// Presets are named model shapes for the CLI and specs; d_vocab and n_ctx come from the task.
var Presets = map[string]Config{
	"tiny":      {DModel: 32, NLayers: 2, NHeads: 4},
	"small":     {DModel: 64, NLayers: 2, NHeads: 4},
	"attn-only": {DModel: 64, NLayers: 2, NHeads: 4, AttnOnly: true},
}

// Resolve fills in defaults and validates the shape. Errors name the offending field and value.
func (c Config) Resolve() (Config, error) {
	if c.DHead == 0 && c.NHeads > 0 && c.DModel%c.NHeads == 0 {
		c.DHead = c.DModel / c.NHeads
	}
	if c.DMLP == 0 && !c.AttnOnly {
		c.DMLP = 4 * c.DModel
	}
	if c.Normalization == "" {
		c.Normalization = NormLN
	}
	if c.ActFn == "" {
		c.ActFn = ActGELU
	}
	if c.InitRange == 0 && c.DModel > 0 {
		c.InitRange = 0.8 / math.Sqrt(float64(c.DModel))
	}
	if c.LNEps == 0 {
		c.LNEps = 1e-5
	}
	positive := []struct {
		name string
		v    int
	}{{"d_vocab", c.DVocab}, {"n_ctx", c.NCtx}, {"d_model", c.DModel}, {"n_layers", c.NLayers}, {"n_heads", c.NHeads}}
	for _, f := range positive {
		if f.v <= 0 {
			return c, fmt.Errorf("model config: %s = %d: must be positive", f.name, f.v)
		}
	}
	if c.DModel%c.NHeads != 0 && c.DHead == 0 {
		return c, fmt.Errorf("model config: d_model = %d is not divisible by n_heads = %d (set d_head explicitly or change one)", c.DModel, c.NHeads)
	}
	if c.DHead <= 0 {
		return c, fmt.Errorf("model config: d_head = %d: must be positive", c.DHead)
	}
	if !c.AttnOnly && c.DMLP <= 0 {
		return c, fmt.Errorf("model config: d_mlp = %d: must be positive", c.DMLP)
	}
	if c.Normalization != NormLN && c.Normalization != NormNone {
		return c, fmt.Errorf("model config: normalization_type = %q: want \"LN\" or \"none\"", c.Normalization)
	}
	if c.ActFn != ActGELU && c.ActFn != ActReLU {
		return c, fmt.Errorf("model config: act_fn = %q: want \"gelu\" or \"relu\"", c.ActFn)
	}
	if c.InitRange <= 0 || math.IsNaN(c.InitRange) {
		return c, fmt.Errorf("model config: initializer_range = %g: must be positive", c.InitRange)
	}
	if c.LNEps <= 0 {
		return c, fmt.Errorf("model config: ln_eps = %g: must be positive", c.LNEps)
	}
	return c, nil
}

// Normalization is where the model normalises the residual stream (TransformerLens's
// normalization_type).
type Normalization string

// The normalisations phaseprobe builds.
const (
	// NormLN is pre-LayerNorm: LayerNorm (with gain and bias) before attention, before the MLP and
	// before the unembedding.
	NormLN Normalization = "LN"
	// NormNone leaves the residual stream unnormalised and has no LayerNorm parameters.
	NormNone Normalization = "none"
)

// ActFn is the MLP's non-linearity (TransformerLens's act_fn).
type ActFn string

// The non-linearities phaseprobe builds.
const (
	// ActGELU is the exact GELU of torch.nn.GELU(): 0.5·x·(1 + erf(x/√2)) (Hendrycks & Gimpel 2016).
	ActGELU ActFn = "gelu"
	// ActReLU is max(x, 0).
	ActReLU ActFn = "relu"
)

// InitKind is how a parameter is initialised.
type InitKind int

// The initialisations of Config.Params.
const (
	// InitNormal draws every element from normal(0, Config.InitRange).
	InitNormal InitKind = iota
	// InitZeros sets every element to 0 (biases, LayerNorm biases).
	InitZeros
	// InitOnes sets every element to 1 (LayerNorm gains).
	InitOnes
)

// ParamSpec is one weight tensor of the model, named as in a TransformerLens state dict.
type ParamSpec struct {
	Name  string
	Shape []int // per model, without the ensemble axis
	// Decay says whether AdamW's weight decay applies (weight matrices and embeddings yes; biases and
	// LayerNorm gains/biases no — AdamW in GoMLX v0.26.0 decays everything, which we avoid).
	Decay bool
	// Init is how the tensor is initialised.
	Init InitKind
}

// Params lists the model's parameters in a fixed order: the order of checkpoints and of the graph's
// inputs.
func (c Config) Params() []ParamSpec {
	slots := c.layout(&modelParams{})
	ps := make([]ParamSpec, len(slots))
	for i, s := range slots {
		ps[i] = s.spec
	}
	return ps
}

// lnParams are one LayerNorm's gain and bias.
type lnParams struct {
	w, b *Node // [K, d_model]
}

// attnParams are one attention layer's weights, in TransformerLens's per-head layout.
type attnParams struct {
	wQ, wK, wV *Node // [K, head, d_model, d_head]
	bQ, bK, bV *Node // [K, head, d_head]
	wO         *Node // [K, head, d_head, d_model]
	bO         *Node // [K, d_model]
}

// mlpParams are one MLP's weights.
type mlpParams struct {
	wIn  *Node // [K, d_model, d_mlp]
	bIn  *Node // [K, d_mlp]
	wOut *Node // [K, d_mlp, d_model]
	bOut *Node // [K, d_model]
}

// blockParams are one transformer block's weights. ln1 and ln2 are nil without LayerNorm (NormNone);
// mlp and ln2 are nil in an attention-only model.
type blockParams struct {
	ln1  *lnParams
	attn attnParams
	ln2  *lnParams
	mlp  *mlpParams
}

// modelParams are the whole model's weights as graph nodes, each with the ensemble axis K first.
type modelParams struct {
	wE      *Node // [K, d_vocab, d_model]
	wPos    *Node // [K, n_ctx, d_model]
	blocks  []blockParams
	lnFinal *lnParams // nil without LayerNorm
	wU      *Node     // [K, d_model, d_vocab]
	bU      *Node     // [K, d_vocab]
}

// paramSlot is one parameter: its spec and the field of a modelParams that holds its node.
type paramSlot struct {
	spec ParamSpec
	node **Node
}

// layout lists the model's parameters in checkpoint order, each with the field of p that holds it
// (layout allocates p's blocks, LayerNorms and MLPs). Params and bindParams both read it, so the
// state-dict names, shapes, order and struct fields cannot disagree.
func (c Config) layout(p *modelParams) []paramSlot {
	d, h, e, v := c.DModel, c.NHeads, c.DHead, c.DVocab
	var slots []paramSlot
	add := func(node **Node, name string, decay bool, init InitKind, shape ...int) {
		slots = append(slots, paramSlot{ParamSpec{Name: name, Shape: shape, Decay: decay, Init: init}, node})
	}
	weight := func(node **Node, name string, shape ...int) { add(node, name, true, InitNormal, shape...) }
	bias := func(node **Node, name string, shape ...int) { add(node, name, false, InitZeros, shape...) }
	layerNorm := func(name string) *lnParams {
		if c.Normalization != NormLN {
			return nil
		}
		ln := &lnParams{}
		add(&ln.w, name+".w", false, InitOnes, d)
		add(&ln.b, name+".b", false, InitZeros, d)
		return ln
	}

	weight(&p.wE, "embed.W_E", v, d)
	weight(&p.wPos, "pos_embed.W_pos", c.NCtx, d)
	p.blocks = make([]blockParams, max(c.NLayers, 0))
	for l := range p.blocks {
		b := &p.blocks[l]
		name := fmt.Sprintf("blocks.%d.", l)
		b.ln1 = layerNorm(name + "ln1")
		a := &b.attn
		weight(&a.wQ, name+"attn.W_Q", h, d, e)
		bias(&a.bQ, name+"attn.b_Q", h, e)
		weight(&a.wK, name+"attn.W_K", h, d, e)
		bias(&a.bK, name+"attn.b_K", h, e)
		weight(&a.wV, name+"attn.W_V", h, d, e)
		bias(&a.bV, name+"attn.b_V", h, e)
		weight(&a.wO, name+"attn.W_O", h, e, d)
		bias(&a.bO, name+"attn.b_O", d)
		if !c.AttnOnly {
			b.ln2 = layerNorm(name + "ln2")
			b.mlp = &mlpParams{}
			weight(&b.mlp.wIn, name+"mlp.W_in", d, c.DMLP)
			bias(&b.mlp.bIn, name+"mlp.b_in", c.DMLP)
			weight(&b.mlp.wOut, name+"mlp.W_out", c.DMLP, d)
			bias(&b.mlp.bOut, name+"mlp.b_out", d)
		}
	}
	p.lnFinal = layerNorm("ln_final")
	weight(&p.wU, "unembed.W_U", d, v)
	bias(&p.bU, "unembed.b_U", v)
	return slots
}

// bindParams gives the graph's parameter inputs (in Params order, each [K, ...shape]) their places
// in the model. It panics if the number of inputs is not the number of parameters.
func (c Config) bindParams(inputs []*Node) modelParams {
	var p modelParams
	slots := c.layout(&p)
	if len(inputs) != len(slots) {
		panic(fmt.Sprintf("train: %d parameter nodes for a model with %d parameters", len(inputs), len(slots)))
	}
	for i, s := range slots {
		*s.node = inputs[i]
	}
	return p
}

// NumParams is the number of scalar parameters of one model.
func (c Config) NumParams() int {
	n := 0
	for _, p := range c.Params() {
		n += shapeSize(p.Shape)
	}
	return n
}

// Sites lists the activation sites the model produces, TransformerLens names, in forward order.
func (c Config) Sites() []data.Site {
	var s []data.Site
	s = append(s, data.Site{Layer: -1, Hook: data.HookEmbed}, data.Site{Layer: -1, Hook: data.HookPosEmbed})
	for l := range c.NLayers {
		s = append(s, data.Site{Layer: l, Hook: data.HookResidPre}, data.Site{Layer: l, Hook: data.HookPattern}, data.Site{Layer: l, Hook: data.HookAttnOut})
		if !c.AttnOnly {
			s = append(s, data.Site{Layer: l, Hook: data.HookResidMid}, data.Site{Layer: l, Hook: data.HookMLPPost}, data.Site{Layer: l, Hook: data.HookMLPOut})
		}
		s = append(s, data.Site{Layer: l, Hook: data.HookResidPost})
	}
	if c.Normalization == NormLN {
		s = append(s, data.Site{Layer: -1, Hook: data.HookLnFinal})
	}
	return s
}

func shapeSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// The model, in reading order: layerNorm, attention, mlp, block, forward. Every tensor carries the
// ensemble axis K first; member k's numbers are those of model k alone.

// hooks passes activations to a capture callback; a nil hooks captures nothing.
type hooks func(data.Site, *Node)

// at reports activation x of site (layer, hook); layer -1 is outside the blocks.
func (h hooks) at(layer int, hook data.Hook, x *Node) {
	if h != nil {
		h(data.Site{Layer: layer, Hook: hook}, x)
	}
}

// perPosition reshapes a [K, ...] parameter so it broadcasts over [K, batch, pos, ...].
func perPosition(x *Node) *Node {
	dims := x.Shape().Dimensions
	return Reshape(x, append([]int{dims[0], 1, 1}, dims[1:]...)...)
}

// layerNorm normalises x [K, batch, pos, d_model] over d_model and applies p's gain and bias:
// (x − mean) / sqrt(var + ε) · w + b, torch.nn.LayerNorm's formula with ε = c.LNEps. Without
// LayerNorm (NormNone) it returns x unchanged (p is nil then).
func layerNorm(c Config, p *lnParams, x *Node) *Node {
	if c.Normalization != NormLN {
		return x
	}
	mean := ReduceAndKeep(x, ReduceMean, -1)                // [K, batch, pos, 1]
	xc := Sub(x, mean)                                      // [K, batch, pos, d_model]
	variance := ReduceAndKeep(Square(xc), ReduceMean, -1)   // [K, batch, pos, 1]
	xn := Div(xc, Sqrt(AddScalar(variance, c.LNEps)))       // [K, batch, pos, d_model]
	return Add(Mul(xn, perPosition(p.w)), perPosition(p.b)) // [K, batch, pos, d_model]
}

// causalMask is the attention mask every layer shares.
type causalMask struct {
	keep   *Node // [K, batch, head, query_pos, key_pos] bool: key_pos ≤ query_pos
	negInf *Node // scalar float32 −1e30: the score of a masked key
}

// attention is causal multi-head self-attention on x [K, batch, pos, d_model] (already
// normalised). It returns the layer's output [K, batch, pos, d_model] and its pattern
// [K, batch, head, query_pos, key_pos]. Scores are scaled by 1/sqrt(d_head), as in TransformerLens
// and Vaswani et al. 2017.
func attention(c Config, p attnParams, x *Node, mask causalMask) (out, pattern *Node) {
	dims := x.Shape().Dimensions
	K, B, T := dims[0], dims[1], dims[2]
	q := Add(Einsum("kbtd,khde->kbthe", x, p.wQ), perPosition(p.bQ))                       // [K, batch, pos, head, d_head]
	k := Add(Einsum("kbtd,khde->kbthe", x, p.wK), perPosition(p.bK))                       // [K, batch, pos, head, d_head]
	v := Add(Einsum("kbtd,khde->kbthe", x, p.wV), perPosition(p.bV))                       // [K, batch, pos, head, d_head]
	scores := MulScalar(Einsum("kbqhe,kbshe->kbhqs", q, k), 1/math.Sqrt(float64(c.DHead))) // [K, batch, head, query_pos, key_pos]
	scores = Where(mask.keep, scores, BroadcastToDims(mask.negInf, K, B, c.NHeads, T, T))  // [K, batch, head, query_pos, key_pos]
	pattern = Softmax(scores, -1)                                                          // [K, batch, head, query_pos, key_pos]
	z := Einsum("kbhqs,kbshe->kbqhe", pattern, v)                                          // [K, batch, pos, head, d_head]
	out = Add(Einsum("kbthe,khed->kbtd", z, p.wO), perPosition(p.bO))                      // [K, batch, pos, d_model]
	return out, pattern
}

// mlp is the feed-forward layer on x [K, batch, pos, d_model] (already normalised): W_out ·
// act(W_in · x + b_in) + b_out. It returns its output [K, batch, pos, d_model] and the hidden
// activation after the non-linearity [K, batch, pos, d_mlp].
func mlp(c Config, p *mlpParams, x *Node) (out, post *Node) {
	pre := Add(Einsum("kbtd,kdm->kbtm", x, p.wIn), perPosition(p.bIn))     // [K, batch, pos, d_mlp]
	post = activation(c.ActFn, pre)                                        // [K, batch, pos, d_mlp]
	out = Add(Einsum("kbtm,kmd->kbtd", post, p.wOut), perPosition(p.bOut)) // [K, batch, pos, d_model]
	return out, post
}

// block is transformer block l on the residual stream resid [K, batch, pos, d_model], pre-norm as
// in GPT-2: resid + attention(ln1(resid)), then + mlp(ln2(·)) unless the model is attention-only.
// It returns the new residual stream and reports the block's sites to h.
func block(c Config, l int, p blockParams, resid *Node, mask causalMask, h hooks) *Node {
	h.at(l, data.HookResidPre, resid)
	attnOut, pattern := attention(c, p.attn, layerNorm(c, p.ln1, resid), mask) // [K, batch, pos, d_model]
	h.at(l, data.HookPattern, pattern)
	h.at(l, data.HookAttnOut, attnOut)
	resid = Add(resid, attnOut) // [K, batch, pos, d_model]
	if !c.AttnOnly {
		h.at(l, data.HookResidMid, resid)
		mlpOut, post := mlp(c, p.mlp, layerNorm(c, p.ln2, resid)) // [K, batch, pos, d_model]
		h.at(l, data.HookMLPPost, post)
		h.at(l, data.HookMLPOut, mlpOut)
		resid = Add(resid, mlpOut) // [K, batch, pos, d_model]
	}
	h.at(l, data.HookResidPost, resid)
	return resid
}

// forward runs the model on tokens [K, batch, pos] (int32) with parameters p. It returns logits
// [K, batch, pos, d_vocab]. If capture is non-nil, it is called with every site's activation,
// [K, batch, pos, width] or, for patterns, [K, batch, head, query_pos, key_pos]. It panics if the
// tokens do not have n_ctx positions.
func forward(c Config, p modelParams, tokens *Node, capture func(data.Site, *Node)) *Node {
	g := tokens.Graph()
	dims := tokens.Shape().Dimensions
	K, B, T := dims[0], dims[1], dims[2]
	if T != c.NCtx {
		panic(fmt.Sprintf("train: tokens have %d positions, model n_ctx is %d", T, c.NCtx))
	}
	h := hooks(capture)

	onehot := OneHot(tokens, c.DVocab, dtypes.Float32)               // [K, batch, pos, d_vocab]
	embed := Einsum("kbtv,kvd->kbtd", onehot, p.wE)                  // [K, batch, pos, d_model]
	pos := BroadcastToDims(InsertAxes(p.wPos, 1), K, B, T, c.DModel) // [K, batch, pos, d_model]
	h.at(-1, data.HookEmbed, embed)
	h.at(-1, data.HookPosEmbed, pos)
	resid := Add(embed, pos) // [K, batch, pos, d_model]

	mask := causalMask{
		keep:   BroadcastToDims(Reshape(LowerTriangular(g, T), 1, 1, 1, T, T), K, B, c.NHeads, T, T), // [K, batch, head, query_pos, key_pos]
		negInf: Scalar(g, dtypes.Float32, float32(-1e30)),
	}
	for l, bp := range p.blocks {
		resid = block(c, l, bp, resid, mask, h) // [K, batch, pos, d_model]
	}
	x := layerNorm(c, p.lnFinal, resid) // [K, batch, pos, d_model]
	if c.Normalization == NormLN {
		h.at(-1, data.HookLnFinal, x)
	}
	return Add(Einsum("kbtd,kdv->kbtv", x, p.wU), perPosition(p.bU)) // [K, batch, pos, d_vocab]
}

// activation applies the MLP non-linearity fn to x (any shape): ActReLU, or else ActGELU.
func activation(fn ActFn, x *Node) *Node {
	if fn == ActReLU {
		return Max(x, ZerosLike(x))
	}
	return Mul(MulScalar(x, 0.5), OnePlus(Erf(MulScalar(x, 1/math.Sqrt2)))) // 0.5·x·(1 + erf(x/√2))
}

// maskedLoss is the mean cross-entropy over answer positions, per ensemble member: logits
// [K, batch, pos, d_vocab], targets [K, batch, pos] int32, mask [K, batch, pos] float32 → [K].
func maskedLoss(logits, targets, mask *Node) *Node {
	V := logits.Shape().Dimensions[3]
	logp := LogSoftmax(logits, -1)                                           // [K, batch, pos, d_vocab]
	nll := Neg(ReduceSum(Mul(logp, OneHot(targets, V, dtypes.Float32)), -1)) // [K, batch, pos]
	num := ReduceSum(Mul(nll, mask), 1, 2)                                   // [K]
	den := Max(ReduceSum(mask, 1, 2), OnesLike(num))                         // [K]
	return Div(num, den)                                                     // [K]
}
