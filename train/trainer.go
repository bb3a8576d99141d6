package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/phaseprobe/phaseprobe/data"
)

// Trainer trains K models of one Config at once: an ensemble whose parameters are stacked on a
// leading axis, each member with its own initialisation (from its seed), its own batches and its own
// optimizer state. K = 1 is ordinary training. Members never interact: member k's numbers are those
// of training seed k alone.
type Trainer struct {
	b     *Backend
	cfg   Config
	opt   Optim
	seeds []uint64
	specs []ParamSpec
	decay []bool
	// state holds params, then Adam's m, then v: 3·len(specs) tensors, each [K, ...shape].
	state []*tensors.Tensor
	step  int
	// dotGrad is how the training step differentiates matrix products: matmulDotGradient (the zero
	// value) except in benchmarks of the stock gradient.
	dotGrad dotGradient
}

// initStream is the PCG stream used for parameter initialisation; data uses others (see Run).
const initStream = 0x5eed_1417

// NewTrainer initialises one model per seed. Parameters are drawn in Go from PCG(seed, initStream)
// in the fixed order of Config.Params, so a member's initial weights depend only on its seed and
// config, never on K or on the backend.
func NewTrainer(b *Backend, cfg Config, opt Optim, seeds []uint64) (*Trainer, error) {
	cfg, err := cfg.Resolve()
	if err != nil {
		return nil, err
	}
	if opt, err = opt.Resolve(); err != nil {
		return nil, err
	}
	if len(seeds) == 0 {
		return nil, errors.New("train: no seeds")
	}
	t := &Trainer{b: b, cfg: cfg, opt: opt, seeds: seeds, specs: cfg.Params()}
	K := len(seeds)
	members := make([][]float32, K)
	for k, s := range seeds {
		members[k] = initParams(cfg, t.specs, s)
	}
	for _, ps := range t.specs {
		t.decay = append(t.decay, ps.Decay)
	}
	t.state = make([]*tensors.Tensor, 3*len(t.specs))
	off := 0
	for i, ps := range t.specs {
		n := shapeSize(ps.Shape)
		flat := make([]float32, K*n)
		for k := range K {
			copy(flat[k*n:(k+1)*n], members[k][off:off+n])
		}
		off += n
		dims := append([]int{K}, ps.Shape...)
		t.state[i] = tensors.FromFlatDataAndDimensions(flat, dims...)
		t.state[len(t.specs)+i] = tensors.FromFlatDataAndDimensions(make([]float32, K*n), dims...)
		t.state[2*len(t.specs)+i] = tensors.FromFlatDataAndDimensions(make([]float32, K*n), dims...)
	}
	return t, nil
}

// initParams draws one model's parameters, concatenated in spec order.
func initParams(cfg Config, specs []ParamSpec, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, initStream))
	out := make([]float32, 0, cfg.NumParams())
	for _, ps := range specs {
		n := shapeSize(ps.Shape)
		for range n {
			switch ps.Init {
			case InitNormal:
				out = append(out, float32(rng.NormFloat64()*cfg.InitRange))
			case InitOnes:
				out = append(out, 1)
			default: // InitZeros
				out = append(out, 0)
			}
		}
	}
	return out
}

// Config returns the resolved model config.
func (t *Trainer) Config() Config { return t.cfg }

// Optim returns the resolved optimizer settings.
func (t *Trainer) Optim() Optim { return t.opt }

// Seeds returns the members' seeds.
func (t *Trainer) Seeds() []uint64 { return t.seeds }

// K is the number of ensemble members.
func (t *Trainer) K() int { return len(t.seeds) }

// StepCount is the number of updates applied so far.
func (t *Trainer) StepCount() int { return t.step }

// execKey identifies a compiled computation: graphs depend on the config, the optimizer's
// constants and the DotGeneral gradient, not on the learning rate (an input) or the seeds. Cells of
// the same shape share them.
func (t *Trainer) execKey(kind string) string {
	o := t.opt
	return fmt.Sprintf("%s|%+v|wd=%g,b1=%g,b2=%g,eps=%g,clip=%g|dotgrad=%d", kind, t.cfg, o.WeightDecay, o.Beta1, o.Beta2, o.Eps, o.GradClip, t.dotGrad)
}

