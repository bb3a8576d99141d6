package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// TestBinaryFast32MatchesScalar: the AVX element-wise kernels give bit-identical results to the Go
// loops (IEEE addition, subtraction, multiplication and division are correctly rounded either way)
// for every length 0..100 (covering the 32-wide, 8-wide and scalar tails), vector and scalar operands.
func TestBinaryFast32MatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, op := range []backends.OpType{backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv} {
		for n := 0; n <= 100; n++ {
			x, y := make([]float32, n), make([]float32, n)
			for i := range x {
				x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())+3
			}
			s := []float32{float32(rng.NormFloat64()) + 3}
			for _, c := range []struct{ a, b []float32 }{{x, y}, {x, s}, {s, y}} {
				got, want := make([]float32, n), make([]float32, n)
				if !binaryFast32(op, got, c.a, c.b) {
					if useAVX2 {
						t.Fatalf("%s n=%d: no fast path", op, n)
					}
					return
				}
				for i := range want {
					a, b := c.a[0], c.b[0]
					if len(c.a) == n {
						a = c.a[i]
					}
					if len(c.b) == n {
						b = c.b[i]
					}
					want[i] = binaryOne(op, a, b)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s n=%d lens %d,%d: element %d got %v want %v", op, n, len(c.a), len(c.b), i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestMicroKernelsAgree: the assembly micro-kernels (packed and strided A) against the pure-Go one
// on random panels, k = 1..40 (chunk boundaries at multiples of 8). FMA rounds once per step where
// the Go kernel rounds twice, so they agree to a few float32 ulps of the sum of |terms|.
func TestMicroKernelsAgree(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2/FMA on this CPU (or built with noasm): only the Go kernel exists")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for k := 1; k <= 40; k++ {
		// A is stored row-major [mr, k] (rs = k, ks = 1); ap is its packed panel.
		a := make([]float32, mr*k)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		ap := make([]float32, k*mr)
		packA(ap, a, matView{rs: k, cs: 1}, mr, k)
		bp := make([]float32, k*nr)
		for i := range bp {
			bp[i] = float32(rng.NormFloat64())
		}
		var want, got, gotS [mr * nr]float32
		microKernelGo(k, ap, bp, &want)
		microKernel32(k, ap, bp, &got)
		if !microKernelStrided32(k, a, k, 1, bp, nr, &gotS) {
			t.Fatal("strided kernel unavailable")
		}
		for i := range want {
			var mag float32
			r, c := i/nr, i%nr
			for kk := range k {
				v := a[r*k+kk] * bp[kk*nr+c]
				if v < 0 {
					v = -v
				}
				mag += v
			}
			tol := 4 * mag * (1.0 / (1 << 23))
			for _, g := range []float32{got[i], gotS[i]} {
				if d := g - want[i]; d > tol || -d > tol {
					t.Fatalf("k=%d element %d: asm %v, Go %v (tol %g)", k, i, g, want[i], tol)
				}
			}
		}
		if got != gotS {
			t.Fatalf("k=%d: packed and strided kernels differ", k)
		}
	}
}

// TestExp32Accuracy: the vector exp against math.Exp rounded to float32, on a grid of 200,001
// points over [-87, 88] and on the special values: at most 2 ulps apart (the polynomial's
// truncation is 6e-9 relative, the float32 Horner evaluation adds about one ulp); +Inf above
// 88.72, 0 below -87.33 and for -Inf, NaN for NaN.
func TestExp32Accuracy(t *testing.T) {
	const n = 200001
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(-87 + 175*float64(i)/(n-1))
	}
	x = append(x, 0, -0, 1, -1, 89, -88, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()))
	out := make([]float32, len(x))
	if !exp32(out, x) {
		t.Skip("no vector exp on this platform")
	}
	worst := 0.0
	for i, v := range x {
		w := float32(math.Exp(float64(v)))
		switch {
		case v != v:
			if out[i] == out[i] {
				t.Fatalf("exp(NaN) = %v", out[i])
			}
			continue
		case v > 88.72 || v < -87.33:
			if want := map[bool]float32{true: float32(math.Inf(1)), false: 0}[v > 0]; out[i] != want {
				t.Fatalf("exp(%v) = %v, want %v", v, out[i], want)
			}
			continue
		}
		ulp := float64(math.Nextafter32(w, float32(math.Inf(1))) - w)
		d := math.Abs(float64(out[i])-float64(w)) / ulp
		worst = math.Max(worst, d)
		if d > 2 {
			t.Fatalf("exp(%v) = %v, want %v (%.1f ulp)", v, out[i], w, d)
		}
	}
	t.Logf("largest error: %.1f ulp", worst)
}

