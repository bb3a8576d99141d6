package train

import (
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/phaseprobe/phaseprobe/data"
)

// TestCloseReleasesCompiledSteps: Close drops the computations compiled on a backend, a trainer on a
// closed backend fails with an error that says so, and a second Close is harmless.
func TestCloseReleasesCompiledSteps(t *testing.T) {
	for _, spec := range []string{"cpu", "go"} {
		t.Run(spec, func(t *testing.T) {
			b := newBackendT(t, spec)
			tr, err := NewTrainer(b, tinyCfg, Optim{}, []uint64{1})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			batches := []data.Batch{copyBatch(rng, 4, tinyCfg.NCtx, tinyCfg.DVocab)}
			if _, err := tr.Step(batches, 2); err != nil {
				t.Fatal(err)
			}
			if _, err := tr.Forward(batches, true); err != nil {
				t.Fatal(err)
			}
			if n := len(b.execs); n != 2 {
				t.Fatalf("%d compiled computations after a step and a capture, want 2", n)
			}
			b.Close()
			if b.execs != nil {
				t.Fatalf("Close kept %d compiled computations", len(b.execs))
			}
			if _, err := tr.Step(batches, 2); err == nil || !strings.Contains(err.Error(), "closed") {
				t.Fatalf("step on a closed backend: err = %v, want one saying it is closed", err)
			}
			b.Close()
		})
	}
}

// TestGoBackendPrintsNothing: creating the SimpleGo backend writes nothing on stdout (phaseprobe's
// stdout carries results), with no redirection of os.Stdout by phaseprobe.
func TestGoBackendPrintsNothing(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	b, err := NewBackend("go")
	os.Stdout = saved
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := make([]byte, 4096)
	n, _ := r.Read(out)
	r.Close()
	if n > 0 {
		t.Fatalf("NewBackend(\"go\") printed %q on stdout", out[:n])
	}
}

// TestGradientScopesDotGeneralVJP: gradient differentiates DotGeneral with the matrix-product VJP
// only while it builds. With matmulDotGradient no node of the gradient graph of a [6, 7]·[7, 5]
// product is larger than its operands; the stock gradient builds the 6×7×5 broadcast; and GoMLX's
// registry holds its own DotGeneral gradient again afterwards.
func TestGradientScopesDotGeneralVJP(t *testing.T) {
	b := newBackendT(t, "go")
	defer b.Close()
	stock := reflect.ValueOf(graph.VJPRegistration[graph.NodeTypeDotGeneral]).Pointer()
	largest := func(kind dotGradient) int {
		g := graph.NewGraph(b.b, "dotgrad")
		defer g.Finalize()
		l := graph.Parameter(g, "l", shapeF32(6, 7))
		r := graph.Parameter(g, "r", shapeF32(7, 5))
		gradient(kind, graph.ReduceAllSum(graph.DotGeneral(l, []int{1}, nil, r, []int{0}, nil)), l, r)
		n := 0
		for _, node := range g.Nodes() {
			if node.NumOutputs() == 1 {
				n = max(n, node.Shape().Size())
			}
		}
		return n
	}
	if n := largest(matmulDotGradient); n > 6*7 {
		t.Errorf("matrix-product gradient: largest node has %d elements, want at most 6×7 = 42", n)
	}
	if n := largest(stockDotGradient); n < 6*7*5 {
		t.Errorf("stock gradient: largest node has %d elements, want the 6×7×5 = 210 broadcast", n)
	}
	if p := reflect.ValueOf(graph.VJPRegistration[graph.NodeTypeDotGeneral]).Pointer(); p != stock {
		t.Errorf("gradient left its DotGeneral VJP in graph.VJPRegistration")
	}
}

// TestNewBackendParsesLikeThePlanner: NewBackend refuses exactly the specs ParseBackendSpec
// refuses, with its error, and opens the CPU forms it accepts as pure-Go backends (IsGo).
func TestNewBackendParsesLikeThePlanner(t *testing.T) {
	for _, spec := range []string{"", "cpu", "cpu:workers=1", "go", "xla:relative.so", "xla", "cuda", "gpu:0"} {
		bs, perr := ParseBackendSpec(spec)
		b, err := NewBackend(spec)
		if perr != nil {
			if err == nil || err.Error() != perr.Error() {
				t.Errorf("NewBackend(%q) error %v, want ParseBackendSpec's %v", spec, err, perr)
			}
			if b != nil {
				b.Close()
			}
			continue
		}
		if err != nil {
			t.Errorf("NewBackend(%q): %v", spec, err)
			continue
		}
		if b.IsGo() != bs.OnCPU() || !b.IsGo() {
			t.Errorf("NewBackend(%q).IsGo() = %v, want %v (ParseBackendSpec's OnCPU)", spec, b.IsGo(), bs.OnCPU())
		}
		if name := backendName(b.String()); name != bs.Name {
			t.Errorf("NewBackend(%q).String() = %q names backend %q, want %q", spec, b.String(), name, bs.Name)
		}
		b.Close()
	}
}
