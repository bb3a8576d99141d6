package train

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// benchModels are the two models of `make bench`'s backend comparison: the reference model
// (2 layers, 4 heads, GELU MLP, batch 64 × 16 tokens) and the attention-only induction model
// (2 layers, 2 heads, batch 64 × 32 tokens; Olsson et al. 2022's setting).
var benchModels = map[string]struct {
	cfg    Config
	batch  int
	widths []int
}{
	"bench":     {Config{DVocab: 16, NCtx: 16, NLayers: 2, NHeads: 4}, 64, []int{32, 64, 128, 256}},
	"induction": {Config{DVocab: 16, NCtx: 32, NLayers: 2, NHeads: 2, AttnOnly: true}, 64, []int{32, 64, 128}},
}

// BenchmarkBackends times one training step per backend, model, width and ensemble size K.
// PHASEPROBE_BENCH_BACKENDS (default "cpu,go") picks the backends; SimpleGo runs K = 1 only
// unless PHASEPROBE_BENCH_GO_ENSEMBLES=1 (its step grows linearly with K). Run with -cpu 1,2 for
// one and two threads, and -benchmem for the step's allocation.
func BenchmarkBackends(b *testing.B) {
	specs := strings.Split(os.Getenv("PHASEPROBE_BENCH_BACKENDS"), ",")
	if specs[0] == "" {
		specs = []string{"cpu", "go"}
	}
	for _, model := range []string{"bench", "induction"} {
		m := benchModels[model]
		for _, d := range m.widths {
			for _, k := range []int{1, 4, 8} {
				for _, spec := range specs {
					if spec == "go" && k > 1 && os.Getenv("PHASEPROBE_BENCH_GO_ENSEMBLES") == "" {
						continue
					}
					name := fmt.Sprintf("model=%s/d_model=%d/K=%d/backend=%s", model, d, k, spec)
					b.Run(name, func(b *testing.B) {
						cfg := m.cfg
						cfg.DModel = d
						benchBackendStep(b, spec, cfg, m.batch, k)
					})
				}
			}
		}
	}
}

func benchBackendStep(b *testing.B, spec string, cfg Config, batch, K int) {
	be, err := NewBackend(spec)
	if err != nil {
		b.Fatal(err)
	}
	seeds := make([]uint64, K)
	for k := range seeds {
		seeds[k] = uint64(k + 1)
	}
	tr, err := NewTrainer(be, cfg, Optim{}, seeds)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	batches := make([]data.Batch, K)
	for k := range batches {
		batches[k] = copyBatch(rng, batch, cfg.NCtx, cfg.DVocab)
	}
	for range 2 { // compile, and let the buffer pool fill
		if _, err := tr.Step(batches, 1000); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	cpu0 := processCPUSeconds()
	for b.Loop() {
		if _, err := tr.Step(batches, 1000); err != nil {
			b.Fatal(err)
		}
	}
	perStep := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perStep*1e3, "ms/step")
	b.ReportMetric(float64(K*batch*cfg.NCtx)/perStep, "tokens/s")
	// CPU time (user + system, all threads) per step: less sensitive than wall time to other work
	// sharing the machine.
	b.ReportMetric((processCPUSeconds()-cpu0)/float64(b.N)*1e3, "cpu-ms/step")
}

// processCPUSeconds is the process's user + system CPU time so far.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
