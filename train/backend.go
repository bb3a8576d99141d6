package train

import (
	"cmp"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/phaseprobe/phaseprobe/cpu"
)

// Backend is a compute backend for training and capture. It wraps a GoMLX backend so that no GoMLX
// type crosses this package's API, and holds the computations compiled on it.
type Backend struct {
	spec   string
	parsed BackendSpec
	b      backends.Backend

	mu     sync.Mutex
	execs  map[string]*graph.Exec // compiled computations by Trainer.execKey
	closed bool
}

// String returns the spec the backend was made from, e.g. "go" or "xla:/path/plugin.so".
func (b *Backend) String() string { return b.spec }

// IsGo reports whether this is a pure-Go CPU backend: SimpleGo ("go") or phaseprobe's own ("cpu").
func (b *Backend) IsGo() bool { return b.parsed.OnCPU() }

// Close releases the computations compiled on the backend and the backend itself. Call it once no
// step or forward pass runs on the backend any more: trainers made on it fail afterwards with an
// error. A second Close does nothing.
func (b *Backend) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for _, e := range b.execs {
		e.Finalize()
	}
	b.execs = nil
	b.closed = true
	b.b.Finalize()
}

// exec returns the computation compiled under key, building it with build the first time. Trainers
// of the same shape share it; graph.Exec itself compiles once per input shape.
func (b *Backend) exec(key string, build func() (*graph.Exec, error)) (*graph.Exec, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("train: backend %s is closed", b.spec)
	}
	if e, ok := b.execs[key]; ok {
		return e, nil
	}
	e, err := build()
	if err != nil {
		return nil, err
	}
	if b.execs == nil {
		b.execs = map[string]*graph.Exec{}
	}
	b.execs[key] = e
	return e, nil
}

// newXLA is set by backend_xla.go when the binary is built with the "xla" tag (make build-gpu).
var newXLA func(pluginPath string) (backends.Backend, error)

// goConfig is the SimpleGo configuration used for "go".
//
// SimpleGo's worker pool is bounded (about twice runtime.NumCPU tasks) and, by default, its op
// scheduler runs ops as pool tasks whose kernels then wait for more workers from inside the pool:
// on 2 cores that can deadlock (`--backend go:parallelism=2` hung even at d_model 32).
// "ops_sequential" runs the ops one after another on the calling goroutine, so a kernel waits for
// workers only from outside the pool, and a task inside it starts more work only when a worker is
// free, never waiting for one: no wait can be circular. Measured on 2 cores (BenchmarkTrainStep
// with PHASEPROBE_TEST_BACKEND): 212 and 1,772 ms per step at d_model 32 and 128, against 251 and
// 2,254 ms with an unbounded pool ("parallelism=-1"), with bit-identical losses, gradients and
// activations. With it SimpleGo prints nothing on stdout (it prints a line for "parallelism=N").
// TestNoDeadlockTwoCores runs it.
const goConfig = "ops_sequential"

// NewBackend opens a backend from a spec, which ParseBackendSpec checks:
//
//	cpu, cpu:OPTS           phaseprobe's own CPU backend (package cpu; the default, also for "");
//	                        deterministic; needs nothing installed; options e.g. cpu:workers=1
//	go                      GoMLX's pure-Go backend SimpleGo, the reference cpu is tested against
//	                        (run with goConfig)
//	go:OPTS                 SimpleGo with its options instead, e.g. go:parallelism=2 (SimpleGo
//	                        itself prints a line on stdout for that one)
//	xla:/abs/path/plugin.so XLA through a PJRT plugin (binary built with `make build-gpu`)
//
// Close the backend when done with it.
func NewBackend(spec string) (*Backend, error) {
	bs, err := ParseBackendSpec(spec)
	if err != nil {
		return nil, err
	}
	var b backends.Backend
	switch bs.Name {
	case "cpu":
		b, err = cpu.New(bs.Options)
	case "go":
		b, err = simplego.New(cmp.Or(bs.Options, goConfig))
	case "xla":
		return openXLA(spec, bs)
	}
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w", spec, err)
	}
	if spec == "" {
		spec = "cpu"
	}
	return &Backend{spec: spec, parsed: bs, b: b}, nil
}

// openXLA opens an XLA backend: bs.Options is the plugin's path, with its options after ','.
func openXLA(spec string, bs BackendSpec) (*Backend, error) {
	plugin, _, _ := strings.Cut(bs.Options, ",")
	if _, err := os.Stat(plugin); err != nil {
		return nil, fmt.Errorf("backend %q: PJRT plugin: %w", spec, err)
	}
	if newXLA == nil {
		return nil, fmt.Errorf("backend %q: this phaseprobe binary was built without XLA support; build it with `make build-gpu` (needs cgo)", spec)
	}
	b, err := newXLA(bs.Options)
	if err != nil {
		return nil, fmt.Errorf("backend %q: %w (is the CUDA runtime that the plugin needs installed beside it?)", spec, err)
	}
	return &Backend{spec: spec, parsed: bs, b: b}, nil
}
