package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/phaseprobe/phaseprobe/cpu"
)

// These tests compare phaseprobe's CPU backend (package cpu, spec "cpu") with SimpleGo ("go"), the
// reference, on phaseprobe's own graphs.

func newBackendT(t *testing.T, spec string) *Backend {
	t.Helper()
	b, err := NewBackend(spec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stepGradients returns the gradient of the summed loss with respect to every parameter, for the
// trainer's current parameters and one batch per member, computed on backend b.
func stepGradients(t *testing.T, b *Backend, tr *Trainer, rng *rand.Rand) [][]float32 {
	t.Helper()
	n := len(tr.specs)
	cfg := tr.cfg
	fn := func(in []*graph.Node) []*graph.Node {
		logits := forward(cfg, cfg.bindParams(in[:n]), in[n], nil)
		losses := maskedLoss(logits, in[n+1], in[n+2])
		return gradient(matmulDotGradient, graph.ReduceAllSum(losses), in[:n]...)
	}
	e, err := graph.NewExecAny(b.b, fn)
	if err != nil {
		t.Fatal(err)
	}
	batch := copyBatch(rng, 16, cfg.NCtx, cfg.DVocab)
	tok, tgt, mask, err := tr.batchTensors(repeatBatch(batch, tr.K()))
	if err != nil {
		t.Fatal(err)
	}
	var args []any
	for _, s := range tr.state[:n] {
		c, err := s.LocalClone()
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, c)
	}
	args = append(args, tok, tgt, mask)
	out, err := e.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	g := make([][]float32, len(out))
	for i, x := range out {
		g[i] = tensors.MustCopyFlatData[float32](x)
	}
	return g
}

func repeatBatch[T any](b T, k int) []T {
	out := make([]T, k)
	for i := range out {
		out[i] = b
	}
	return out
}

// TestCPUBackendStepGradientMatchesSimpleGo: the gradient of the full training loss (forward,
// attention, MLP, LayerNorm, masked cross-entropy, phaseprobe's matrix-product DotGeneral
// gradient) on an ensemble of 2, within float32 rounding of SimpleGo's: |Δ| ≤ 1e-4·max|g| per
// parameter tensor (float32's 6e-8 times the ~10³ terms and depth of the sums), where max|g| is at
// least 1e-3 of the largest gradient entry of the model: the key bias's gradient is zero in exact
// arithmetic (softmax is invariant to it), so both backends return rounding noise there.
func TestCPUBackendStepGradientMatchesSimpleGo(t *testing.T) {
	ref, ours := newBackendT(t, "go"), newBackendT(t, "cpu")
	cfg := Config{DVocab: 16, NCtx: 12, DModel: 32, NLayers: 2, NHeads: 4}
	tr, err := NewTrainer(ref, cfg, Optim{}, []uint64{3, 4})
	if err != nil {
		t.Fatal(err)
	}
	want := stepGradients(t, ref, tr, rand.New(rand.NewPCG(1, 2)))
	got := stepGradients(t, ours, tr, rand.New(rand.NewPCG(1, 2)))
	worst, global := 0.0, 0.0
	for i := range want {
		for _, v := range want[i] {
			global = math.Max(global, math.Abs(float64(v)))
		}
	}
	for i := range want {
		scale := 1e-3 * global
		for _, v := range want[i] {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for j := range want[i] {
			d := math.Abs(float64(got[i][j] - want[i][j]))
			if d > 1e-4*scale {
				t.Fatalf("%s[%d]: got %g, want %g (scale %g)", tr.specs[i].Name, j, got[i][j], want[i][j], scale)
			}
			if scale > 0 {
				worst = math.Max(worst, d/scale)
			}
		}
	}
	t.Logf("largest gradient difference: %.2g of the tensor's largest entry", worst)
}

// TestCPUBackendTrainingMatchesSimpleGo: 200 steps of training an ensemble of 2 on the copy task give
// losses within 1e-5 relative of SimpleGo's at every step; and the same seeds give bit-identical
// losses on the CPU backend (run twice).
func TestCPUBackendTrainingMatchesSimpleGo(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 200 steps on two backends")
	}
	const steps = 200
	seeds := []uint64{7, 8}
	train := func(b *Backend) [][]float64 {
		tr, err := NewTrainer(b, tinyCfg, Optim{LR: 3e-3}, seeds)
		if err != nil {
			t.Fatal(err)
		}
		return trainLosses(t, tr, seeds, steps)
	}
	ours := newBackendT(t, "cpu")
	want := train(newBackendT(t, "go"))
	got := train(ours)
	again := train(ours)
	worst := 0.0
	for k := range want {
		for s := range want[k] {
			if got[k][s] != again[k][s] {
				t.Fatalf("member %d step %d: two runs gave %v and %v", k, s, got[k][s], again[k][s])
			}
			r := math.Abs(got[k][s]-want[k][s]) / math.Abs(want[k][s])
			worst = math.Max(worst, r)
			if r > 1e-5 {
				t.Fatalf("member %d step %d: loss %v, SimpleGo %v (relative %.2g)", k, s, got[k][s], want[k][s], r)
			}
		}
	}
	t.Logf("largest relative loss difference over %d steps: %.2g (first %v, last %v)", steps, worst, want[0][0], want[0][steps-1])
}

// TestCPUBackendOpList builds phaseprobe's training step (pre-LayerNorm and none, MLP and
// attention-only), evaluation and capture graphs on the CPU backend and records the operations
// they use: every one must be in the implemented set, and the list is printed with -v (it is the
// list in package cpu's documentation).
func TestCPUBackendOpList(t *testing.T) {
	b := newBackendT(t, "cpu")
	for _, cfg := range []Config{
		{DVocab: 8, NCtx: 8, DModel: 16, NLayers: 2, NHeads: 2},
		{DVocab: 8, NCtx: 8, DModel: 16, NLayers: 1, NHeads: 2, AttnOnly: true, Normalization: "none"},
		{DVocab: 8, NCtx: 8, DModel: 16, NLayers: 1, NHeads: 2, ActFn: "relu"},
	} {
		tr, err := NewTrainer(b, cfg, Optim{LR: 1e-3, Schedule: "cosine", WarmupSteps: 2}, []uint64{1, 2})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 1))
		batches := repeatBatch(copyBatch(rng, 4, cfg.NCtx, cfg.DVocab), 2)
		if _, err := tr.Step(batches, 10); err != nil {
			t.Fatal(err)
		}
		for _, capture := range []bool{false, true} {
			if _, err := tr.Forward(batches, capture); err != nil {
				t.Fatal(err)
			}
		}
	}
	caps := b.b.Capabilities()
	var names []string
	for op, n := range b.b.(*cpu.Backend).CompiledOps() {
		if !caps.Operations[op] {
			t.Errorf("op %s used but not listed as implemented", op)
		}
		names = append(names, fmt.Sprintf("%s×%d", op, n))
	}
	slices.Sort(names)
	t.Logf("%d ops: %s", len(names), strings.Join(names, " "))
}

