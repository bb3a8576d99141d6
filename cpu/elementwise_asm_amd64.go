//go:build !noasm && !purego

package cpu

import "github.com/gomlx/gomlx/backends"

//go:noescape
func addVV32(out, x []float32, y []float32)

//go:noescape
func addVS32(out, x []float32, s float32)

//go:noescape
func subVV32(out, x []float32, y []float32)

//go:noescape
func subVS32(out, x []float32, s float32)

//go:noescape
func subSV32(out, x []float32, s float32)

//go:noescape
func mulVV32(out, x []float32, y []float32)

//go:noescape
func mulVS32(out, x []float32, s float32)

//go:noescape
func divVV32(out, x []float32, y []float32)

//go:noescape
func divVS32(out, x []float32, s float32)

//go:noescape
func divSV32(out, x []float32, s float32)

//go:noescape
func fill32(out []float32, v float32)

// fillF32 sets every element of out to v.
func fillF32(out []float32, v float32) {
	if !useAVX2 {
		for i := range out {
			out[i] = v
		}
		return
	}
	fill32(out, v)
}

// binaryFast32 runs Add, Sub, Mul and Div on float32 with AVX; false when it cannot.
func binaryFast32(op backends.OpType, out, x, y []float32) bool {
	if !useAVX2 {
		return false
	}
	n := len(out)
	switch {
	case len(x) == n && len(y) == n:
		switch op {
		case backends.OpTypeAdd:
			addVV32(out, x, y)
		case backends.OpTypeSub:
			subVV32(out, x, y)
		case backends.OpTypeMul:
			mulVV32(out, x, y)
		case backends.OpTypeDiv:
			divVV32(out, x, y)
		default:
			return false
		}
	case len(x) == n && len(y) == 1:
		switch op {
		case backends.OpTypeAdd:
			addVS32(out, x, y[0])
		case backends.OpTypeSub:
			subVS32(out, x, y[0])
		case backends.OpTypeMul:
			mulVS32(out, x, y[0])
		case backends.OpTypeDiv:
			divVS32(out, x, y[0])
		default:
			return false
		}
	case len(x) == 1 && len(y) == n:
		switch op {
		case backends.OpTypeAdd:
			addVS32(out, y, x[0])
		case backends.OpTypeSub:
			subSV32(out, y, x[0])
		case backends.OpTypeMul:
			mulVS32(out, y, x[0])
		case backends.OpTypeDiv:
			divSV32(out, y, x[0])
		default:
			return false
		}
	default:
		return false
	}
	return true
}

//go:noescape
func where32(out []float32, c []bool, a, b []float32)

// whereFull32 is whereFull for float32, 8 lanes at a time with AVX2.
func whereFull32(out []float32, c []bool, a, b []float32) {
	n := len(out)
	if !useAVX2 || len(c) < n || len(a) < n || len(b) < n {
		whereFull(out, c, a, b)
		return
	}
	where32(out, c, a, b)
	v := n &^ 7
	whereFull(out[v:], c[v:n], a[v:n], b[v:n])
}

//go:noescape
func maxRun32(x []float32) (m float32, unordered bool)

// rowMax32 is max(m, max(x)) with the Go loop's semantics (a NaN wins; among equal values the
// first is kept), 8 lanes at a time with AVX2 where that gives the same bits: when no element of
// the vector part is NaN, m is not NaN, and neither that part's maximum nor m is zero (equal
// non-zero floats have equal bits; +0 and -0 are equal but differ), else by the loop.
func rowMax32(m float32, x []float32) float32 {
	if useAVX2 && len(x) >= 16 && m != 0 && m == m {
		if v, nan := maxRun32(x); !nan && v != 0 {
			m = max(m, v) // neither is NaN or zero here
			return rowMaxGo(m, x[len(x)&^7:])
		}
	}
	return rowMaxGo(m, x)
}
