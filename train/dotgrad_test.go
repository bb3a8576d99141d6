package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// dotCase is one DotGeneral configuration.
type dotCase struct {
	lhsDims, rhsDims      []int
	lhsContract, lhsBatch []int
	rhsContract, rhsBatch []int
}

func (c dotCase) String() string {
	return fmt.Sprintf("lhs%v c%v b%v × rhs%v c%v b%v", c.lhsDims, c.lhsContract, c.lhsBatch, c.rhsDims, c.rhsContract, c.rhsBatch)
}

// randomDotCase draws a DotGeneral with 0–2 batch, 0–2 contracting and 0–2 cross axes per side, the
// axes placed at random positions of each operand (so contracting pairs come in any order).
func randomDotCase(rng *rand.Rand) dotCase {
	nb, nc, nl, nr := rng.IntN(3), rng.IntN(3), rng.IntN(3), rng.IntN(3)
	if nb+nc+nl == 0 {
		nl = 1
	}
	if nb+nc+nr == 0 {
		nr = 1
	}
	dim := func() int { return 1 + rng.IntN(4) }
	bd, cd := make([]int, nb), make([]int, nc)
	for i := range bd {
		bd[i] = dim()
	}
	for i := range cd {
		cd[i] = dim()
	}
	place := func(ncross int) (dims, contract, batch []int) {
		rank := nb + nc + ncross
		perm := rng.Perm(rank)
		dims = make([]int, rank)
		for i := range nb {
			dims[perm[i]] = bd[i]
			batch = append(batch, perm[i])
		}
		for i := range nc {
			dims[perm[nb+i]] = cd[i]
			contract = append(contract, perm[nb+i])
		}
		for i := range ncross {
			dims[perm[nb+nc+i]] = dim()
		}
		return
	}
	var c dotCase
	c.lhsDims, c.lhsContract, c.lhsBatch = place(nl)
	c.rhsDims, c.rhsContract, c.rhsBatch = place(nr)
	return c
}

func randTensor(rng *rand.Rand, dims []int) []float64 {
	f := make([]float64, shapeSize(dims))
	for i := range f {
		f[i] = rng.NormFloat64()
	}
	return f
}

// dotEvaluator returns a function that evaluates L = Σ DotGeneral(lhs, rhs)·w (w fixed, random) and
// dL/dlhs, dL/drhs in float64 with the given gradient implementation. The graph is built (with that
// gradient) on the first call and reused afterwards.
func dotEvaluator(t *testing.T, b *Backend, kind dotGradient, c dotCase) func(lhs, rhs []float64) (float64, []float64, []float64) {
	t.Helper()
	e, err := graph.NewExecAny(b.b, func(l, r, w *graph.Node) []*graph.Node {
		out := graph.DotGeneral(l, c.lhsContract, c.lhsBatch, r, c.rhsContract, c.rhsBatch)
		loss := graph.ReduceAllSum(graph.Mul(out, w))
		g := gradient(kind, loss, l, r)
		return []*graph.Node{loss, g[0], g[1]}
	})
	if err != nil {
		t.Fatal(err)
	}
	var w *tensors.Tensor
	return func(lhs, rhs []float64) (float64, []float64, []float64) {
		lt := tensors.FromFlatDataAndDimensions(lhs, c.lhsDims...)
		rt := tensors.FromFlatDataAndDimensions(rhs, c.rhsDims...)
		if w == nil {
			out := graph.MustExecOnce(b.b, func(l, r *graph.Node) *graph.Node {
				return graph.DotGeneral(l, c.lhsContract, c.lhsBatch, r, c.rhsContract, c.rhsBatch)
			}, lt, rt)
			dims := out.Shape().Dimensions
			w = tensors.FromFlatDataAndDimensions(randTensor(rand.New(rand.NewPCG(7, 7)), dims), dims...)
		}
		res, err := e.Exec(lt, rt, w)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		return tensors.MustCopyFlatData[float64](res[0])[0], tensors.MustCopyFlatData[float64](res[1]), tensors.MustCopyFlatData[float64](res[2])
	}
}

