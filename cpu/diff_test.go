package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/phaseprobe/phaseprobe/cpu"
)

// The differential tests run every implemented operation on SimpleGo (GoMLX's pure-Go backend, the
// reference) and on this backend, on random shapes that include sizes 0 and 1, broadcasting, and
// the ensemble and head axes of phaseprobe's models, and compare element by element with a
// per-case tolerance |a-b| ≤ tol·max(1, |a|).

func backendsUnderTest(t *testing.T) (ref, ours backends.Backend) {
	t.Helper()
	ref, err := simplego.New("")
	if err != nil {
		t.Fatal(err)
	}
	o, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	return ref, o
}

// randTensor returns a float32 tensor of dims with entries uniform on [lo, hi).
func randTensor(rng *rand.Rand, lo, hi float64, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return tensors.FromFlatDataAndDimensions(x, dims...)
}

func run(t *testing.T, b backends.Backend, fn func([]*Node) []*Node, ins []*tensors.Tensor) []*tensors.Tensor {
	t.Helper()
	e, err := NewExecAny(b, fn)
	if err != nil {
		t.Fatal(err)
	}
	args := make([]any, len(ins))
	for i, x := range ins {
		c, err := x.LocalClone()
		if err != nil {
			t.Fatal(err)
		}
		args[i] = c
	}
	out, err := e.Exec(args...)
	if err != nil {
		t.Fatalf("%s: %v", b.Name(), err)
	}
	return out
}

// asFloat64 returns a tensor's values as float64s.
func asFloat64(t *testing.T, x *tensors.Tensor) []float64 {
	t.Helper()
	var out []float64
	add := func(v float64) { out = append(out, v) }
	switch x.DType() {
	case dtypes.Float32:
		for _, v := range tensors.MustCopyFlatData[float32](x) {
			add(float64(v))
		}
	case dtypes.Float64:
		out = tensors.MustCopyFlatData[float64](x)
	case dtypes.Int32:
		for _, v := range tensors.MustCopyFlatData[int32](x) {
			add(float64(v))
		}
	case dtypes.Int64:
		for _, v := range tensors.MustCopyFlatData[int64](x) {
			add(float64(v))
		}
	case dtypes.Bool:
		for _, v := range tensors.MustCopyFlatData[bool](x) {
			if v {
				add(1)
			} else {
				add(0)
			}
		}
	default:
		t.Fatalf("dtype %s", x.DType())
	}
	return out
}

type opCase struct {
	name string
	// f64 also runs the case in float64 on SimpleGo and asserts that this backend's float32
	// root-mean-square error against it is at most 2 times SimpleGo's own (matrix products,
	// where both backends round differently and neither is the truth).
	f64 bool
	tol float64 // relative, see above
	// make draws the inputs for one trial.
	make func(rng *rand.Rand) []*tensors.Tensor
	fn   func(in []*Node) []*Node
}

// dimsFrom draws n dimensions from choices.
func dimsFrom(rng *rand.Rand, n int, choices ...int) []int {
	d := make([]int, n)
	for i := range d {
		d[i] = choices[rng.IntN(len(choices))]
	}
	return d
}

func one(f func(x *Node) *Node) func([]*Node) []*Node {
	return func(in []*Node) []*Node { return []*Node{f(in[0])} }
}

func two(f func(x, y *Node) *Node) func([]*Node) []*Node {
	return func(in []*Node) []*Node { return []*Node{f(in[0], in[1])} }
}

func unaryCase(name string, tol, lo, hi float64, f func(*Node) *Node) opCase {
	return opCase{name, false, tol, func(rng *rand.Rand) []*tensors.Tensor {
		return []*tensors.Tensor{randTensor(rng, lo, hi, dimsFrom(rng, 1+rng.IntN(3), 0, 1, 2, 5, 17)...)}
	}, one(f)}
}

// broadcastPair draws x of rank 3 and y of the same rank with some axes of size 1, or a scalar.
func broadcastPair(rng *rand.Rand, lo, hi float64) []*tensors.Tensor {
	d := dimsFrom(rng, 3, 0, 1, 3, 8)
	e := make([]int, 3)
	for i := range e {
		e[i] = d[i]
		if rng.IntN(3) == 0 {
			e[i] = 1
		}
	}
	x := randTensor(rng, lo, hi, d...)
	switch rng.IntN(4) {
	case 0:
		return []*tensors.Tensor{x, randTensor(rng, lo, hi)}
	case 1:
		return []*tensors.Tensor{randTensor(rng, lo, hi, e...), x}
	}
	return []*tensors.Tensor{x, randTensor(rng, lo, hi, e...)}
}

