package cpu_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"math/rand/v2"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/phaseprobe/phaseprobe/cpu"
)

// TestNoDeadlockConcurrentProducts runs, with GOMAXPROCS = 2, eight goroutines that each execute
// the same compiled graph of three large (parallel-split) matrix products twenty times: more concurrent products than cores, each splitting its own work. A design in which a
// product waits for a worker from a shared pool could hang here; a hang fails the test after a
// watchdog delay, with every goroutine's stack.
func TestNoDeadlockConcurrentProducts(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewExecAny(b, func(in []*Node) []*Node {
		y := Einsum("kbd,kdf->kbf", in[0], in[1]) // 2·2·128·96·128 ≈ 6.3 Mflop: split
		z := Einsum("kbf,kdf->kbd", y, in[1])
		u := Einsum("kbd,kcd->kbc", z, in[0])
		return []*Node{z, u}
	})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	x, w := randTensor(rng, -1, 1, 2, 128, 96), randTensor(rng, -1, 1, 2, 96, 128)
	var first []float32
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				xc, _ := x.LocalClone()
				wc, _ := w.LocalClone()
				out, err := e.Exec(xc, wc)
				if err != nil {
					errs <- err
					return
				}
				v := tensors.MustCopyFlatData[float32](out[1])
				mu.Lock()
				if first == nil {
					first = v
				} else {
					for i := range v {
						if v[i] != first[i] {
							mu.Unlock()
							t.Errorf("concurrent executions differ at %d: %v vs %v", i, v[i], first[i])
							return
						}
					}
				}
				mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		buf := make([]byte, 1<<20)
		t.Fatalf("products did not finish: deadlock?\n%s", buf[:runtime.Stack(buf, true)])
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