// TestDotGeneralGradient compares the matrix-product gradient with GoMLX's stock gradient and with
// central finite differences (expected values: (L(x+h) − L(x−h)) / 2h, h = 1e-5, float64; the loss is
// linear in each operand, so the difference is exact up to rounding).
func TestDotGeneralGradient(t *testing.T) {
	b, err := NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []dotCase{
		{[]int{3, 4}, []int{4, 5}, []int{1}, nil, []int{0}, nil},                             // plain matmul
		{[]int{5, 3}, []int{4, 5}, []int{0}, nil, []int{1}, nil},                             // transposed operands
		{[]int{2, 3, 4}, []int{2, 4, 5}, []int{2}, []int{0}, []int{1}, []int{0}},             // batched
		{[]int{2, 3, 4, 5}, []int{4, 6, 3, 2}, []int{1, 2}, []int{0}, []int{2, 0}, []int{3}}, // two contracting, crossed pairing
		{[]int{2, 3, 4, 5}, []int{2, 4, 5, 6}, []int{2, 3}, []int{0}, []int{1, 2}, []int{0}}, // "kbthe,khed->kbtd"-like
		{[]int{3}, []int{4}, nil, nil, nil, nil},                                             // outer product
	}
	for range 24 {
		cases = append(cases, randomDotCase(rng))
	}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			lhs, rhs := randTensor(rng, c.lhsDims), randTensor(rng, c.rhsDims)
			ours := dotEvaluator(t, b, matmulDotGradient, c)
			_, dl, dr := ours(lhs, rhs)
			_, sl, sr := dotEvaluator(t, b, stockDotGradient, c)(lhs, rhs)
			assertClose(t, "dlhs vs stock", dl, sl, 1e-12)
			assertClose(t, "drhs vs stock", dr, sr, 1e-12)
			const h = 1e-5
			fd := func(x []float64, isLHS bool) []float64 {
				g := make([]float64, len(x))
				for i := range x {
					orig := x[i]
					x[i] = orig + h
					var lp, lm float64
					if isLHS {
						lp, _, _ = ours(x, rhs)
						x[i] = orig - h
						lm, _, _ = ours(x, rhs)
					} else {
						lp, _, _ = ours(lhs, x)
						x[i] = orig - h
						lm, _, _ = ours(lhs, x)
					}
					x[i] = orig
					g[i] = (lp - lm) / (2 * h)
				}
				return g
			}
			if len(lhs)+len(rhs) <= 200 {
				assertClose(t, "dlhs vs finite differences", dl, fd(lhs, true), 1e-7)
				assertClose(t, "drhs vs finite differences", dr, fd(rhs, false), 1e-7)
			}
		})
	}
}

func shapeF32(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }

func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(got[i]) {
			t.Fatalf("%s: element %d = %.12g, want %.12g", what, i, got[i], want[i])
		}
	}
}

// TestReadDotGeneralParams checks that the reflective read of a DotGeneral's axes returns what the
// node was built with; it fails if a GoMLX upgrade moves those fields.
func TestReadDotGeneralParams(t *testing.T) {
	b, err := NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	var got dotGeneralParams
	e, err := graph.NewExecAny(b.b, func(l, r *graph.Node) *graph.Node {
		out := graph.DotGeneral(l, []int{1, 2}, []int{0}, r, []int{2, 0}, []int{3})
		got, err = readDotGeneralParams(out)
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Exec(tensors.FromShape(shapeF32(2, 3, 4, 5)), tensors.FromShape(shapeF32(4, 6, 3, 2))); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint([]int{1, 2}, []int{0}, []int{2, 0}, []int{3})
	if s := fmt.Sprint(got.lhsContracting, got.lhsBatch, got.rhsContracting, got.rhsBatch); s != want {
		t.Fatalf("axes read as %s, want %s", s, want)
	}
}