func binaryCase(name string, tol, lo, hi float64, f func(x, y *Node) *Node) opCase {
	return opCase{name, false, tol, func(rng *rand.Rand) []*tensors.Tensor { return broadcastPair(rng, lo, hi) }, two(f)}
}

// einsumCase multiplies operands of the given shapes (drawn per trial) with an Einsum equation and
// also returns the gradient of the sum of squares of the product with respect to both operands.
//
// tol is relative to max(1, |value|); a sum of k float32 products in another order differs by up
// to about k·2⁻²⁴ times the sum of the terms' magnitudes, so the tolerance grows with k.
func einsumCase(eq string, tol float64, shapes func(rng *rand.Rand) ([]int, []int)) opCase {
	return opCase{"Einsum " + eq, true, tol, func(rng *rand.Rand) []*tensors.Tensor {
		a, b := shapes(rng)
		return []*tensors.Tensor{randTensor(rng, -1, 1, a...), randTensor(rng, -1, 1, b...)}
	}, func(in []*Node) []*Node {
		y := Einsum(eq, in[0], in[1])
		g := Gradient(ReduceAllSum(Square(y)), in[0], in[1])
		return []*Node{y, g[0], g[1]}
	}}
}

func opCases() []opCase {
	pos := func(rng *rand.Rand) []*tensors.Tensor {
		return []*tensors.Tensor{randTensor(rng, 0.1, 4, dimsFrom(rng, 2, 0, 1, 3, 9)...)}
	}
	cases := []opCase{
		unaryCase("Neg", 0, -3, 3, Neg),
		unaryCase("Abs", 0, -3, 3, Abs),
		unaryCase("Exp", 1e-6, -5, 5, Exp),
		unaryCase("Tanh", 1e-6, -5, 5, Tanh),
		unaryCase("Erf", 1e-6, -3, 3, Erf),
		unaryCase("Sigmoid", 1e-6, -8, 8, Sigmoid),
		unaryCase("Sign", 0, -3, 3, Sign),
		unaryCase("Square", 0, -3, 3, Square),
		unaryCase("Floor", 0, -3, 3, Floor),
		{"Log", false, 1e-6, pos, one(Log)},
		{"Sqrt", false, 1e-6, pos, one(Sqrt)},
		{"Rsqrt", false, 1e-6, pos, one(Rsqrt)},
		binaryCase("Add", 0, -2, 2, Add),
		binaryCase("Sub", 0, -2, 2, Sub),
		binaryCase("Mul", 0, -2, 2, Mul),
		binaryCase("Div", 1e-7, 0.5, 2, Div),
		binaryCase("Max", 0, -2, 2, Max),
		binaryCase("Min", 0, -2, 2, Min),
		binaryCase("Pow", 1e-6, 0.5, 2, Pow),
		binaryCase("LessThan", 0, -2, 2, LessThan),
		binaryCase("GreaterOrEqual", 0, -2, 2, GreaterOrEqual),
		binaryCase("Equal", 0, -2, 2, func(x, y *Node) *Node { return Equal(Round(x), Round(y)) }),
		// SimpleGo's Where panics on empty operands, so this case draws non-empty ones.
		{"Where", false, 0, func(rng *rand.Rand) []*tensors.Tensor {
			for {
				if in := broadcastPair(rng, -2, 2); in[0].Shape().Size() > 0 && in[1].Shape().Size() > 0 {
					return in
				}
			}
		}, func(in []*Node) []*Node {
			x, y := in[0], in[1]
			d := Sub(x, y) // full shape; Where's branches are of the output's shape or scalars
			c := GreaterThan(x, y)
			return []*Node{Where(c, d, Neg(d)), Where(c, d, Scalar(x.Graph(), dtypes.Float32, 0.5))}
		}},
		{"ReduceSum/Max/Min over random axes", false, 1e-6, func(rng *rand.Rand) []*tensors.Tensor {
			return []*tensors.Tensor{randTensor(rng, -2, 2, dimsFrom(rng, 3, 1, 2, 4, 7)...)}
		}, func(in []*Node) []*Node {
			return []*Node{ReduceSum(in[0], 1), ReduceSum(in[0], 0, 2), ReduceAllSum(in[0]),
				ReduceMax(in[0], 2), ReduceMin(in[0], 0), ReduceMax(in[0], 0, 1)}
		}},
		{"Transpose rank 4", false, 0, func(rng *rand.Rand) []*tensors.Tensor {
			return []*tensors.Tensor{randTensor(rng, -2, 2, dimsFrom(rng, 4, 1, 2, 3, 5)...)}
		}, func(in []*Node) []*Node {
			return []*Node{TransposeAllDims(in[0], 2, 0, 3, 1), TransposeAllDims(in[0], 0, 2, 1, 3), Transpose(in[0], 1, 3)}
		}},
		{"BroadcastToDims and ExpandAxes", false, 0, func(rng *rand.Rand) []*tensors.Tensor {
			return []*tensors.Tensor{randTensor(rng, -2, 2, dimsFrom(rng, 2, 0, 1, 3)...)}
		}, func(in []*Node) []*Node {
			x := ExpandAxes(in[0], 0, -1) // [1, a, b, 1]
			d := x.Shape().Dimensions
			return []*Node{BroadcastToDims(x, 4, d[1], d[2], 3), BroadcastPrefix(in[0], 2)}
		}},
		{"Slice with strides", false, 0, func(rng *rand.Rand) []*tensors.Tensor {
			return []*tensors.Tensor{randTensor(rng, -2, 2, 1+rng.IntN(6), 1+rng.IntN(6), 4)}
		}, func(in []*Node) []*Node {
			d := in[0].Shape().Dimensions
			return []*Node{Slice(in[0], AxisRange(0, d[0]).Stride(2), AxisRange(d[1]/2), AxisElem(3)),
				Slice(in[0], AxisRange(), AxisRange(0, 0), AxisRange())}
		}},
		// SimpleGo's Concatenate panics on empty operands: non-empty ones here.
		{"Concatenate", false, 0, func(rng *rand.Rand) []*tensors.Tensor {
			a, c := 1+rng.IntN(3), 1+rng.IntN(3)
			return []*tensors.Tensor{randTensor(rng, -2, 2, a, 1+rng.IntN(4), c), randTensor(rng, -2, 2, a, 1+rng.IntN(4), c)}
		}, func(in []*Node) []*Node {
			return []*Node{Concatenate(in, 1), Concatenate([]*Node{in[0], in[0]}, 0)}
		}},
		{"Iota, ConvertDType, OneHot, ArgMax", false, 0, func(rng *rand.Rand) []*tensors.Tensor {
			return []*tensors.Tensor{randTensor(rng, 0, 7.99, dimsFrom(rng, 2, 1, 2, 5)...)}
		}, func(in []*Node) []*Node {
			ids := ConvertDType(in[0], dtypes.Int32)
			d := in[0].Shape().Dimensions
			return []*Node{ids, OneHot(ids, 8, dtypes.Float32), ArgMax(in[0], 1), ArgMin(in[0], 0),
				Iota(in[0].Graph(), shapes.Make(dtypes.Int64, d[0], 3, d[1]), 1),
				ConvertDType(ConvertDType(in[0], dtypes.Float64), dtypes.Float32)}
		}},
		{"Softmax, LogSoftmax and their gradients", false, 1e-6, func(rng *rand.Rand) []*tensors.Tensor {
			return []*tensors.Tensor{randTensor(rng, -4, 4, dimsFrom(rng, 3, 1, 2, 8)...)}
		}, func(in []*Node) []*Node {
			s, l := Softmax(in[0], -1), LogSoftmax(in[0], -1)
			g := Gradient(ReduceAllSum(Mul(s, l)), in[0])
			return []*Node{s, l, g[0]}
		}},
		{"Gather (embedding lookup) and its gradient (ScatterSum)", false, 1e-6, func(rng *rand.Rand) []*tensors.Tensor {
			v, d := 1+rng.IntN(9), 1+rng.IntN(5)
			n := []int{0, 1, 6}[rng.IntN(3)]
			idx := make([]float32, 2*n)
			for i := range idx {
				idx[i] = float32(rng.IntN(v))
			}
			return []*tensors.Tensor{randTensor(rng, -1, 1, v, d), tensors.FromFlatDataAndDimensions(idx, 2, n, 1)}
		}, func(in []*Node) []*Node {
			idx := ConvertDType(in[1], dtypes.Int32)
			y := Gather(in[0], idx) // [2, n, d]
			g := Gradient(ReduceAllSum(Mul(y, y)), in[0])
			return []*Node{y, g[0]}
		}},
		einsumCase("bd,df->bf", 1e-5, func(rng *rand.Rand) ([]int, []int) {
			b, d, f := dimsFrom(rng, 1, 0, 1, 5, 33)[0], dimsFrom(rng, 1, 0, 1, 4, 40)[0], dimsFrom(rng, 1, 1, 7, 20)[0]
			return []int{b, d}, []int{d, f}
		}),
		// Ensemble axis k, as in every phaseprobe weight product.
		einsumCase("kbtd,kdf->kbtf", 1e-5, func(rng *rand.Rand) ([]int, []int) {
			k, b, t, d, f := 1+rng.IntN(3), 1+rng.IntN(4), 1+rng.IntN(9), 1+rng.IntN(20), 1+rng.IntN(24)
			return []int{k, b, t, d}, []int{k, d, f}
		}),
		// Ensemble and head axes: the attention scores and the pattern-value product.
		einsumCase("kbqhd,kbshd->kbhqs", 1e-5, func(rng *rand.Rand) ([]int, []int) {
			k, b, q, h, d := 1+rng.IntN(2), 1+rng.IntN(3), 1+rng.IntN(9), 1+rng.IntN(3), 1+rng.IntN(9)
			return []int{k, b, q, h, d}, []int{k, b, q, h, d}
		}),
		einsumCase("kbhqs,kbshd->kbqhd", 1e-5, func(rng *rand.Rand) ([]int, []int) {
			k, b, q, h, d := 1+rng.IntN(2), 1+rng.IntN(3), 1+rng.IntN(9), 1+rng.IntN(3), 1+rng.IntN(9)
			return []int{k, b, h, q, q}, []int{k, b, q, h, d}
		}),
		einsumCase("khdm,kbthd->kbtm", 1e-5, func(rng *rand.Rand) ([]int, []int) {
			k, h, d, m, b, t := 1+rng.IntN(2), 1+rng.IntN(3), 1+rng.IntN(8), 1+rng.IntN(40), 1+rng.IntN(3), 1+rng.IntN(9)
			return []int{k, h, d, m}, []int{k, b, t, h, d}
		}),
		// A product large enough to be split over workers (≥ 2²¹ flops), like a d_model 64 MLP layer.
		einsumCase("kbd,kdf->kbf", 1e-3, func(rng *rand.Rand) ([]int, []int) {
			return []int{2, 150 + rng.IntN(50), 64}, []int{2, 64, 256}
		}),
		// (Last, so that the earlier cases' random draws stay as they were.)
		// The attention mask: a [q, s] condition and a scalar fill, both broadcast to the scores' shape
		// (read in place through their broadcast layouts).
		{"Where with broadcast operands", false, 0, func(rng *rand.Rand) []*tensors.Tensor {
			return []*tensors.Tensor{randTensor(rng, -2, 2, 1+rng.IntN(3), 2, 1+rng.IntN(40), 1+rng.IntN(40))}
		}, func(in []*Node) []*Node {
			x := in[0]
			dims := x.Shape().Dimensions
			q, s := dims[2], dims[3]
			g := x.Graph()
			mask := GreaterOrEqual(Iota(g, shapes.Make(dtypes.Int32, q, s), 0), Iota(g, shapes.Make(dtypes.Int32, q, s), 1))
			full := BroadcastPrefix(mask, dims[:2]...)
			fill := BroadcastToDims(Scalar(g, dtypes.Float32, -1e9), dims...)
			return []*Node{Where(full, x, fill), Where(full, fill, Neg(x))}
		}},
	}
	return cases
}

