package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestCaptureLogitsEqualEval: the capture graph (logits and every site) returns the evaluation
// graph's logits bit for bit, on both CPU backends, for a trained model and an ensemble. CaptureCell
// relies on it to score the probe set from the capture pass when the capture examples are the
// whole probe set, so the metrics and outputs tables do not depend on which pass computed them.
func TestCaptureLogitsEqualEval(t *testing.T) {
	for _, spec := range []string{"cpu", "go"} {
		b, err := NewBackend(spec)
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{DVocab: 8, NCtx: 8, DModel: 16, NLayers: 2, NHeads: 2}
		seeds := []uint64{3, 4}
		tr, err := NewTrainer(b, cfg, Optim{LR: 3e-3}, seeds)
		if err != nil {
			t.Fatal(err)
		}
		trainLosses(t, tr, seeds, 20) // weights away from their initialisation
		rng := rand.New(rand.NewPCG(7, 8))
		batches := []data.Batch{copyBatch(rng, 48, cfg.NCtx, cfg.DVocab), copyBatch(rng, 48, cfg.NCtx, cfg.DVocab)}
		eval, err := tr.Forward(batches, false)
		if err != nil {
			t.Fatal(err)
		}
		capt, err := tr.Forward(batches, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(eval.Logits) != len(capt.Logits) || len(eval.Logits) != 2*48*cfg.NCtx*cfg.DVocab {
			t.Fatalf("%s: %d eval logits, %d capture logits", spec, len(eval.Logits), len(capt.Logits))
		}
		for i := range eval.Logits {
			if math.Float32bits(eval.Logits[i]) != math.Float32bits(capt.Logits[i]) {
				t.Fatalf("%s: logit %d: eval %v, capture %v", spec, i, eval.Logits[i], capt.Logits[i])
			}
		}
	}
}

// TestForwardSitesEqualCapture: a capture of some sites (the demo's: every resid_post and pattern)
// returns exactly those sites, each bit for bit the full capture's, and the evaluation graph's
// logits bit for bit, on both CPU backends; a site the model lacks is an error naming it.
func TestForwardSitesEqualCapture(t *testing.T) {
	for _, spec := range []string{"cpu", "go"} {
		b, err := NewBackend(spec)
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{DVocab: 8, NCtx: 8, DModel: 16, NLayers: 2, NHeads: 2}
		seeds := []uint64{5, 6}
		tr, err := NewTrainer(b, cfg, Optim{LR: 3e-3}, seeds)
		if err != nil {
			t.Fatal(err)
		}
		trainLosses(t, tr, seeds, 20)
		rng := rand.New(rand.NewPCG(9, 10))
		batches := []data.Batch{copyBatch(rng, 40, cfg.NCtx, cfg.DVocab), copyBatch(rng, 40, cfg.NCtx, cfg.DVocab)}
		full, err := tr.Forward(batches, true)
		if err != nil {
			t.Fatal(err)
		}
		eval, err := tr.Forward(batches, false)
		if err != nil {
			t.Fatal(err)
		}
		sites := []data.Site{{Layer: 1, Hook: data.HookResidPost}, {Layer: 0, Hook: data.HookPattern}, {Layer: 0, Hook: data.HookResidPost}}
		some, err := tr.ForwardSites(batches, sites)
		if err != nil {
			t.Fatal(err)
		}
		if len(some.Sites) != len(sites) {
			t.Fatalf("%s: %d sites returned, want %d", spec, len(some.Sites), len(sites))
		}
		for _, s := range sites {
			got, want := some.Sites[s.String()], full.Sites[s.String()]
			if len(got.Data) == 0 || len(got.Data) != len(want.Data) || !slices.Equal(got.Dims, want.Dims) {
				t.Fatalf("%s: %s: dims %v (%d values), full capture %v (%d)", spec, s, got.Dims, len(got.Data), want.Dims, len(want.Data))
			}
			for i := range want.Data {
				if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
					t.Fatalf("%s: %s value %d: %v, full capture %v", spec, s, i, got.Data[i], want.Data[i])
				}
			}
		}
		for i := range eval.Logits {
			if math.Float32bits(eval.Logits[i]) != math.Float32bits(some.Logits[i]) {
				t.Fatalf("%s: logit %d: eval %v, site capture %v", spec, i, eval.Logits[i], some.Logits[i])
			}
		}
		bad := data.Site{Layer: 2, Hook: data.HookResidPost}
		if _, err := tr.ForwardSites(batches, []data.Site{bad}); err == nil || !strings.Contains(err.Error(), bad.String()) {
			t.Fatalf("%s: site %s the model lacks: err %v", spec, bad, err)
		}
	}
}
