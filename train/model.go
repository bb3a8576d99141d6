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
	// Normalization is "LN" (pre-LayerNorm, the default) or "none".
	Normalization string `json:"normalization_type"`
	// ActFn is the MLP non-linearity: "gelu" (exact, erf-based; default) or "relu".
	ActFn string `json:"act_fn"`
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
		c.Normalization = "LN"
	}
	if c.ActFn == "" {
		c.ActFn = "gelu"
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
	if c.Normalization != "LN" && c.Normalization != "none" {
		return c, fmt.Errorf("model config: normalization_type = %q: want \"LN\" or \"none\"", c.Normalization)
	}
	if c.ActFn != "gelu" && c.ActFn != "relu" {
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

// ParamSpec is one weight tensor of the model, named as in a TransformerLens state dict.
type ParamSpec struct {
	Name  string
	Shape []int // per model, without the ensemble axis
	// Decay says whether AdamW's weight decay applies (weight matrices and embeddings yes; biases and
	// LayerNorm gains/biases no — AdamW in GoMLX v0.26.0 decays everything, which we avoid).
	Decay bool
	// Init: 'n' normal(0, InitRange), '0' zeros, '1' ones.
	Init byte
}

// Params lists the model's parameters in a fixed order: the order of checkpoints and of the graph's
// inputs.
func (c Config) Params() []ParamSpec {
	d, h, e, v := c.DModel, c.NHeads, c.DHead, c.DVocab
	ps := []ParamSpec{
		{"embed.W_E", []int{v, d}, true, 'n'},
		{"pos_embed.W_pos", []int{c.NCtx, d}, true, 'n'},
	}
	ln := func(prefix string) {
		if c.Normalization == "LN" {
			ps = append(ps, ParamSpec{prefix + ".w", []int{d}, false, '1'}, ParamSpec{prefix + ".b", []int{d}, false, '0'})
		}
	}
	for l := range c.NLayers {
		b := fmt.Sprintf("blocks.%d.", l)
		ln(b + "ln1")
		for _, m := range []string{"Q", "K", "V"} {
			ps = append(ps, ParamSpec{b + "attn.W_" + m, []int{h, d, e}, true, 'n'}, ParamSpec{b + "attn.b_" + m, []int{h, e}, false, '0'})
		}
		ps = append(ps, ParamSpec{b + "attn.W_O", []int{h, e, d}, true, 'n'}, ParamSpec{b + "attn.b_O", []int{d}, false, '0'})
		if !c.AttnOnly {
			ln(b + "ln2")
			ps = append(ps,
				ParamSpec{b + "mlp.W_in", []int{d, c.DMLP}, true, 'n'}, ParamSpec{b + "mlp.b_in", []int{c.DMLP}, false, '0'},
				ParamSpec{b + "mlp.W_out", []int{c.DMLP, d}, true, 'n'}, ParamSpec{b + "mlp.b_out", []int{d}, false, '0'})
		}
	}
	ln("ln_final")
	ps = append(ps, ParamSpec{"unembed.W_U", []int{d, v}, true, 'n'}, ParamSpec{"unembed.b_U", []int{v}, false, '0'})
	return ps
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
	if c.Normalization == "LN" {
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

// forward runs the model on tokens [K, batch, pos] (int32) with parameters p (each [K, ...shape]).
// It returns logits [K, batch, pos, d_vocab]. If capture is non-nil, it is called with every site's
// activation, [K, batch, pos, width] or, for patterns, [K, batch, head, query_pos, key_pos].
func forward(c Config, p map[string]*Node, tokens *Node, capture func(data.Site, *Node)) *Node {
	g := tokens.Graph()
	dims := tokens.Shape().Dimensions
	K, B, T := dims[0], dims[1], dims[2]
	if T != c.NCtx {
		panic(fmt.Sprintf("train: tokens have %d positions, model n_ctx is %d", T, c.NCtx))
	}
	hook := func(l int, h data.Hook, x *Node) {
		if capture != nil {
			capture(data.Site{Layer: l, Hook: h}, x)
		}
	}
	// bias reshapes a [K, n] parameter so it broadcasts over [K, batch, pos, n].
	bias := func(name string) *Node { return Reshape(p[name], K, 1, 1, p[name].Shape().Dimensions[1]) }
	layerNorm := func(prefix string, x *Node) *Node { // x: [K, B, T, d]
		if c.Normalization != "LN" {
			return x
		}
		mean := ReduceAndKeep(x, ReduceMean, -1)                  // [K, B, T, 1]
		xc := Sub(x, mean)                                        // [K, B, T, d]
		variance := ReduceAndKeep(Square(xc), ReduceMean, -1)     // [K, B, T, 1]
		xn := Div(xc, Sqrt(AddScalar(variance, c.LNEps)))         // [K, B, T, d]
		return Add(Mul(xn, bias(prefix+".w")), bias(prefix+".b")) // [K, B, T, d]
	}

	onehot := OneHot(tokens, c.DVocab, dtypes.Float32)                             // [K, B, T, d_vocab]
	embed := Einsum("kbtv,kvd->kbtd", onehot, p["embed.W_E"])                      // [K, B, T, d_model]
	pos := BroadcastToDims(InsertAxes(p["pos_embed.W_pos"], 1), K, B, T, c.DModel) // [K, B, T, d_model]
	hook(-1, data.HookEmbed, embed)
	hook(-1, data.HookPosEmbed, pos)
	resid := Add(embed, pos) // [K, B, T, d_model]

	causal := BroadcastToDims(Reshape(LowerTriangular(g, T), 1, 1, 1, T, T), K, B, c.NHeads, T, T) // [K, B, head, query, key]
	negInf := Scalar(g, dtypes.Float32, float32(-1e30))
	scale := 1 / math.Sqrt(float64(c.DHead))
	for l := range c.NLayers {
		b := fmt.Sprintf("blocks.%d.", l)
		hook(l, data.HookResidPre, resid)
		x := layerNorm(b+"ln1", resid) // [K, B, T, d_model]
		headBias := func(name string) *Node { return Reshape(p[name], K, 1, 1, c.NHeads, c.DHead) }
		q := Add(Einsum("kbtd,khde->kbthe", x, p[b+"attn.W_Q"]), headBias(b+"attn.b_Q")) // [K, B, T, head, d_head]
		k := Add(Einsum("kbtd,khde->kbthe", x, p[b+"attn.W_K"]), headBias(b+"attn.b_K")) // [K, B, T, head, d_head]
		v := Add(Einsum("kbtd,khde->kbthe", x, p[b+"attn.W_V"]), headBias(b+"attn.b_V")) // [K, B, T, head, d_head]
		scores := MulScalar(Einsum("kbqhe,kbshe->kbhqs", q, k), scale)                   // [K, B, head, query, key]
		scores = Where(causal, scores, BroadcastToDims(negInf, K, B, c.NHeads, T, T))    // [K, B, head, query, key]
		pattern := Softmax(scores, -1)                                                   // [K, B, head, query, key]
		hook(l, data.HookPattern, pattern)
		z := Einsum("kbhqs,kbshe->kbqhe", pattern, v)                                      // [K, B, T, head, d_head]
		attnOut := Add(Einsum("kbthe,khed->kbtd", z, p[b+"attn.W_O"]), bias(b+"attn.b_O")) // [K, B, T, d_model]
		hook(l, data.HookAttnOut, attnOut)
		resid = Add(resid, attnOut) // [K, B, T, d_model]
		if !c.AttnOnly {
			hook(l, data.HookResidMid, resid)
			x = layerNorm(b+"ln2", resid)                                                // [K, B, T, d_model]
			pre := Add(Einsum("kbtd,kdm->kbtm", x, p[b+"mlp.W_in"]), bias(b+"mlp.b_in")) // [K, B, T, d_mlp]
			post := activation(c.ActFn, pre)                                             // [K, B, T, d_mlp]
			hook(l, data.HookMLPPost, post)
			mlpOut := Add(Einsum("kbtm,kmd->kbtd", post, p[b+"mlp.W_out"]), bias(b+"mlp.b_out")) // [K, B, T, d_model]
			hook(l, data.HookMLPOut, mlpOut)
			resid = Add(resid, mlpOut) // [K, B, T, d_model]
		}
		hook(l, data.HookResidPost, resid)
	}
	x := resid
	if c.Normalization == "LN" {
		x = layerNorm("ln_final", resid) // [K, B, T, d_model]
		hook(-1, data.HookLnFinal, x)
	}
	return Add(Einsum("kbtd,kdv->kbtv", x, p["unembed.W_U"]), bias("unembed.b_U")) // [K, B, T, d_vocab]
}

func activation(name string, x *Node) *Node {
	if name == "relu" {
		return Max(x, ZerosLike(x))
	}
	// Exact GELU, as torch.nn.GELU(): 0.5·x·(1 + erf(x/√2)).
	return Mul(MulScalar(x, 0.5), OnePlus(Erf(MulScalar(x, 1/math.Sqrt2))))
}

// maskedLoss is the mean cross-entropy over answer positions, per ensemble member: logits
// [K, B, T, V], targets [K, B, T] int32, mask [K, B, T] float32 → [K].
func maskedLoss(logits, targets, mask *Node) *Node {
	V := logits.Shape().Dimensions[3]
	logp := LogSoftmax(logits, -1)                                           // [K, B, T, V]
	nll := Neg(ReduceSum(Mul(logp, OneHot(targets, V, dtypes.Float32)), -1)) // [K, B, T]
	num := ReduceSum(Mul(nll, mask), 1, 2)                                   // [K]
	den := Max(ReduceSum(mask, 1, 2), OnesLike(num))                         // [K]
	return Div(num, den)
}
