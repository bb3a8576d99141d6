package cpu

// Cases for the member-by-member plan (members.go), written as an adversarial review of it: each
// test builds a graph, runs it with the default backend (member regions) and with "nomembers" (the
// stacked plan), and requires bit-identical outputs and that the graph really had a member region.
// Two of them found bugs, since fixed: a broadcast sending a later operand axis of size K to output
// axis 0 (TestMembersBroadcastPermutedAxes, TestMembersBroadcastAxis0Later), and a region's step
// taken for a fused group by the row-sum fold (TestMembersRegionIntoRowSum, ...Whole).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

type caseGraph struct {
	t *testing.T
	b *Builder
}

func (g caseGraph) must(o backends.Op, err error) backends.Op {
	g.t.Helper()
	if err != nil {
		g.t.Fatal(err)
	}
	return o
}

func f32s(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }

// randFlat returns random data for shape s (deterministic per seed).
func randFlat(rng *rand.Rand, s shapes.Shape) any {
	n := s.Size()
	switch s.DType {
	case dtypes.Float32:
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	case dtypes.Float64:
		x := make([]float64, n)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		return x
	case dtypes.Int32:
		x := make([]int32, n)
		for i := range x {
			x[i] = int32(rng.IntN(21) - 10)
		}
		return x
	case dtypes.Int64:
		x := make([]int64, n)
		for i := range x {
			x[i] = int64(rng.IntN(21) - 10)
		}
		return x
	case dtypes.Bool:
		x := make([]bool, n)
		for i := range x {
			x[i] = rng.IntN(2) == 0
		}
		return x
	}
	panic(fmt.Sprint("randFlat: ", s))
}

func cloneFlat(x any) any {
	v := reflect.ValueOf(x)
	c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
	reflect.Copy(c, v)
	return c.Interface()
}

// sameBits compares two flats bit for bit.
func sameBits(a, b any) (int, bool) {
	switch x := a.(type) {
	case []float32:
		y := b.([]float32)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return i, false
			}
		}
		return 0, len(x) == len(y)
	case []float64:
		y := b.([]float64)
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return i, false
			}
		}
		return 0, len(x) == len(y)
	}
	return 0, reflect.DeepEqual(a, b)
}

type memberCase struct {
	build  func(g caseGraph) []backends.Op
	donate bool
	seed   uint64
}

// compileCase builds and compiles the case on a fresh backend with config.
func compileCase(t *testing.T, config string, c memberCase) (*Backend, *Executable) {
	t.Helper()
	be, err := New(config)
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(be, "caseGraph")
	outs := c.build(caseGraph{t, b})
	ex, err := b.Compile(outs, nil)
	if err != nil {
		t.Fatalf("%q: compile: %v", config, err)
	}
	return be, ex.(*Executable)
}

func execMembers(t *testing.T, be *Backend, e *Executable, inputs []any, donate bool) []any {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("panic: %v", r)
		}
	}()
	var bufs []backends.Buffer
	var don []bool
	for i, x := range inputs {
		buf, err := be.BufferFromFlatData(0, cloneFlat(x), e.inShapes[i])
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, buf)
		don = append(don, donate)
	}
	res, err := e.Execute(bufs, don, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for i, r := range res {
		flat := makeFlat(e.outShapes[i].DType, e.outShapes[i].Size())
		if err := be.BufferToFlatData(r, flat); err != nil {
			t.Fatal(err)
		}
		out = append(out, flat)
	}
	return out
}

// checkMembers runs the case both ways (twice each, to catch pool reuse) and compares; it returns the
// member plan's region count.
func checkMembers(t *testing.T, c memberCase) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(c.seed+1, 3))
	beS, split := compileCase(t, "", c)
	beW, whole := compileCase(t, "nomembers", c)
	var inputs []any
	for _, s := range split.inShapes {
		inputs = append(inputs, randFlat(rng, s))
	}
	for rep := range 2 {
		got := execMembers(t, beS, split, inputs, c.donate)
		want := execMembers(t, beW, whole, inputs, c.donate)
		for i := range want {
			if j, ok := sameBits(got[i], want[i]); !ok {
				t.Errorf("run %d, output %d (%s) differs at %d: member by member %v\n whole stack %v", rep, i,
					whole.outShapes[i], j, got[i], want[i])
			}
		}
	}
	if split.regions == 0 {
		t.Errorf("no member region formed (test does not exercise members.go)")
	}
	return split.regions
}

