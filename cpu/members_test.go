package cpu

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// membersGraph builds, for K stacked members, a computation with two member regions separated by
// a sum over the members, a product that reads a member value whole (it must run after that
// value's region), and a whole-ensemble sum. It returns the outputs.
func membersGraph(t *testing.T, b *Builder, K int) []backends.Op {
	t.Helper()
	must := func(o backends.Op, err error) backends.Op {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	f32 := func(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }
	x := must(b.Parameter("x", f32(K, 5, 4), nil))
	w := must(b.Parameter("w", f32(K, 4, 6), nil))
	bias := must(b.Parameter("bias", f32(K, 6), nil))
	scale := must(b.Parameter("scale", f32(), nil))
	y := must(b.DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0}))                       // [K,5,6]
	y = must(b.Add(y, must(b.BroadcastInDim(bias, f32(K, 5, 6), []int{0, 2}))))                 // bias per member
	th := must(b.Tanh(must(b.Mul(y, must(b.BroadcastInDim(scale, f32(K, 5, 6), nil))))))        // shared scalar
	per := must(b.ReduceSum(th, 1, 2))                                                          // [K]
	total := must(b.ReduceSum(per, 0))                                                          // whole
	mean := must(b.ReduceSum(th, 0))                                                            // [5,6], whole
	u := must(b.Mul(th, must(b.BroadcastInDim(mean, f32(K, 5, 6), []int{1, 2}))))               // region 2
	v := must(b.DotGeneral(u, []int{2}, []int{0}, w, []int{2}, []int{0}))                       // [K,5,4]
	xs := must(b.ReduceSum(x, 1))                                                               // [K,4]
	cross := must(b.DotGeneral(must(b.Exp(xs)), []int{1}, nil, must(b.Neg(xs)), []int{1}, nil)) // [K,K]
	return []backends.Op{per, total, v, cross}
}

// TestMembersBitIdentical: the member-by-member plan gives bit-identical results to the plan over
// the whole stack, with the two regions the graph has (a product reading a member value whole
// must not join that value's region, or it would see one member's slice).
func TestMembersBitIdentical(t *testing.T) {
	c := memberCase{seed: 7, build: func(g caseGraph) []backends.Op { return membersGraph(t, g.b, 3) }}
	if regions := checkMembers(t, c); regions != 2 {
		t.Fatalf("member regions: %d, want 2", regions)
	}
	if _, whole := compileCase(t, "nomembers", c); whole.regions != 0 {
		t.Fatalf("with nomembers: %d member regions, want 0", whole.regions)
	}
}

// TestMemberAxisGuess: the member axis is the leading size most parameters share, at least 2.
func TestMemberAxisGuess(t *testing.T) {
	be, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(be, "guess")
	for i, dims := range [][]int{{4, 3}, {4, 2, 2}, {8, 4}, {}, {1, 5}, {4}} {
		if _, err := b.Parameter(string(rune('a'+i)), shapes.Make(dtypes.Float32, dims...), nil); err != nil {
			t.Fatal(err)
		}
	}
	if K := memberAxis(b); K != 4 {
		t.Fatalf("memberAxis = %d, want 4", K)
	}
	single := newBuilder(be, "single")
	if _, err := single.Parameter("a", shapes.Make(dtypes.Float32, 1, 3), nil); err != nil {
		t.Fatal(err)
	}
	if K := memberAxis(single); K != 0 {
		t.Fatalf("memberAxis of a single model = %d, want 0", K)
	}
}