// TestCPUBackendFusionIsExact: fusing element-wise chains changes where intermediates live, not
// what is computed, so 30 steps with fusion and with "cpu:nofusion" give bit-identical losses.
func TestCPUBackendFusionIsExact(t *testing.T) {
	seeds := []uint64{4, 5}
	run := func(spec string) [][]float64 {
		tr, err := NewTrainer(newBackendT(t, spec), tinyCfg, Optim{LR: 3e-3}, seeds)
		if err != nil {
			t.Fatal(err)
		}
		return trainLosses(t, tr, seeds, 30)
	}
	fused, plain := run("cpu"), run("cpu:nofusion")
	for k := range fused {
		for s := range fused[k] {
			if fused[k][s] != plain[k][s] {
				t.Fatalf("member %d step %d: fused %v, unfused %v", k, s, fused[k][s], plain[k][s])
			}
		}
	}
}

// TestCPUBackendWideKernelIsExact: the 32-column AVX-512 matrix-product kernel performs the same
// operations on every element as the 16-column AVX2 one, so 20 steps of a model whose products are
// wider than 16 columns (d_model 48: 48-, 64- and 192-column products, partial 32-column panels)
// give bit-identical losses with it and with "cpu:noavx512". On a CPU without AVX-512 both runs
// use the 16-column kernel and the test checks only determinism.
func TestCPUBackendWideKernelIsExact(t *testing.T) {
	seeds := []uint64{6, 7}
	cfg := Config{DVocab: 24, NCtx: 8, DModel: 48, NLayers: 2, NHeads: 3}
	run := func(spec string) [][]float64 {
		tr, err := NewTrainer(newBackendT(t, spec), cfg, Optim{LR: 3e-3}, seeds)
		if err != nil {
			t.Fatal(err)
		}
		return trainLosses(t, tr, seeds, 20)
	}
	wide, narrow := run("cpu"), run("cpu:noavx512")
	for k := range wide {
		for s := range wide[k] {
			if math.Float64bits(wide[k][s]) != math.Float64bits(narrow[k][s]) {
				t.Fatalf("member %d step %d: AVX-512 kernel %v, AVX2 kernel %v", k, s, wide[k][s], narrow[k][s])
			}
		}
	}
}

// TestCPUBackendMembersAreExact: running an ensemble's step member by member (package cpu's
// members.go) performs the same operations on the same numbers as running it over the whole
// stack, so 15 steps give bit-identical losses, parameters and captured activations with it and
// with "cpu:nomembers", for each kind of model phaseprobe builds.
func TestCPUBackendMembersAreExact(t *testing.T) {
	seeds := []uint64{3, 8, 13}
	for _, cfg := range []Config{
		{DVocab: 24, NCtx: 8, DModel: 48, NLayers: 2, NHeads: 3},
		{DVocab: 16, NCtx: 12, DModel: 32, NLayers: 2, NHeads: 2, AttnOnly: true},
		{DVocab: 16, NCtx: 8, DModel: 16, NLayers: 1, NHeads: 2, ActFn: "relu", Normalization: "none"},
	} {
		run := func(spec string) ([][]float64, *Trainer) {
			tr, err := NewTrainer(newBackendT(t, spec), cfg, Optim{LR: 3e-3, Schedule: "cosine", WarmupSteps: 3}, seeds)
			if err != nil {
				t.Fatal(err)
			}
			return trainLosses(t, tr, seeds, 15), tr
		}
		split, trS := run("cpu")
		whole, trW := run("cpu:nomembers")
		for k := range split {
			for s := range split[k] {
				if math.Float64bits(split[k][s]) != math.Float64bits(whole[k][s]) {
					t.Fatalf("%+v: member %d step %d: member by member %v, whole stack %v", cfg, k, s, split[k][s], whole[k][s])
				}
			}
		}
		rng := rand.New(rand.NewPCG(2, 2))
		batches := repeatBatch(copyBatch(rng, 5, cfg.NCtx, cfg.DVocab), len(seeds))
		fs, err := trS.Forward(batches, true)
		if err != nil {
			t.Fatal(err)
		}
		fw, err := trW.Forward(batches, true)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fs, fw) {
			t.Fatalf("%+v: captured forward passes differ", cfg)
		}
	}
}