// TestMembersBroadcastPermutedAxes: BroadcastInDim whose axes map an operand axis other than the
// first to output axis 0 (axes [1, 0]: a transposing broadcast, which GoMLX's shape inference
// accepts). members.go used to take it for a member node reading its operand whole, so that each
// member's plan broadcast [3, K] into [1, 3] and read column 0 for every member.
func TestMembersBroadcastPermutedAxes(t *testing.T) {
	const K = 3
	checkMembers(t, memberCase{build: func(g caseGraph) []backends.Op {
		x := g.must(g.b.Parameter("x", f32s(3, K), nil))
		w := g.must(g.b.Parameter("w", f32s(K, 3, 2), nil))
		bc := g.must(g.b.BroadcastInDim(x, f32s(K, 3), []int{1, 0})) // bc[m, i] = x[i, m]
		r := g.must(g.b.Reshape(bc, K, 1, 3))
		y := g.must(g.b.DotGeneral(r, []int{2}, []int{0}, w, []int{1}, []int{0})) // [K,1,2]
		return []backends.Op{y}
	}})
}

// TestMembersBroadcastPermutedAxesStackedIsRight: the stacked plan's value for the graph above is
// x[i, m] (so the difference is the member plan's fault).
func TestMembersBroadcastPermutedAxesStackedIsRight(t *testing.T) {
	const K = 3
	for _, cfg := range []string{"nomembers", ""} {
		be, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b := newBuilder(be, "bc")
		g := caseGraph{t, b}
		x := g.must(b.Parameter("x", f32s(3, K), nil))
		w := g.must(b.Parameter("w", f32s(K, 3, 1), nil))
		bc := g.must(b.BroadcastInDim(x, f32s(K, 3), []int{1, 0}))
		r := g.must(b.Reshape(bc, K, 1, 3))
		y := g.must(b.DotGeneral(r, []int{2}, []int{0}, w, []int{1}, []int{0})) // [K,1,1]
		ex, err := b.Compile([]backends.Op{y}, nil)
		if err != nil {
			t.Fatal(err)
		}
		xs := []float32{1, 2, 3, 10, 20, 30, 100, 200, 300} // x[i, m]
		ws := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
		out := execMembers(t, be, ex.(*Executable), []any{xs, ws}, false)[0].([]float32)
		want := []float32{111, 222, 333} // sum_i x[i, m]
		if !reflect.DeepEqual(out, want) {
			t.Errorf("%q: got %v, want %v", cfg, out, want)
		}
	}
}

// TestMembersBroadcastAxis0Later: an operand axis of size 1 (not K) elsewhere mapped to output axis
// 0, and the operand's leading axis K mapped elsewhere: [K, 1] -> [1... ] style shuffles.
func TestMembersBroadcastAxis0Later(t *testing.T) {
	const K = 4
	checkMembers(t, memberCase{seed: 1, build: func(g caseGraph) []backends.Op {
		p := g.must(g.b.Parameter("p", f32s(K, K), nil))
		w := g.must(g.b.Parameter("w", f32s(K, K, 2), nil))
		bc := g.must(g.b.BroadcastInDim(p, f32s(K, 2, K), []int{2, 0})) // bc[m, j, i] = p[i, m]
		y := g.must(g.b.DotGeneral(bc, []int{2}, []int{0}, w, []int{1}, []int{0}))
		return []backends.Op{y}
	}})
}

// TestMembersBroadcastSizeOneLater: an operand axis of size 1 mapped to output axis 0 (the
// operand's other axis elsewhere) is read whole by every member.
func TestMembersBroadcastSizeOneLater(t *testing.T) {
	const K = 3
	checkMembers(t, memberCase{seed: 4, build: func(g caseGraph) []backends.Op {
		x := g.must(g.b.Parameter("x", f32s(3, 1), nil))
		w := g.must(g.b.Parameter("w", f32s(K, 3, 2), nil))
		bc := g.must(g.b.BroadcastInDim(x, f32s(K, 3), []int{1, 0})) // bc[m, i] = x[i, 0]
		r := g.must(g.b.Reshape(bc, K, 1, 3))
		y := g.must(g.b.DotGeneral(r, []int{2}, []int{0}, w, []int{1}, []int{0}))
		return []backends.Op{y}
	}})
}

