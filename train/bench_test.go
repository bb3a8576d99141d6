package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// benchStep times one training step of the reference model: 2 layers, 4 heads, batch
// 64 × 16 tokens, d_vocab 16, ensemble of K.
func benchStep(b *testing.B, dModel, K int, grad dotGradient) {
	be := testBackend(b)
	cfg := Config{DVocab: 16, NCtx: 16, DModel: dModel, NLayers: 2, NHeads: 4}
	seeds := make([]uint64, K)
	for k := range seeds {
		seeds[k] = uint64(k + 1)
	}
	tr, err := NewTrainer(be, cfg, Optim{}, seeds)
	if err != nil {
		b.Fatal(err)
	}
	tr.dotGrad = grad
	rng := rand.New(rand.NewPCG(1, 1))
	batches := make([]data.Batch, K)
	for k := range batches {
		batches[k] = copyBatch(rng, 64, 16, 16)
	}
	if _, err := tr.Step(batches, 1000); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := tr.Step(batches, 1000); err != nil {
			b.Fatal(err)
		}
	}
	perStep := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perStep*1e3, "ms/step")
	b.ReportMetric(float64(K*64*16)/perStep, "tokens/s")
}

func BenchmarkTrainStep(b *testing.B) {
	for _, d := range []int{32, 64, 128, 256} {
		b.Run(fmt.Sprintf("d_model=%d/grad=matmul", d), func(b *testing.B) { benchStep(b, d, 1, matmulDotGradient) })
	}
	for _, d := range []int{32, 128} {
		b.Run(fmt.Sprintf("d_model=%d/grad=stock", d), func(b *testing.B) { benchStep(b, d, 1, stockDotGradient) })
	}
}

// BenchmarkEnsembleStep reports per-model throughput for ensembles of K seeds trained in one graph.
func BenchmarkEnsembleStep(b *testing.B) {
	for _, d := range []int{32, 64, 128} {
		for _, k := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("d_model=%d/K=%d", d, k), func(b *testing.B) { benchStep(b, d, k, matmulDotGradient) })
		}
	}
}
