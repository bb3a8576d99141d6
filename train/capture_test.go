package train

import (
	"math"
	"math/rand/v2"
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