// TestErf32Accuracy: erf32 against math.Erf on 100,001 points over [-6, 6] plus ±0, ±Inf and NaN:
// absolute error at most 5e-7 (Numerical Recipes' bound 1.2e-7 on erfc, plus the float32
// evaluation of the polynomial and of 1 - erfc: measured 3.1e-7 near |x| = 0.18).
func TestErf32Accuracy(t *testing.T) {
	const n = 100001
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(-6 + 12*float64(i)/(n-1))
	}
	x = append(x, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()))
	out := make([]float32, len(x))
	if !erf32(out, x) {
		t.Skip("no vector exp on this platform")
	}
	worst := 0.0
	for i, v := range x {
		w := math.Erf(float64(v))
		if v != v {
			if out[i] == out[i] {
				t.Fatalf("erf(NaN) = %v", out[i])
			}
			continue
		}
		d := math.Abs(float64(out[i]) - w)
		worst = math.Max(worst, d)
		if d > 5e-7 {
			t.Fatalf("erf(%v) = %v, want %v (error %.2g)", v, out[i], w, d)
		}
	}
	t.Logf("largest absolute error: %.2g", worst)
}

// TestFusionMergesChains: a chain of five element-wise ops on one parameter compiles to one
// compute step with fusion and five without, and both give the same values; the fused group is
// large enough (2¹⁷+3 elements, 2 workers) to be split over goroutines.
func TestFusionMergesChains(t *testing.T) {
	const size = 1<<17 + 3
	count := func(cfg string) (int, []float32) {
		be, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b := be.Builder("chain")
		x, _ := b.Parameter("x", shapes.Make(dtypes.Float32, size), nil)
		y, _ := b.Mul(x, x)
		y, _ = b.Neg(y)
		y, _ = b.Exp(y)
		y, _ = b.Add(y, x)
		c, _ := b.Constant([]float32{0.5})
		y, _ = b.Mul(y, c)
		ex, err := b.Compile([]backends.Op{y}, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, st := range ex.(*Executable).steps {
			if st.kind == kindCompute {
				n++
			}
		}
		in := make([]float32, size)
		for i := range in {
			in[i] = float32(i%3000) / 300
		}
		buf, _ := be.BufferFromFlatData(0, in, shapes.Make(dtypes.Float32, size))
		out, err := ex.Execute([]backends.Buffer{buf}, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n, out[0].(*Buffer).flat.([]float32)
	}
	nf, vf := count("workers=2")
	nu, vu := count("nofusion")
	if nf != 1 || nu != 5 {
		t.Fatalf("compute steps: %d fused, %d unfused; want 1 and 5", nf, nu)
	}
	for i := range vf {
		if vf[i] != vu[i] {
			t.Fatalf("element %d: fused %v, unfused %v", i, vf[i], vu[i])
		}
	}
}

// TestWideKernelBitIdentical: products planned with the 32-column AVX-512 kernel equal those planned
// with the 16-column AVX2 kernel bit for bit (the wide kernel performs the same operations on every
// element), for every n from 1 to 70 (full 32-column panels, panels of 17–31 columns, of exactly 16
// and of fewer), k across chunk boundaries, partial row panels, B read in place (row-contiguous) and
// B transposed (packed), and A transposed (read through strides).
func TestWideKernelBitIdentical(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512 on this CPU (or built with noasm): only the 16-column kernel exists")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var pool bufferPool
	for n := 1; n <= 70; n++ {
		for _, k := range []int{1, 7, 8, 9, 16, 33} {
			for _, m := range []int{1, 6, 13} {
				for _, tr := range []struct{ a, b bool }{{false, false}, {true, false}, {false, true}} {
					const batch = 2
					a := make([]float32, batch*m*k+3)
					b := make([]float32, batch*k*n+3)
					for i := range a {
						a[i] = float32(rng.NormFloat64())
					}
					for i := range b {
						b[i] = float32(rng.NormFloat64())
					}
					p := matmulPlan{batch: batch, m: m, n: n, k: k, workers: 1,
						a: matView{bs: m * k, rs: k, cs: 1}, b: matView{bs: k * n, rs: n, cs: 1}, c: matView{bs: m * n, rs: n, cs: 1}}
					if tr.a { // A stored as [batch, k, m]
						p.a = matView{bs: m * k, rs: 1, cs: m}
					}
					if tr.b { // B stored as [batch, n, k]
						p.b = matView{bs: k * n, rs: 1, cs: k}
					}
					wide, narrow := make([]float32, batch*m*n), make([]float32, batch*m*n)
					matmulRun(&p, &pool, wide, a, b, nil)
					p.narrow = true
					matmulRun(&p, &pool, narrow, a, b, nil)
					for bi := range batch { // and both are the product (float64 reference)
						for i := range m {
							for j := range n {
								var sum, abs float64
								for kk := range k {
									x := float64(a[bi*p.a.bs+i*p.a.rs+kk*p.a.cs]) * float64(b[bi*p.b.bs+kk*p.b.rs+j*p.b.cs])
									sum, abs = sum+x, abs+math.Abs(x)
								}
								if got := float64(wide[(bi*m+i)*n+j]); math.Abs(got-sum) > 1e-5*abs+1e-30 {
									t.Fatalf("m=%d n=%d k=%d transposed %+v: C[%d,%d,%d] = %v, want %v", m, n, k, tr, bi, i, j, got, sum)
								}
							}
						}
					}
					for i := range wide {
						if math.Float32bits(wide[i]) != math.Float32bits(narrow[i]) {
							t.Fatalf("m=%d n=%d k=%d transposed %+v: element %d wide %v narrow %v", m, n, k, tr, i, wide[i], narrow[i])
						}
					}
				}
			}
		}
	}
}

// TestDotTransposeFolded: attention's z = pattern · V as GoMLX builds it (a DotGeneral with batch
// axes k, b, h giving [k, b, h, q, d], then a Transpose to [k, b, q, h, d]) plans as one step that
// writes the transposed order directly, reading V's batch axes through an offset table, and gives
// the same numbers as the product followed by a separate transpose (computed here by hand).
func TestDotTransposeFolded(t *testing.T) {
	const K, B, H, T, D = 2, 3, 4, 5, 6
	be, err := New("workers=1,nomembers") // the stacked plan, inspected step by step
	if err != nil {
		t.Fatal(err)
	}
	b := be.Builder("attn")
	pat, _ := b.Parameter("pattern", shapes.Make(dtypes.Float32, K, B, H, T, T), nil)  // [k, b, h, q, s]
	v, _ := b.Parameter("v", shapes.Make(dtypes.Float32, K, B, T, H, D), nil)          // [k, b, s, h, d]
	z, err := b.DotGeneral(pat, []int{4}, []int{0, 1, 2}, v, []int{2}, []int{0, 1, 3}) // [k, b, h, q, d]
	if err != nil {
		t.Fatal(err)
	}
	z, _ = b.Transpose(z, 0, 1, 3, 2, 4) // [k, b, q, h, d]
	ex, err := b.Compile([]backends.Op{z}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, st := range ex.(*Executable).steps {
		if st.kind == kindCompute {
			kinds = append(kinds, st.op.String())
		}
	}
	if len(kinds) != 1 || kinds[0] != backends.OpTypeDotGeneral.String() {
		t.Fatalf("compute steps %v, want one DotGeneral", kinds)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	pv, vv := make([]float32, K*B*H*T*T), make([]float32, K*B*T*H*D)
	for i := range pv {
		pv[i] = float32(rng.NormFloat64())
	}
	for i := range vv {
		vv[i] = float32(rng.NormFloat64())
	}
	pb, _ := be.BufferFromFlatData(0, pv, shapes.Make(dtypes.Float32, K, B, H, T, T))
	vb, _ := be.BufferFromFlatData(0, vv, shapes.Make(dtypes.Float32, K, B, T, H, D))
	out, err := ex.Execute([]backends.Buffer{pb, vb}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := out[0].(*Buffer).flat.([]float32)
	for k := range K {
		for bb := range B {
			for q := range T {
				for h := range H {
					for d := range D {
						var want float64
						for s := range T {
							want += float64(pv[(((k*B+bb)*H+h)*T+q)*T+s]) * float64(vv[(((k*B+bb)*T+s)*H+h)*D+d])
						}
						g := got[(((k*B+bb)*T+q)*H+h)*D+d]
						if math.Abs(float64(g)-want) > 1e-5*(1+math.Abs(want)) {
							t.Fatalf("z[%d,%d,%d,%d,%d] = %v, want %v", k, bb, q, h, d, g, want)
						}
					}
				}
			}
		}
	}
}

// TestDotTransposeFoldedSwapped: a weight gradient as GoMLX builds it, dW = xᵀ·dy with batch axis k
// giving [k, d, f], then a Transpose to [k, f, d]. The transposed order is Cᵀ, so the product is
// planned as dyᵀ·x written row by row: one compute step, the same numbers as by hand.
func TestDotTransposeFoldedSwapped(t *testing.T) {
	const K, N, D, F = 2, 37, 19, 40
	be, err := New("workers=1,nomembers") // the stacked plan, inspected step by step
	if err != nil {
		t.Fatal(err)
	}
	b := be.Builder("dw")
	x, _ := b.Parameter("x", shapes.Make(dtypes.Float32, K, N, D), nil)
	dy, _ := b.Parameter("dy", shapes.Make(dtypes.Float32, K, N, F), nil)
	w, err := b.DotGeneral(x, []int{1}, []int{0}, dy, []int{1}, []int{0}) // [k, d, f]
	if err != nil {
		t.Fatal(err)
	}
	w, _ = b.Transpose(w, 0, 2, 1) // [k, f, d]
	ex, err := b.Compile([]backends.Op{w}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var steps []*step
	for i := range ex.(*Executable).steps {
		if st := &ex.(*Executable).steps[i]; st.kind == kindCompute {
			steps = append(steps, st)
		}
	}
	if len(steps) != 1 || steps[0].dot == nil || !steps[0].dot.swap {
		t.Fatalf("%d compute steps, want one swapped DotGeneral", len(steps))
	}
	rng := rand.New(rand.NewPCG(9, 10))
	xv, dv := make([]float32, K*N*D), make([]float32, K*N*F)
	for i := range xv {
		xv[i] = float32(rng.NormFloat64())
	}
	for i := range dv {
		dv[i] = float32(rng.NormFloat64())
	}
	xb, _ := be.BufferFromFlatData(0, xv, shapes.Make(dtypes.Float32, K, N, D))
	db, _ := be.BufferFromFlatData(0, dv, shapes.Make(dtypes.Float32, K, N, F))
	out, err := ex.Execute([]backends.Buffer{xb, db}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := out[0].(*Buffer).flat.([]float32)
	for k := range K {
		for f := range F {
			for d := range D {
				var want float64
				for n := range N {
					want += float64(xv[(k*N+n)*D+d]) * float64(dv[(k*N+n)*F+f])
				}
				if g := got[(k*F+f)*D+d]; math.Abs(float64(g)-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("dW[%d,%d,%d] = %v, want %v", k, f, d, g, want)
				}
			}
		}
	}
}

// TestFusionExportsSharedMembers: a member read twice inside the group, and a member that is also
// an output and is read by a later op, are computed by the group (one pass) and written to their
// own buffers; the results equal the unfused plan's bit for bit.
func TestFusionExportsSharedMembers(t *testing.T) {
	const size = 3000
	count := func(cfg string) (int, [][]float32) {
		be, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b := be.Builder("shared")
		x, _ := b.Parameter("x", shapes.Make(dtypes.Float32, size), nil)
		sq, _ := b.Mul(x, x)  // read twice inside the group
		e1, _ := b.Exp(sq)    // an output, and read by sum below
		d, _ := b.Sub(e1, sq) // the group's root
		z, _ := b.Add(d, sq)
		red, _ := b.ReduceSum(e1, 0) // a reader after the group
		ex, err := b.Compile([]backends.Op{z, e1, red}, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, st := range ex.(*Executable).steps {
			if st.kind == kindCompute && st.shape.Size() == size {
				n++
			}
		}
		in := make([]float32, size)
		for i := range in {
			in[i] = float32(i%300)/300 - 0.5
		}
		buf, _ := be.BufferFromFlatData(0, in, shapes.Make(dtypes.Float32, size))
		out, err := ex.Execute([]backends.Buffer{buf}, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var vals [][]float32
		for _, o := range out {
			vals = append(vals, o.(*Buffer).flat.([]float32))
		}
		return n, vals
	}
	nf, vf := count("workers=1")
	nu, vu := count("nofusion")
	if nf != 1 || nu != 4 {
		t.Fatalf("full-size compute steps: %d fused, %d unfused; want 1 and 4", nf, nu)
	}
	for o := range vf {
		for i := range vf[o] {
			if math.Float32bits(vf[o][i]) != math.Float32bits(vu[o][i]) {
				t.Fatalf("output %d element %d: fused %v, unfused %v", o, i, vf[o][i], vu[o][i])
			}
		}
	}
}

// TestFusionIntoRowSums: LayerNorm's variance, ReduceSum((x − mean)², last axis), is planned as one
// step that sums each chunk's rows as it computes them (the squared deviations never exist in
// memory), for rows of 64 and of 512 values (the latter split over two workers); a row length that does not divide the chunk (48) keeps
// the product and the sum apart. Results equal the unfused plan's bit for bit.
func TestFusionIntoRowSums(t *testing.T) {
	for _, c := range []struct{ rows, n, want int }{{300, 64, 1}, {200, 512, 1}, {100, 48, 2}} {
		plan := func(cfg string) (int, []float32) {
			be, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			b := be.Builder("var")
			x, _ := b.Parameter("x", shapes.Make(dtypes.Float32, c.rows, c.n), nil)
			m, _ := b.Parameter("mean", shapes.Make(dtypes.Float32, c.rows, 1), nil)
			mb, _ := b.BroadcastInDim(m, shapes.Make(dtypes.Float32, c.rows, c.n), []int{0, 1})
			d, _ := b.Sub(x, mb)
			sq, _ := b.Mul(d, d)
			v, _ := b.ReduceSum(sq, 1)
			ex, err := b.Compile([]backends.Op{v}, nil)
			if err != nil {
				t.Fatal(err)
			}
			steps := 0
			for _, st := range ex.(*Executable).steps {
				if st.kind == kindCompute {
					steps++
				}
			}
			rng := rand.New(rand.NewPCG(uint64(c.n), 1))
			xv, mv := make([]float32, c.rows*c.n), make([]float32, c.rows)
			for i := range xv {
				xv[i] = float32(rng.NormFloat64())
			}
			for i := range mv {
				mv[i] = float32(rng.NormFloat64())
			}
			xb, _ := be.BufferFromFlatData(0, xv, shapes.Make(dtypes.Float32, c.rows, c.n))
			mbuf, _ := be.BufferFromFlatData(0, mv, shapes.Make(dtypes.Float32, c.rows, 1))
			out, err := ex.Execute([]backends.Buffer{xb, mbuf}, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			return steps, out[0].(*Buffer).flat.([]float32)
		}
		nf, vf := plan("workers=2")
		_, vu := plan("nofusion")
		if nf != c.want {
			t.Errorf("rows of %d: %d compute steps, want %d", c.n, nf, c.want)
		}
		for i := range vf {
			if math.Float32bits(vf[i]) != math.Float32bits(vu[i]) {
				t.Fatalf("rows of %d, row %d: fused %v, unfused %v", c.n, i, vf[i], vu[i])
			}
		}
	}
}

// TestDotAddFolded: a bias (broadcast), a residual (whole) and a scalar added to a product are
// folded into the product's stores (one compute step), and every element equals the float32 sum of
// the product, computed alone, and the addend, bit for bit.
func TestDotAddFolded(t *testing.T) {
	const K, M, D, F = 2, 29, 24, 40
	be, err := New("workers=1,nomembers") // the stacked plan, inspected step by step
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	randf := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	xv, wv, bv, rv, sv := randf(K*M*D), randf(K*D*F), randf(K*F), randf(K*M*F), randf(1)
	compile := func(addend string) (*Executable, []backends.Buffer) {
		b := be.Builder("dotadd")
		x, _ := b.Parameter("x", shapes.Make(dtypes.Float32, K, M, D), nil)
		w, _ := b.Parameter("w", shapes.Make(dtypes.Float32, K, D, F), nil)
		y, _ := b.DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0}) // [K, M, F]
		xb, _ := be.BufferFromFlatData(0, xv, shapes.Make(dtypes.Float32, K, M, D))
		wb, _ := be.BufferFromFlatData(0, wv, shapes.Make(dtypes.Float32, K, D, F))
		bufs := []backends.Buffer{xb, wb}
		switch addend {
		case "bias":
			p, _ := b.Parameter("bias", shapes.Make(dtypes.Float32, K, 1, F), nil)
			pb, _ := b.BroadcastInDim(p, shapes.Make(dtypes.Float32, K, M, F), []int{0, 1, 2})
			y, _ = b.Add(y, pb)
			buf, _ := be.BufferFromFlatData(0, bv, shapes.Make(dtypes.Float32, K, 1, F))
			bufs = append(bufs, buf)
		case "residual":
			p, _ := b.Parameter("resid", shapes.Make(dtypes.Float32, K, M, F), nil)
			y, _ = b.Add(p, y)
			buf, _ := be.BufferFromFlatData(0, rv, shapes.Make(dtypes.Float32, K, M, F))
			bufs = append(bufs, buf)
		case "scalar":
			c, _ := b.Constant(sv)
			y, _ = b.Add(y, c)
		}
		ex, err := b.Compile([]backends.Op{y}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ex.(*Executable), bufs
	}
	runFlat := func(ex *Executable, bufs []backends.Buffer) []float32 {
		out, err := ex.Execute(bufs, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		return out[0].(*Buffer).flat.([]float32)
	}
	plain := runFlat(compile(""))
	for _, addend := range []string{"bias", "residual", "scalar"} {
		ex, bufs := compile(addend)
		steps := 0
		for _, st := range ex.steps {
			if st.kind == kindCompute {
				steps++
			}
		}
		if steps != 1 {
			t.Errorf("%s: %d compute steps, want 1 (the product with the addition folded in)", addend, steps)
		}
		got := runFlat(ex, bufs)
		for i := range got {
			k, f := i/(M*F), i%F
			var a float32
			switch addend {
			case "bias":
				a = bv[k*F+f]
			case "residual":
				a = rv[i]
			case "scalar":
				a = sv[0]
			}
			if want := plain[i] + a; math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("%s: element %d = %v, want %v", addend, i, got[i], want)
			}
		}
	}
}

// TestExp32PositionIndependent: exp32 and erf32 give every element the same result whatever its
// position in the slice (the tail past the last multiple of 8 goes through the vector kernels
// too), so that a member's slice of an ensemble's tensor computes the values the whole tensor does.
// Without AVX2 both fall back to math's functions, element by element, and the test checks that.
func TestExp32PositionIndependent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 61)
	for i := range x {
		x[i] = float32(6 * rng.NormFloat64())
	}
	for _, f := range []struct {
		name string
		fn   func(out, x []float32) bool
	}{{"exp32", exp32}, {"erf32", erf32}} {
		whole := make([]float32, len(x))
		if !f.fn(whole, x) {
			t.Skipf("%s: no vector kernel on this CPU", f.name) // nothing position-dependent to check
		}
		for lo := range 9 {
			for hi := lo; hi <= len(x); hi++ {
				part := make([]float32, hi-lo)
				f.fn(part, x[lo:hi])
				for i, v := range part {
					if math.Float32bits(v) != math.Float32bits(whole[lo+i]) {
						t.Fatalf("%s(x[%d]) = %v in x[%d:%d], %v in the whole slice", f.name, lo+i, v, lo, hi, whole[lo+i])
					}
				}
			}
		}
	}
}

// TestFillF32: fillF32 sets every element, for lengths around the 8-lane width, and nothing past
// the slice.
func TestFillF32(t *testing.T) {
	for n := range 41 {
		buf := make([]float32, n+3)
		for i := range buf {
			buf[i] = -1
		}
		fillF32(buf[:n], 2.5)
		for i, v := range buf {
			want := float32(2.5)
			if i >= n {
				want = -1
			}
			if v != want {
				t.Fatalf("n=%d: element %d = %v, want %v", n, i, v, want)
			}
		}
	}
}

// TestReduceRowMaxMin: ReduceMax and ReduceMin over each row (the run kept in a register) give
// the row's extreme, NaN when the row holds a NaN wherever it stands, and the infinities.
func TestReduceRowMaxMin(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	rows := [][]float32{{1, nan, 3, 2, 0}, {-inf, -1, -2, -3, -4}, {5, 4, 3, 2, nan}, {nan, 1, 2, 3, 4}, {0, inf, 2, -inf, 1}}
	wantMax := []float32{nan, -1, nan, nan, inf}
	wantMin := []float32{nan, -inf, nan, nan, -inf}
	be, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(be, "rowmax")
	x, _ := b.Parameter("x", shapes.Make(dtypes.Float32, len(rows), 5), nil)
	mx, _ := b.ReduceMax(x, 1)
	mn, _ := b.ReduceMin(x, 1)
	ex, err := b.Compile([]backends.Op{mx, mn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var flat []float32
	for _, r := range rows {
		flat = append(flat, r...)
	}
	buf, _ := be.BufferFromFlatData(0, flat, shapes.Make(dtypes.Float32, len(rows), 5))
	out, err := ex.Execute([]backends.Buffer{buf}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range [][]float32{wantMax, wantMin} {
		got := out[k].(*Buffer).flat.([]float32)
		for i := range want {
			if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
				t.Errorf("output %d row %d: %v, want %v", k, i, got[i], want[i])
			}
		}
	}
}

// TestWhereMatchesDefinition: Where on float32 (the AVX2 blend) and float64 (the Go loop) picks
// out[i] = c[i] ? a[i] : b[i] exactly, for every length 0..1100 in steps that cross the 8- and
// 16-lane tails and the 512-element chunks, with each operand whole or a scalar, and on slices that
// start at an odd offset of their backing arrays (the kernel loads unaligned). NaN payloads and -0
// travel unchanged (compared by bits).
func TestWhereMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	lengths := []int{0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 511, 512, 513, 1031, 1100}
	for _, n := range lengths {
		c := make([]bool, n+1)[1:]
		x, y := make([]float32, n+3)[3:], make([]float32, n+1)[1:]
		for i := range c {
			c[i] = rng.IntN(2) == 0
			x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		if n > 2 {
			x[1], y[2] = float32(math.NaN()), float32(math.Copysign(0, -1))
		}
		for _, cs := range []struct {
			c    []bool
			a, b []float32
		}{
			{c, x, y}, {c, x, []float32{-1}}, {c, []float32{2}, y}, {[]bool{true}, x, y}, {[]bool{false}, x, y},
		} {
			if n == 0 && (len(cs.a) == 1 || len(cs.b) == 1 || len(cs.c) == 1) {
				continue
			}
			got := make([]float32, n)
			runWhere(got, cs.c, cs.a, cs.b)
			got64 := make([]float64, n)
			runWhere(got64, cs.c, widen(cs.a), widen(cs.b))
			for i := range n {
				ci, ai, bi := cs.c[min(i, len(cs.c)-1)], cs.a[min(i, len(cs.a)-1)], cs.b[min(i, len(cs.b)-1)]
				want := bi
				if ci {
					want = ai
				}
				if math.Float32bits(got[i]) != math.Float32bits(want) || math.Float64bits(got64[i]) != math.Float64bits(float64(want)) {
					t.Fatalf("n=%d lens c %d a %d b %d: element %d got %v/%v want %v", n, len(cs.c), len(cs.a), len(cs.b), i, got[i], got64[i], want)
				}
			}
		}
	}
}

func widen(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// TestRowMax32MatchesLoop: the vector row maximum (a softmax's ReduceMax) gives the Go loop's
// bits for every length 0..100 and lengths past the 16-lane loop, from running maxima -Inf, a
// finite value, +0, -0 and NaN, on rows that hold ties, -Inf (a causal mask), +0 and -0 mixed
// with negatives, and NaNs at random places.
func TestRowMax32MatchesLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	inits := []float32{float32(math.Inf(-1)), -3.5, 0, negZero, nan}
	kinds := []func(i int) float32{
		func(int) float32 { return float32(rng.NormFloat64()) },
		func(int) float32 { return float32(rng.IntN(3)) - 5 }, // ties
		func(i int) float32 { // a masked row: -Inf after a random point
			if rng.IntN(4) == 0 {
				return float32(math.Inf(-1))
			}
			return float32(rng.NormFloat64())
		},
		func(int) float32 { // zeros of both signs among negatives
			switch rng.IntN(3) {
			case 0:
				return 0
			case 1:
				return negZero
			}
			return -float32(rng.ExpFloat64())
		},
		func(int) float32 {
			if rng.IntN(20) == 0 {
				return nan
			}
			return float32(rng.NormFloat64())
		},
	}
	for n := 0; n <= 140; n++ {
		for k, kind := range kinds {
			x := make([]float32, n)
			for i := range x {
				x[i] = kind(i)
			}
			for _, m := range inits {
				got, want := rowMax32(m, x), rowMaxGo(m, x)
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("n=%d kind %d m=%v: got %v (%#x) want %v (%#x)", n, k, m, got, math.Float32bits(got), want, math.Float32bits(want))
				}
			}
		}
	}
}