func (t *Trainer) stepExec() (*graph.Exec, error) {
	n := len(t.specs)
	cfg, opt, decay, dotGrad := t.cfg, t.opt, t.decay, t.dotGrad
	return t.b.exec(t.execKey("step"), func() (*graph.Exec, error) {
		fn := func(in []*graph.Node) []*graph.Node {
			params, m, v := in[:n], in[n:2*n], in[2*n:3*n]
			tokens, targets, mask, lr, bc1, bc2 := in[3*n], in[3*n+1], in[3*n+2], in[3*n+3], in[3*n+4], in[3*n+5]
			logits := forward(cfg, cfg.bindParams(params), tokens, nil) // [K, batch, pos, d_vocab]
			losses := maskedLoss(logits, targets, mask)                 // [K]
			grads := gradient(dotGrad, graph.ReduceAllSum(losses), params...)
			np, nm, nv, gnorm := adamW(opt, decay, params, m, v, grads, lr, bc1, bc2)
			out := append(append(append(np, nm...), nv...), losses, gnorm)
			return out
		}
		return graph.NewExecAny(t.b.b, fn)
	})
}

// batchTensors stacks one batch per member into [K, B, T] tensors.
func (t *Trainer) batchTensors(batches []data.Batch) (tokens, targets, mask *tensors.Tensor, err error) {
	K := len(t.seeds)
	if len(batches) != K {
		return nil, nil, nil, fmt.Errorf("train: %d batches for %d ensemble members", len(batches), K)
	}
	B, T := batches[0].N, batches[0].SeqLen
	if T != t.cfg.NCtx {
		return nil, nil, nil, fmt.Errorf("train: batch has %d positions, model n_ctx is %d", T, t.cfg.NCtx)
	}
	tok := make([]int32, 0, K*B*T)
	tgt := make([]int32, 0, K*B*T)
	msk := make([]float32, 0, K*B*T)
	for _, bt := range batches {
		if bt.N != B || bt.SeqLen != T {
			return nil, nil, nil, fmt.Errorf("train: ensemble batches differ in shape: [%d, %d] vs [%d, %d]", bt.N, bt.SeqLen, B, T)
		}
		for _, x := range bt.Inputs {
			if x < 0 || int(x) >= t.cfg.DVocab {
				return nil, nil, nil, fmt.Errorf("train: token %d outside the vocabulary [0, %d)", x, t.cfg.DVocab)
			}
		}
		tok = append(tok, bt.Inputs...)
		tgt = append(tgt, bt.Targets...)
		msk = append(msk, bt.Mask...)
	}
	return tensors.FromFlatDataAndDimensions(tok, K, B, T),
		tensors.FromFlatDataAndDimensions(tgt, K, B, T),
		tensors.FromFlatDataAndDimensions(msk, K, B, T), nil
}

// StepResult is what one update reports per member.
type StepResult struct {
	Loss     []float64 // training loss on the batch, before the update
	GradNorm []float64 // global gradient norm before clipping
	LR       float64
}

// Step applies one AdamW update to every member, each on its own batch, and returns the losses on
// those batches (computed before the update). totalSteps is the run's length, for the schedule.
func (t *Trainer) Step(batches []data.Batch, totalSteps int) (StepResult, error) {
	e, err := t.stepExec()
	if err != nil {
		return StepResult{}, err
	}
	tok, tgt, msk, err := t.batchTensors(batches)
	if err != nil {
		return StepResult{}, err
	}
	step := t.step + 1
	lr := t.opt.LRAt(step, totalSteps)
	bc1 := 1 - math.Pow(t.opt.Beta1, float64(step))
	bc2 := 1 - math.Pow(t.opt.Beta2, float64(step))
	args := make([]any, 0, len(t.state)+6)
	for _, s := range t.state {
		d, err := graph.DonateTensorBuffer(s, t.b.b, 0)
		if err != nil {
			return StepResult{}, fmt.Errorf("train: donate state: %w", err)
		}
		args = append(args, d)
	}
	args = append(args, tok, tgt, msk, float32(lr), float32(bc1), float32(bc2))
	out, err := e.Exec(args...)
	if err != nil {
		return StepResult{}, fmt.Errorf("train: step %d: %w", step, err)
	}
	n := len(t.state)
	copy(t.state, out[:n])
	res := StepResult{LR: lr}
	res.Loss = floats64(out[n])
	res.GradNorm = floats64(out[n+1])
	out[n].FinalizeAll()
	out[n+1].FinalizeAll()
	t.step = step
	return res, nil
}