func TestOpsMatchSimpleGo(t *testing.T) {
	ref, ours := backendsUnderTest(t)
	rng := rand.New(rand.NewPCG(11, 0))
	const trials = 6
	for _, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			for trial := range trials {
				ins := c.make(rng)
				if hasEmpty(ins) {
					// SimpleGo v0.26.0 panics on most ops with an empty operand, so there is no
					// reference: the empty trial must run, and its outputs must have a size that
					// agrees with their shape (the values of empty outputs do not exist).
					for o, x := range run(t, ours, c.fn, ins) {
						if n := len(asFloat64(t, x)); n != x.Shape().Size() {
							t.Fatalf("trial %d output %d: %d values for shape %s", trial, o, n, x.Shape())
						}
					}
					continue
				}
				want := run(t, ref, c.fn, ins)
				got := run(t, ours, c.fn, ins)
				if c.f64 {
					checkAgainstFloat64(t, ref, c.fn, ins, want, got)
				}
				for o := range want {
					if !want[o].Shape().Equal(got[o].Shape()) {
						t.Fatalf("trial %d output %d: shape %s, want %s", trial, o, got[o].Shape(), want[o].Shape())
					}
					w, g := asFloat64(t, want[o]), asFloat64(t, got[o])
					for i := range w {
						if d := math.Abs(w[i] - g[i]); d > c.tol*math.Max(1, math.Abs(w[i])) || math.IsNaN(g[i]) != math.IsNaN(w[i]) {
							t.Fatalf("trial %d output %d %s, element %d: got %g, want %g (inputs %s)", trial, o,
								want[o].Shape(), i, g[i], w[i], shapesOf(ins))
						}
					}
				}
			}
		})
	}
}