// membersLikeGraph: a product region, a whole sum, a second region.
func membersLikeGraph(g caseGraph, K int) []backends.Op {
	x := g.must(g.b.Parameter("x", f32s(K, 5, 4), nil))
	w := g.must(g.b.Parameter("w", f32s(K, 4, 6), nil))
	bias := g.must(g.b.Parameter("bias", f32s(K, 6), nil))
	y := g.must(g.b.DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0}))
	y = g.must(g.b.Add(y, g.must(g.b.BroadcastInDim(bias, f32s(K, 5, 6), []int{0, 2}))))
	th := g.must(g.b.Tanh(y))
	mean := g.must(g.b.ReduceSum(th, 0))
	u := g.must(g.b.Mul(th, g.must(g.b.BroadcastInDim(mean, f32s(K, 5, 6), []int{1, 2}))))
	v := g.must(g.b.DotGeneral(u, []int{2}, []int{0}, w, []int{2}, []int{0}))
	return []backends.Op{v, th, mean, x, th, y}
}

// TestMembersDonated: every input donated (as GoMLX's training loop does), two regions, outputs
// that are a parameter, a member value twice, a member value also read whole.
func TestMembersDonated(t *testing.T) {
	if n := checkMembers(t, memberCase{donate: true, seed: 2, build: func(g caseGraph) []backends.Op { return membersLikeGraph(g, 3) }}); n != 2 {
		t.Errorf("regions %d, want 2", n)
	}
}

// TestMembersConcurrent: one executable run from several goroutines at once (go test -race).
func TestMembersConcurrent(t *testing.T) {
	const K = 4
	c := memberCase{seed: 3, build: func(g caseGraph) []backends.Op { return membersLikeGraph(g, K) }}
	beS, split := compileCase(t, "workers=2", c)
	beW, whole := compileCase(t, "nomembers", c)
	rng := rand.New(rand.NewPCG(9, 9))
	var inputs []any
	for _, s := range split.inShapes {
		inputs = append(inputs, randFlat(rng, s))
	}
	want := execMembers(t, beW, whole, inputs, false)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for gi := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range 5 {
				var bufs []backends.Buffer
				for i, x := range inputs {
					buf, _ := beS.BufferFromFlatData(0, cloneFlat(x), split.inShapes[i])
					bufs = append(bufs, buf)
				}
				res, err := split.Execute(bufs, []bool{it%2 == 0, it%2 == 0, it%2 == 0}, 0)
				if err != nil {
					errs <- err.Error()
					return
				}
				for i, r := range res {
					flat := makeFlat(split.outShapes[i].DType, split.outShapes[i].Size())
					_ = beS.BufferToFlatData(r, flat)
					if _, ok := sameBits(flat, want[i]); !ok {
						errs <- fmt.Sprintf("goroutine %d iteration %d output %d differs", gi, it, i)
					}
					_ = beS.BufferFinalize(r)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestMembersIntBoolDTypes: integer and bool values in a region (comparisons, ConvertDType,
// ArgMinMax, Where with a scalar and a full condition, Clamp, reductions).
func TestMembersIntBoolDTypes(t *testing.T) {
	const K = 3
	checkMembers(t, memberCase{seed: 4, build: func(g caseGraph) []backends.Op {
		b := g.b
		x := g.must(b.Parameter("x", f32s(K, 4, 3), nil))
		w := g.must(b.Parameter("w", f32s(K, 3, 5), nil))
		flag := g.must(b.Parameter("flag", shapes.Make(dtypes.Bool), nil))
		ip := g.must(b.Parameter("ip", shapes.Make(dtypes.Int32, K, 4, 5), nil))
		f := g.must(b.DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0})) // [K,4,5]
		zero := g.must(b.Constant([]float32{0}))
		pos := g.must(b.GreaterThan(f, g.must(b.BroadcastInDim(zero, f32s(K, 4, 5), nil))))
		wh := g.must(b.Where(pos, f, g.must(b.Neg(f))))
		ws := g.must(b.Where(flag, f, wh))
		i := g.must(b.ConvertDType(g.must(b.Mul(f, g.must(b.BroadcastInDim(g.must(b.Constant([]float32{10})), f32s(K, 4, 5), nil)))), dtypes.Int32))
		i2 := g.must(b.Add(i, ip))
		is := g.must(b.ReduceSum(i2, 2))
		am := g.must(b.ArgMinMax(f, 2, dtypes.Int32, false))
		am1 := g.must(b.ArgMinMax(f, 1, dtypes.Int64, true))
		am0 := g.must(b.ArgMinMax(f, 0, dtypes.Int32, true)) // whole
		lo := g.must(b.Constant([]float32{-0.5}))
		hi := g.must(b.Constant([]float32{0.5}))
		cl := g.must(b.Clamp(lo, f, hi))
		nb := g.must(b.LogicalNot(pos))
		mx := g.must(b.ReduceMax(f, 1))
		r0 := g.must(b.ReduceSum(f, 0)) // whole
		return []backends.Op{ws, i2, is, am, am1, am0, cl, nb, pos, mx, r0}
	}})
}

// TestMembersZeroSize: zero-size axes in a region: empty rows, an empty contraction.
func TestMembersZeroSize(t *testing.T) {
	const K = 3
	checkMembers(t, memberCase{seed: 5, build: func(g caseGraph) []backends.Op {
		b := g.b
		x := g.must(b.Parameter("x", f32s(K, 0, 4), nil))
		w := g.must(b.Parameter("w", f32s(K, 4, 3), nil))
		a := g.must(b.Parameter("a", f32s(K, 5, 0), nil))
		c := g.must(b.Parameter("c", f32s(K, 0, 3), nil))
		bias := g.must(b.Parameter("bias", f32s(K, 5, 3), nil))
		y := g.must(b.DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0})) // [K,0,3]
		z := g.must(b.DotGeneral(a, []int{2}, []int{0}, c, []int{1}, []int{0})) // [K,5,3] zeros
		z = g.must(b.Add(z, bias))
		ys := g.must(b.ReduceSum(y, 1)) // [K,3] zeros
		return []backends.Op{y, z, ys, g.must(b.Exp(y))}
	}})
}

