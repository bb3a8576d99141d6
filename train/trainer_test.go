package train

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// copyBatch is a tiny self-contained task for trainer tests: predict the token two positions back.
func copyBatch(rng *rand.Rand, n, T, V int) data.Batch {
	b := data.Batch{N: n, SeqLen: T, Inputs: make([]int32, n*T), Targets: make([]int32, n*T), Mask: make([]float32, n*T)}
	for i := range n {
		seq := make([]int32, T+1)
		for p := range seq {
			if p < 2 {
				seq[p] = int32(rng.IntN(V))
			} else {
				seq[p] = seq[p-2]
			}
		}
		for p := range T {
			b.Inputs[i*T+p] = seq[p]
			b.Targets[i*T+p] = seq[p+1]
			if p >= 1 {
				b.Mask[i*T+p] = 1
			}
		}
	}
	return b
}

func testBackend(t testing.TB) *Backend {
	t.Helper()
	spec := "cpu" // the default; PHASEPROBE_TEST_BACKEND=go runs the tests on SimpleGo
	if s := os.Getenv("PHASEPROBE_TEST_BACKEND"); s != "" {
		spec = s
	}
	b, err := NewBackend(spec)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var tinyCfg = Config{DVocab: 8, NCtx: 8, DModel: 16, NLayers: 1, NHeads: 2}

// trainLosses trains one trainer for steps on per-member batch streams and returns losses[k][step].
func trainLosses(t *testing.T, tr *Trainer, seeds []uint64, steps int) [][]float64 {
	t.Helper()
	rngs := make([]*rand.Rand, len(seeds))
	for k, s := range seeds {
		rngs[k] = rand.New(rand.NewPCG(s, 99))
	}
	out := make([][]float64, len(seeds))
	for range steps {
		batches := make([]data.Batch, len(seeds))
		for k := range seeds {
			batches[k] = copyBatch(rngs[k], 16, tr.cfg.NCtx, tr.cfg.DVocab)
		}
		res, err := tr.Step(batches, steps)
		if err != nil {
			t.Fatal(err)
		}
		for k, l := range res.Loss {
			out[k] = append(out[k], l)
		}
	}
	return out
}

func TestTrainingLearnsAndIsDeterministic(t *testing.T) {
	b := testBackend(t)
	run := func() []float64 {
		tr, err := NewTrainer(b, tinyCfg, Optim{LR: 3e-3}, []uint64{5})
		if err != nil {
			t.Fatal(err)
		}
		return trainLosses(t, tr, []uint64{5}, 150)[0]
	}
	a, c := run(), run()
	for i := range a {
		if a[i] != c[i] { // bit-identical: the pure-Go backend is deterministic given the seed
			t.Fatalf("step %d: loss %v then %v with the same seed", i+1, a[i], c[i])
		}
	}
	first, last := a[0], a[len(a)-1]
	// Uniform guessing over 8 tokens has loss ln 8 ≈ 2.08; the copy-two-back task is learnable.
	if math.Abs(first-math.Log(8)) > 0.3 {
		t.Errorf("initial loss %.3f, want ≈ ln 8 = %.3f", first, math.Log(8))
	}
	if last > 0.5*first {
		t.Errorf("loss went from %.3f to %.3f in 150 steps; want at least halved", first, last)
	}
}

// TestEnsembleMatchesSeparateTraining: member k of an ensemble is seed k trained alone.
func TestEnsembleMatchesSeparateTraining(t *testing.T) {
	b := testBackend(t)
	seeds := []uint64{1, 2, 3}
	ens, err := NewTrainer(b, tinyCfg, Optim{LR: 3e-3}, seeds)
	if err != nil {
		t.Fatal(err)
	}
	got := trainLosses(t, ens, seeds, 30)
	for k, s := range seeds {
		alone, err := NewTrainer(b, tinyCfg, Optim{LR: 3e-3}, []uint64{s})
		if err != nil {
			t.Fatal(err)
		}
		want := trainLosses(t, alone, []uint64{s}, 30)[0]
		for i := range want {
			if d := math.Abs(got[k][i] - want[i]); d > 1e-5*(1+math.Abs(want[i])) {
				t.Fatalf("seed %d step %d: ensemble loss %.7f, alone %.7f", s, i+1, got[k][i], want[i])
			}
		}
		pe, pa := ens.Params(k), alone.Params(0)
		for name, w := range pa {
			for j := range w {
				if d := math.Abs(float64(pe[name][j] - w[j])); d > 1e-4 {
					t.Fatalf("seed %d param %s[%d]: ensemble %.6f, alone %.6f", s, name, j, pe[name][j], w[j])
				}
			}
		}
	}
}

func TestForwardCapturesSites(t *testing.T) {
	b := testBackend(t)
	cfg := tinyCfg
	cfg.NLayers = 2
	tr, err := NewTrainer(b, cfg, Optim{}, []uint64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	batches := []data.Batch{copyBatch(rng, 5, 8, 8), copyBatch(rng, 5, 8, 8)}
	out, err := tr.Forward(batches, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Logits) != 2*5*8*8 {
		t.Fatalf("logits length %d", len(out.Logits))
	}
	for _, s := range tr.Config().Sites() {
		sv, ok := out.Sites[s.String()]
		if !ok {
			t.Fatalf("site %s not captured", s)
		}
		if s.IsPattern() {
			// [K, example, head, query, key]; each causal row sums to 1 with zeros above the diagonal.
			want := []int{2, 5, 2, 8, 8}
			for i := range want {
				if sv.Dims[i] != want[i] {
					t.Fatalf("%s dims %v, want %v", s, sv.Dims, want)
				}
			}
			for row := 0; row < len(sv.Data)/8; row++ {
				q := row % 8
				sum := 0.0
				for k := range 8 {
					x := float64(sv.Data[row*8+k])
					if k > q && x != 0 {
						t.Fatalf("%s: query %d attends to future key %d (%g)", s, q, k, x)
					}
					sum += x
				}
				if math.Abs(sum-1) > 1e-5 {
					t.Fatalf("%s: row sums to %g", s, sum)
				}
			}
		} else if sv.Dims[0] != 2 || sv.Dims[1] != 5 || sv.Dims[2] != 8 {
			t.Fatalf("%s dims %v", s, sv.Dims)
		}
	}
	// resid_post of the last block equals resid_mid + mlp_out (the residual stream adds up).
	mid, mlp, post := out.Sites["blocks.1.hook_resid_mid"], out.Sites["blocks.1.hook_mlp_out"], out.Sites["blocks.1.hook_resid_post"]
	for i := range post.Data {
		if d := math.Abs(float64(mid.Data[i] + mlp.Data[i] - post.Data[i])); d > 1e-5 {
			t.Fatalf("resid_post[%d] = %g, resid_mid + mlp_out = %g", i, post.Data[i], mid.Data[i]+mlp.Data[i])
		}
	}
}

func TestSiteNamesRoundTrip(t *testing.T) {
	cfg, _ := Config{DVocab: 5, NCtx: 4, DModel: 8, NLayers: 2, NHeads: 2}.Resolve()
	for _, s := range cfg.Sites() {
		got, err := data.ParseSite(s.String())
		if err != nil || got != s {
			t.Fatalf("ParseSite(%q) = %v, %v", s.String(), got, err)
		}
	}
	for _, bad := range []string{"blocks.x.hook_resid_pre", "blocks.01.hook_resid_pre", "hook_resid_pre", "blocks.0.hook_nope", ""} {
		if _, err := data.ParseSite(bad); err == nil {
			t.Errorf("ParseSite(%q) accepted", bad)
		}
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{DVocab: 5, NCtx: 4, DModel: 10, NLayers: 1, NHeads: 3}, "d_model = 10 is not divisible by n_heads = 3"},
		{Config{DVocab: 5, NCtx: 4, DModel: 0, NLayers: 1, NHeads: 1}, "d_model = 0"},
		{Config{DVocab: 5, NCtx: 4, DModel: 8, NLayers: -1, NHeads: 1}, "n_layers = -1"},
		{Config{DVocab: 5, NCtx: 4, DModel: 8, NLayers: 1, NHeads: 1, ActFn: "swish"}, `act_fn = "swish"`},
		{Config{DVocab: 5, NCtx: 4, DModel: 8, NLayers: 1, NHeads: 1, Normalization: "RMS"}, `normalization_type = "RMS"`},
	}
	for _, c := range cases {
		_, err := c.cfg.Resolve()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Resolve(%+v) = %v, want an error containing %q", c.cfg, err, c.want)
		}
	}
}

// TestOptimResolveIsIdempotent: resolving twice (spec, run, trainer all resolve) changes nothing, so
// "off" (negative weight_decay or grad_clip) stays off.
func TestOptimResolveIsIdempotent(t *testing.T) {
	for _, o := range []Optim{{}, {WeightDecay: -1, GradClip: -1}, {LR: 0.01, Schedule: "cosine", MinLRFrac: 0.5}, {Beta1: 0.5, Eps: 1e-6}} {
		a, err := o.Resolve()
		if err != nil {
			t.Fatal(err)
		}
		b, err := a.Resolve()
		if err != nil || a != b {
			t.Fatalf("Resolve(%+v) = %+v, then %+v (%v)", o, a, b, err)
		}
	}
	off, _ := Optim{WeightDecay: -1, GradClip: -1}.Resolve()
	if off.WeightDecay > 0 || off.GradClip > 0 {
		t.Fatalf("off settings resolved to weight_decay %g, grad_clip %g", off.WeightDecay, off.GradClip)
	}
	if _, err := (Optim{Beta1: math.NaN()}).Resolve(); err == nil || !strings.Contains(err.Error(), "beta1") {
		t.Fatalf("NaN beta1: %v", err)
	}
}
