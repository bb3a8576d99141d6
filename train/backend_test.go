package train

import (
	"reflect"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
)

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
