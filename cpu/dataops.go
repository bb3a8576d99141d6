package cpu

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
)

// copyStrided is gatherCopy on flat slices of any supported type.
func copyStrided(dst, src any, l layout) {
	switch d := dst.(type) {
	case []float32:
		gatherCopy(d, src.([]float32), l)
	case []float64:
		gatherCopy(d, src.([]float64), l)
	case []int8:
		gatherCopy(d, src.([]int8), l)
	case []int16:
		gatherCopy(d, src.([]int16), l)
	case []int32:
		gatherCopy(d, src.([]int32), l)
	case []int64:
		gatherCopy(d, src.([]int64), l)
	case []uint8:
		gatherCopy(d, src.([]uint8), l)
	case []uint16:
		gatherCopy(d, src.([]uint16), l)
	case []uint32:
		gatherCopy(d, src.([]uint32), l)
	case []uint64:
		gatherCopy(d, src.([]uint64), l)
	case []bool:
		gatherCopy(d, src.([]bool), l)
	default:
		panic(fmt.Sprintf("cpu: copy of %T", dst))
	}
}

// copyFlat copies src into dst (same type); it returns the number of elements copied.
func copyFlat(dst, src any) {
	copyStrided(dst, src, newLayout([]int{flatLen(src)}, []int{1}, 0))
}

// reduceInit returns the identity of a reduction for type T.
func reduceInit[T number](op backends.OpType) T {
	switch op {
	case backends.OpTypeReduceSum:
		return 0
	case backends.OpTypeReduceProduct:
		return 1
	case backends.OpTypeReduceMax:
		return lowest[T]()
	case backends.OpTypeReduceMin:
		return highest[T]()
	}
	panic(fmt.Sprintf("cpu: reduction %s", op))
}

// lowest is -Inf for floats and the smallest value of an integer type.
func lowest[T number]() T {
	var z T
	var v any
	switch any(z).(type) {
	case float32:
		v = float32(math.Inf(-1))
	case float64:
		v = math.Inf(-1)
	case int8:
		v = int8(math.MinInt8)
	case int16:
		v = int16(math.MinInt16)
	case int32:
		v = int32(math.MinInt32)
	case int64:
		v = int64(math.MinInt64)
	default:
		return 0 // unsigned
	}
	return v.(T)
}

// highest is +Inf for floats and the largest value of an integer type.
func highest[T number]() T {
	var z T
	var v any
	switch any(z).(type) {
	case float32:
		v = float32(math.Inf(1))
	case float64:
		v = math.Inf(1)
	case int8:
		v = int8(math.MaxInt8)
	case int16:
		v = int16(math.MaxInt16)
	case int32:
		v = int32(math.MaxInt32)
	case int64:
		v = int64(math.MaxInt64)
	case uint8:
		v = uint8(math.MaxUint8)
	case uint16:
		v = uint16(math.MaxUint16)
	case uint32:
		v = uint32(math.MaxUint32)
	case uint64:
		v = uint64(math.MaxUint64)
	}
	return v.(T)
}

// reduce folds in (row-major over l's index space) into out at l's offsets.
func reduce[T number](op backends.OpType, out, in []T, l layout) {
	init := reduceInit[T](op)
	for i := range out {
		out[i] = init
	}
	walk(l, func(o, p, n, s int) {
		src := in[o : o+n]
		switch op {
		case backends.OpTypeReduceSum:
			if s == 0 {
				out[p] += sumRun(src)
				return
			}
			if s == 1 {
				addInPlace(out[p:p+n], src)
				return
			}
			for j, v := range src {
				out[p+j*s] += v
			}
		case backends.OpTypeReduceProduct:
			for j, v := range src {
				out[p+j*s] *= v
			}
		case backends.OpTypeReduceMax:
			if s == 0 { // a run reduced into one element (a softmax's row maximum): kept in a register
				if o32, ok := any(out).([]float32); ok {
					o32[p] = rowMax32(o32[p], any(src).([]float32))
					return
				}
				out[p] = rowMaxGo(out[p], src)
				return
			}
			for j, v := range src {
				if q := p + j*s; v > out[q] || v != v {
					out[q] = v
				}
			}
		case backends.OpTypeReduceMin:
			if s == 0 {
				m := out[p]
				for _, v := range src {
					if v < m || v != v {
						m = v
					}
				}
				out[p] = m
				return
			}
			for j, v := range src {
				if q := p + j*s; v < out[q] || v != v {
					out[q] = v
				}
			}
		}
	})
}

