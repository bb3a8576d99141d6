package train

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestNoDeadlockTwoCores runs the configuration that deadlocked GoMLX's pure-Go backend on 2 cores
// (an op waiting for a worker from inside the worker pool, made likely by large DotGenerals) —
// d_model 128 steps, two trainers executing concurrently as `sweep --jobs 2` does — with
// GOMAXPROCS = 2, on the test backend and on SimpleGo with phaseprobe's configuration (goConfig:
// ops run sequentially, so no worker ever waits for another). A hang fails the test after a
// watchdog delay, with every goroutine's stack, instead of stalling CI.
func TestNoDeadlockTwoCores(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: trains d_model 128 models")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	backends := []*Backend{testBackend(t)}
	if !strings.HasPrefix(backends[0].String(), "go") {
		backends = append(backends, newBackendT(t, "go"))
	}
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) { trainConcurrently(t, b) })
	}
}

// trainConcurrently trains two d_model 128 ensembles at once on b, failing if they do not finish
// within the watchdog delay.
func trainConcurrently(t *testing.T, b *Backend) {
	cfg := Config{DVocab: 16, NCtx: 16, DModel: 128, NLayers: 2, NHeads: 4}
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for j := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := NewTrainer(b, cfg, Optim{}, []uint64{uint64(j + 1), uint64(j + 3)})
			if err != nil {
				errs <- err
				return
			}
			rng := rand.New(rand.NewPCG(uint64(j), 0))
			for range 3 {
				batches := []data.Batch{copyBatch(rng, 64, 16, 16), copyBatch(rng, 64, 16, 16)}
				if _, err := tr.Step(batches, 3); err != nil {
					errs <- err
					return
				}
				if _, err := tr.Forward(batches, true); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(4 * time.Minute):
		buf := make([]byte, 1<<20)
		t.Fatalf("training did not finish: deadlock?\n%s", buf[:runtime.Stack(buf, true)])
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