func floats64(t *tensors.Tensor) []float64 {
	f := tensors.MustCopyFlatData[float32](t)
	out := make([]float64, len(f))
	for i, x := range f {
		out[i] = float64(x)
	}
	return out
}

// Outputs is a forward pass over an evaluation batch, per member.
type Outputs struct {
	K, N, T, V int
	// Logits [K, N, T, V].
	Logits []float32
	// Sites maps a TransformerLens site name to its activation, per member: residual-like sites are
	// [K, N, T, width]; patterns are [K, N, head, query_pos, key_pos]. Empty unless captured.
	Sites map[string]SiteValues
}

// SiteValues is a captured activation with its dimensions (leading axis K).
type SiteValues struct {
	Dims []int
	Data []float32
}

// Member returns member k's slice of a site ([N, ...]) without copying.
func (s SiteValues) Member(k int) []float32 {
	n := len(s.Data) / s.Dims[0]
	return s.Data[k*n : (k+1)*n]
}

// Forward runs every member on its evaluation batch (all batches must have the same shape). With
// capture it also returns every activation site of the model (Config.Sites).
func (t *Trainer) Forward(batches []data.Batch, capture bool) (Outputs, error) {
	var sites []data.Site
	if capture {
		sites = t.cfg.Sites()
	}
	return t.ForwardSites(batches, sites)
}

// ForwardSites is Forward returning the activations of the given sites only (none: the evaluation
// graph alone). The graph outputs nothing else, so a capture of a few sites does not materialise
// and copy the others (the MLP's d_mlp-wide hook_post among them). It is an error to name a site
// the model does not have.
func (t *Trainer) ForwardSites(batches []data.Batch, sites []data.Site) (Outputs, error) {
	kind := "eval"
	if len(sites) > 0 {
		have := t.cfg.Sites()
		names := make([]string, len(sites))
		for i, s := range sites {
			if !slices.Contains(have, s) {
				return Outputs{}, fmt.Errorf("train: forward: the model has no site %s", s)
			}
			names[i] = s.String()
		}
		kind = "capture:" + strings.Join(names, ",")
	}
	n := len(t.specs)
	cfg := t.cfg
	e, err := t.b.exec(t.execKey(kind), func() (*graph.Exec, error) {
		fn := func(in []*graph.Node) []*graph.Node {
			captured := map[data.Site]*graph.Node{}
			var hook func(data.Site, *graph.Node)
			if len(sites) > 0 {
				hook = func(s data.Site, x *graph.Node) { captured[s] = x }
			}
			out := []*graph.Node{forward(cfg, cfg.bindParams(in[:n]), in[n], hook)}
			for _, s := range sites {
				out = append(out, captured[s])
			}
			return out
		}
		return graph.NewExecAny(t.b.b, fn)
	})
	if err != nil {
		return Outputs{}, err
	}
	tok, _, _, err := t.batchTensors(batches)
	if err != nil {
		return Outputs{}, err
	}
	args := make([]any, 0, n+1)
	for _, s := range t.state[:n] {
		args = append(args, s)
	}
	args = append(args, tok)
	res, err := e.Exec(args...)
	if err != nil {
		return Outputs{}, fmt.Errorf("train: forward: %w", err)
	}
	o := Outputs{K: len(t.seeds), N: batches[0].N, T: t.cfg.NCtx, V: t.cfg.DVocab}
	o.Logits = tensors.MustCopyFlatData[float32](res[0])
	if len(sites) > 0 {
		o.Sites = make(map[string]SiteValues, len(sites))
		for i, s := range sites {
			o.Sites[s.String()] = SiteValues{Dims: res[i+1].Shape().Dimensions, Data: tensors.MustCopyFlatData[float32](res[i+1])}
		}
	}
	for _, r := range res {
		r.FinalizeAll()
	}
	return o, nil
}

// Params returns member k's parameters by name (copies), in TransformerLens state-dict layout.
func (t *Trainer) Params(k int) map[string][]float32 {
	out := make(map[string][]float32, len(t.specs))
	for i, ps := range t.specs {
		out[ps.Name] = memberSlice(t.state[i], k)
	}
	return out
}

func memberSlice(x *tensors.Tensor, k int) []float32 {
	f := tensors.MustCopyFlatData[float32](x)
	n := len(f) / x.Shape().Dimensions[0]
	return f[k*n : (k+1)*n]
}