// rowMaxGo is the largest of m and the elements of x, in order: a NaN replaces the running
// maximum (so the last NaN wins), and a value equal to it does not (so the first of +0 and -0 does).
func rowMaxGo[T number](m T, x []T) T {
	for _, v := range x {
		if v > m || v != v {
			m = v
		}
	}
	return m
}

func runReduce(op backends.OpType, out, in any, l layout) {
	switch o := out.(type) {
	case []float32:
		reduce(op, o, in.([]float32), l)
	case []float64:
		reduce(op, o, in.([]float64), l)
	case []int8:
		reduce(op, o, in.([]int8), l)
	case []int16:
		reduce(op, o, in.([]int16), l)
	case []int32:
		reduce(op, o, in.([]int32), l)
	case []int64:
		reduce(op, o, in.([]int64), l)
	case []uint8:
		reduce(op, o, in.([]uint8), l)
	case []uint16:
		reduce(op, o, in.([]uint16), l)
	case []uint32:
		reduce(op, o, in.([]uint32), l)
	case []uint64:
		reduce(op, o, in.([]uint64), l)
	default:
		panic(fmt.Sprintf("cpu: %s of %T", op, out))
	}
}

func iotaFill[T number](out []T, inner, dim int) {
	if dim == 0 {
		return
	}
	for i := range out {
		out[i] = T((i / inner) % dim)
	}
}

func runIota(out any, inner, dim int) {
	switch o := out.(type) {
	case []float32:
		iotaFill(o, inner, dim)
	case []float64:
		iotaFill(o, inner, dim)
	case []int8:
		iotaFill(o, inner, dim)
	case []int16:
		iotaFill(o, inner, dim)
	case []int32:
		iotaFill(o, inner, dim)
	case []int64:
		iotaFill(o, inner, dim)
	case []uint8:
		iotaFill(o, inner, dim)
	case []uint16:
		iotaFill(o, inner, dim)
	case []uint32:
		iotaFill(o, inner, dim)
	case []uint64:
		iotaFill(o, inner, dim)
	default:
		panic(fmt.Sprintf("cpu: Iota of %T", out))
	}
}

func convertTo[S, D number](dst []D, src []S) {
	for i, v := range src[:len(dst)] {
		dst[i] = D(v)
	}
}

func convertFrom[S number](dst any, src []S) {
	switch d := dst.(type) {
	case []float32:
		convertTo(d, src)
	case []float64:
		convertTo(d, src)
	case []int8:
		convertTo(d, src)
	case []int16:
		convertTo(d, src)
	case []int32:
		convertTo(d, src)
	case []int64:
		convertTo(d, src)
	case []uint8:
		convertTo(d, src)
	case []uint16:
		convertTo(d, src)
	case []uint32:
		convertTo(d, src)
	case []uint64:
		convertTo(d, src)
	case []bool:
		for i, v := range src[:len(d)] {
			d[i] = v != 0
		}
	default:
		panic(fmt.Sprintf("cpu: ConvertDType to %T", dst))
	}
}

func boolTo[D number](dst []D, src []bool) {
	for i, v := range src[:len(dst)] {
		if v {
			dst[i] = 1
		} else {
			dst[i] = 0
		}
	}
}