// TestMembersConstantRegion: regions whose inputs are only constants (one sliced, one a broadcast
// scalar, so the member plan has no parameters at all).
func TestMembersConstantRegion(t *testing.T) {
	const K = 3
	checkMembers(t, memberCase{seed: 6, build: func(g caseGraph) []backends.Op {
		b := g.b
		_ = g.must(b.Parameter("p1", f32s(K, 2), nil))
		_ = g.must(b.Parameter("p2", f32s(K, 2), nil))
		cv := make([]float32, K*2*2)
		for i := range cv {
			cv[i] = float32(i) * 0.25
		}
		c := g.must(b.Constant(cv, K, 2, 2))
		s := g.must(b.BroadcastInDim(g.must(b.Constant([]float32{1.5})), f32s(K, 2, 2), nil))
		y := g.must(b.DotGeneral(c, []int{2}, []int{0}, s, []int{1}, []int{0}))
		y2 := g.must(b.DotGeneral(s, []int{2}, []int{0}, s, []int{1}, []int{0}))
		return []backends.Op{y, g.must(b.Exp(y2))}
	}})
}

// TestMembersConstantOnlyRegionLarge: a constant-only region too big to fold (4096 < size).
func TestMembersConstantOnlyRegionLarge(t *testing.T) {
	const K = 2
	checkMembers(t, memberCase{seed: 7, build: func(g caseGraph) []backends.Op {
		b := g.b
		_ = g.must(b.Parameter("p1", f32s(K, 2), nil))
		s := g.must(b.BroadcastInDim(g.must(b.Constant([]float32{0.5})), f32s(K, 64, 64), nil))
		y := g.must(b.DotGeneral(s, []int{2}, []int{0}, s, []int{1}, []int{0}))
		return []backends.Op{g.must(b.Tanh(y))}
	}})
}