func hasEmpty(ts []*tensors.Tensor) bool {
	for _, x := range ts {
		if x.Shape().Size() == 0 {
			return true
		}
	}
	return false
}

func shapesOf(ts []*tensors.Tensor) string {
	var s []string
	for _, x := range ts {
		s = append(s, x.Shape().String())
	}
	return strings.Join(s, ", ")
}

// TestUnimplementedOpNamesItself checks that an operation outside the implemented set fails with
// an error that names it, at build time.
func TestUnimplementedOpNamesItself(t *testing.T) {
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	bl := b.Builder("t")
	x, err := bl.Parameter("x", shapes.Make(dtypes.Int32, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() (backends.Op, error){
		"Clz":      func() (backends.Op, error) { return bl.Clz(x) },
		"BitCount": func() (backends.Op, error) { return bl.BitCount(x) },
		"Reverse":  func() (backends.Op, error) { return bl.Reverse(x, 0) },
	} {
		_, err := call()
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v does not name the op", name, err)
		}
	}
	_ = fmt.Sprint()
}

// TestReduceOfEmpty checks sums over an empty axis against their closed form, 0, and the maximum
// against -Inf (the identity of max); SimpleGo cannot be the reference there.
func TestReduceOfEmpty(t *testing.T) {
	_, ours := backendsUnderTest(t)
	x := tensors.FromFlatDataAndDimensions([]float32{}, 3, 0, 2)
	out := run(t, ours, func(in []*Node) []*Node {
		return []*Node{ReduceSum(in[0], 1), ReduceAllSum(in[0]), ReduceMax(in[0], 1)}
	}, []*tensors.Tensor{x})
	for o, want := range []float64{0, 0, math.Inf(-1)} {
		v := asFloat64(t, out[o])
		if len(v) != out[o].Shape().Size() || (o == 0 && len(v) != 6) {
			t.Fatalf("output %d: %d values for %s", o, len(v), out[o].Shape())
		}
		for _, x := range v {
			if x != want {
				t.Fatalf("output %d: got %g, want %g", o, x, want)
			}
		}
	}
}

func toFloat64Tensor(t *testing.T, x *tensors.Tensor) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(asFloat64(t, x), x.Shape().Dimensions...)
}

func rms(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s / float64(max(1, len(a))))
}

func checkAgainstFloat64(t *testing.T, ref backends.Backend, fn func([]*Node) []*Node, ins, want, got []*tensors.Tensor) {
	t.Helper()
	in64 := make([]*tensors.Tensor, len(ins))
	for i, x := range ins {
		in64[i] = toFloat64Tensor(t, x)
	}
	truth := run(t, ref, fn, in64)
	for o := range truth {
		tr := asFloat64(t, truth[o])
		eRef, eOurs := rms(asFloat64(t, want[o]), tr), rms(asFloat64(t, got[o]), tr)
		if eOurs > 2*eRef+1e-9 {
			t.Fatalf("output %d: RMS error against float64 %.3g, SimpleGo's %.3g", o, eOurs, eRef)
		}
	}
}