func runConvert(dst, src any) {
	switch s := src.(type) {
	case []float32:
		convertFrom(dst, s)
	case []float64:
		convertFrom(dst, s)
	case []int8:
		convertFrom(dst, s)
	case []int16:
		convertFrom(dst, s)
	case []int32:
		convertFrom(dst, s)
	case []int64:
		convertFrom(dst, s)
	case []uint8:
		convertFrom(dst, s)
	case []uint16:
		convertFrom(dst, s)
	case []uint32:
		convertFrom(dst, s)
	case []uint64:
		convertFrom(dst, s)
	case []bool:
		switch d := dst.(type) {
		case []bool:
			copy(d, s)
		case []float32:
			boolTo(d, s)
		case []float64:
			boolTo(d, s)
		case []int8:
			boolTo(d, s)
		case []int16:
			boolTo(d, s)
		case []int32:
			boolTo(d, s)
		case []int64:
			boolTo(d, s)
		case []uint8:
			boolTo(d, s)
		case []uint16:
			boolTo(d, s)
		case []uint32:
			boolTo(d, s)
		case []uint64:
			boolTo(d, s)
		}
	default:
		panic(fmt.Sprintf("cpu: ConvertDType from %T", src))
	}
}

// toInts reads an integer flat slice as ints.
func toInts(x any) []int {
	switch s := x.(type) {
	case []int8:
		return intsOf(s)
	case []int16:
		return intsOf(s)
	case []int32:
		return intsOf(s)
	case []int64:
		return intsOf(s)
	case []uint8:
		return intsOf(s)
	case []uint16:
		return intsOf(s)
	case []uint32:
		return intsOf(s)
	case []uint64:
		return intsOf(s)
	}
	panic(fmt.Sprintf("cpu: indices of type %T", x))
}

func intsOf[T integer](s []T) []int {
	out := make([]int, len(s))
	for i, v := range s {
		out[i] = int(v)
	}
	return out
}

func argMinMax[T number](out []int64, x []T, outer, dim, inner int, isMin bool) {
	for o := range outer {
		for in := range inner {
			best, bi := T(0), 0
			for d := range dim {
				v := x[(o*dim+d)*inner+in]
				if d == 0 {
					best = v
					continue
				}
				if best != best {
					break
				}
				if v != v || (isMin && v < best) || (!isMin && v > best) {
					best, bi = v, d
				}
			}
			out[o*inner+in] = int64(bi)
		}
	}
}

func runArgMinMax(x any, outer, dim, inner int, isMin bool) []int64 {
	out := make([]int64, outer*inner)
	switch s := x.(type) {
	case []float32:
		argMinMax(out, s, outer, dim, inner, isMin)
	case []float64:
		argMinMax(out, s, outer, dim, inner, isMin)
	case []int32:
		argMinMax(out, s, outer, dim, inner, isMin)
	case []int64:
		argMinMax(out, s, outer, dim, inner, isMin)
	default:
		panic(fmt.Sprintf("cpu: ArgMinMax of %T", x))
	}
	return out
}

// sumRun sums a contiguous run with four accumulators (element i into accumulator i mod 4, then
// ((a0+a1)+(a2+a3))): four independent addition chains instead of one, and a smaller rounding
// error than one running sum. The order is fixed, so results are deterministic.
func sumRun[T number](x []T) T {
	var a0, a1, a2, a3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a0 += x[i]
		a1 += x[i+1]
		a2 += x[i+2]
		a3 += x[i+3]
	}
	for ; i < len(x); i++ {
		a0 += x[i]
	}
	return (a0 + a1) + (a2 + a3)
}

// addInPlace does dst[i] += src[i], with the AVX kernel for float32.
func addInPlace[T number](dst, src []T) {
	if d, ok := any(dst).([]float32); ok && len(d) > 1 && binaryFast32(backends.OpTypeAdd, d, d, any(src).([]float32)) {
		return
	}
	for i, v := range src {
		dst[i] += v
	}
}