// TestMembersCoincidentDims: other dimensions equal to K (batch == K), products without batch axes
// whose rhs is shared, products batched on axis 0 with K everywhere, transposes/broadcasts/reshapes
// mixing the K-sized axes.
func TestMembersCoincidentDims(t *testing.T) {
	const K = 4
	checkMembers(t, memberCase{seed: 8, build: func(g caseGraph) []backends.Op {
		b := g.b
		data := g.must(b.Parameter("data", f32s(K, K), nil))             // a batch of K rows, shared
		w := g.must(b.Parameter("w", f32s(K, K, K), nil))                // stacked weights
		v := g.must(b.Parameter("v", f32s(K), nil))                      // stacked scalars
		h := g.must(b.DotGeneral(data, []int{1}, nil, w, []int{1}, nil)) // [K(batch), K, K] no batch axes
		h = g.must(b.Tanh(h))
		t1 := g.must(b.Transpose(h, 1, 0, 2)) // whole (perm[0] != 0)
		y := g.must(b.DotGeneral(t1, []int{2}, []int{0}, w, []int{1}, []int{0}))
		y = g.must(b.Add(y, g.must(b.BroadcastInDim(v, f32s(K, K, K), []int{0}))))
		y = g.must(b.Add(y, g.must(b.BroadcastInDim(v, f32s(K, K, K), []int{1}))))
		y = g.must(b.Add(y, g.must(b.BroadcastInDim(v, f32s(K, K, K), []int{2}))))
		rs := g.must(b.Reshape(y, K, K*K))
		rs2 := g.must(b.Reshape(rs, K, K, K))
		cross := g.must(b.DotGeneral(rs2, []int{2}, nil, data, []int{1}, nil))     // [K,K,K] rhs shared
		cross2 := g.must(b.DotGeneral(data, []int{0}, nil, rs2, []int{1}, nil))    // contracting 0: whole
		bt := g.must(b.DotGeneral(rs2, []int{2}, []int{1}, w, []int{2}, []int{1})) // batch axis 1
		return []backends.Op{cross, cross2, bt, g.must(b.ReduceSum(rs2, 1, 2)), g.must(b.ReduceMax(rs2, 0))}
	}})
}

// TestMembersLeadOne: binary operands with leading dimension 1 against K.
func TestMembersLeadOne(t *testing.T) {
	const K = 3
	checkMembers(t, memberCase{seed: 9, build: func(g caseGraph) []backends.Op {
		b := g.b
		x := g.must(b.Parameter("x", f32s(K, 4, 3), nil))
		w := g.must(b.Parameter("w", f32s(K, 3, 5), nil))
		one := g.must(b.Parameter("one", f32s(1, 4, 5), nil))
		one2 := g.must(b.Parameter("one2", f32s(1, 1, 5), nil))
		f := g.must(b.DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0}))
		a := g.must(b.Add(f, one))
		m := g.must(b.Mul(one2, a))
		bc := g.must(b.BroadcastInDim(one2, f32s(K, 4, 5), []int{0, 1, 2}))
		return []backends.Op{g.must(b.Sub(m, bc)), g.must(b.Pow(g.must(b.Abs(m)), one))}
	}})
}

// TestMembersManyRegions: a chain of regions, each reading the previous region's values sliced and
// a whole value computed between them; an early member value read by a late region.
func TestMembersManyRegions(t *testing.T) {
	const K = 3
	n := checkMembers(t, memberCase{seed: 10, build: func(g caseGraph) []backends.Op {
		b := g.b
		x := g.must(b.Parameter("x", f32s(K, 4, 4), nil))
		w := g.must(b.Parameter("w", f32s(K, 4, 4), nil))
		h0 := g.must(b.DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0}))
		h := h0
		var outs []backends.Op
		for range 4 {
			s := g.must(b.ReduceSum(h, 0, 1, 2)) // whole scalar
			h = g.must(b.Mul(h, g.must(b.BroadcastInDim(s, f32s(K, 4, 4), nil))))
			h = g.must(b.DotGeneral(h, []int{2}, []int{0}, w, []int{1}, []int{0}))
			h = g.must(b.Add(h, h0))
			h = g.must(b.Tanh(h))
			outs = append(outs, s)
		}
		return append(outs, h)
	}})
	if n < 4 {
		t.Errorf("regions %d, want ≥ 4", n)
	}
}

// TestMembersLargeSplitOps: sizes at which the stacked plan splits products (2²¹ flops) and fused
// groups (2¹⁶ elements) over workers while each member's plan does not; exp, erf and logistic on
// lengths that are not multiples of 8; bias adds folded into products; row sums.
func TestMembersLargeSplitOps(t *testing.T) {
	const K = 4
	checkMembers(t, memberCase{seed: 11, build: func(g caseGraph) []backends.Op {
		b := g.b
		x := g.must(b.Parameter("x", f32s(K, 67, 64), nil))
		w := g.must(b.Parameter("w", f32s(K, 64, 67), nil))
		bias := g.must(b.Parameter("bias", f32s(K, 67), nil))
		s := g.must(b.Parameter("s", f32s(), nil))
		y := g.must(b.DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0})) // [K,67,67]
		y = g.must(b.Add(y, g.must(b.BroadcastInDim(bias, f32s(K, 67, 67), []int{0, 2}))))
		e := g.must(b.Exp(g.must(b.Mul(y, g.must(b.BroadcastInDim(s, f32s(K, 67, 67), nil))))))
		er := g.must(b.Erf(y))
		lg := g.must(b.Logistic(g.must(b.Sub(e, er))))
		rsum := g.must(b.ReduceSum(lg, 2))
		y2 := g.must(b.DotGeneral(lg, []int{2}, []int{0}, x, []int{1}, []int{0})) // [K,67,64]
		y2 = g.must(b.Add(y2, g.must(b.BroadcastInDim(s, f32s(K, 67, 64), nil))))
		return []backends.Op{rsum, y2, g.must(b.ReduceSum(e, 1, 2))}
	}})
}

// TestMembersAliasOutputs: outputs of a region that are, in the member plan, views of its
// parameters (Reshape and an identity-like Transpose of a sliced parameter), a broadcast of a
// whole parameter, and a Where on scalar branches.
func TestMembersAliasOutputs(t *testing.T) {
	const K = 3
	checkMembers(t, memberCase{seed: 12, build: func(g caseGraph) []backends.Op {
		b := g.b
		x := g.must(b.Parameter("x", f32s(K, 6), nil))
		w := g.must(b.Parameter("w", f32s(K, 3, 2), nil))
		sh := g.must(b.Parameter("sh", f32s(2), nil))
		r := g.must(b.Reshape(x, K, 2, 3))
		tr := g.must(b.Transpose(r, 0, 1, 2))
		y := g.must(b.DotGeneral(r, []int{2}, []int{0}, w, []int{1}, []int{0})) // [K,2,2]
		bc := g.must(b.BroadcastInDim(sh, f32s(K, 2, 2), []int{2}))
		pos := g.must(b.GreaterThan(y, bc))
		wh := g.must(b.Where(pos, g.must(b.Constant([]float32{1})), g.must(b.Constant([]float32{-1}))))
		tt := g.must(b.Transpose(y, 0, 2, 1))
		return []backends.Op{r, tr, bc, wh, tt, y, r}
	}})
}

// TestMembersRegionIntoRowSum: the members' losses summed whole, and only that sum returned — the
// usual training step's loss. The region's step (op OpTypeInvalid) is the ReduceSum's only
// operand, and fuseIntoRowSums (fuse.go) takes any OpTypeInvalid compute step for a fused group:
// it folds the region into the row sum with the region's (nil) program.
func TestMembersRegionIntoRowSum(t *testing.T) {
	for _, K := range []int{4, 8} {
		t.Run(fmt.Sprint("K=", K), func(t *testing.T) {
			checkMembers(t, memberCase{seed: 13, build: func(g caseGraph) []backends.Op {
				b := g.b
				x := g.must(b.Parameter("x", f32s(K, 5, 4), nil))
				w := g.must(b.Parameter("w", f32s(K, 4, 6), nil))
				y := g.must(b.DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0}))
				per := g.must(b.ReduceSum(g.must(b.Tanh(y)), 1, 2)) // [K], member
				return []backends.Op{g.must(b.ReduceSum(per, 0))}
			}})
		})
	}
}

// TestMembersRegionIntoRowSumWhole: the same with the region's value summed over all its axes.
func TestMembersRegionIntoRowSumWhole(t *testing.T) {
	const K = 4
	checkMembers(t, memberCase{seed: 14, build: func(g caseGraph) []backends.Op {
		b := g.b
		x := g.must(b.Parameter("x", f32s(K, 4, 4), nil))
		w := g.must(b.Parameter("w", f32s(K, 4, 4), nil))
		y := g.must(b.DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0})) // [K,4,4]: 64 values
		return []backends.Op{g.must(b.ReduceSum(y, 0, 1, 2))}
	}})
}
