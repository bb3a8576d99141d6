package cpu

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
)

type float interface{ ~float32 | ~float64 }

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

type number interface{ float | integer }

// unaryFloat computes out = op(x) element-wise. The float32 transcendental functions go through
// float64, as Go's math package does, so results are correctly rounded float32s of the float64 value.
// It is long only because it is one flat switch with a short loop per operation; splitting it
// would scatter the table of operations.
func unaryFloat[T float](op backends.OpType, out, x []T) {
	x = x[:len(out)]
	switch op {
	case backends.OpTypeAbs:
		for i, v := range x {
			out[i] = T(math.Abs(float64(v)))
		}
	case backends.OpTypeNeg:
		for i, v := range x {
			out[i] = -v
		}
	case backends.OpTypeExp:
		if o, ok := any(out).([]float32); ok && exp32(o, any(x).([]float32)) {
			return
		}
		for i, v := range x {
			out[i] = T(math.Exp(float64(v)))
		}
	case backends.OpTypeExpm1:
		for i, v := range x {
			out[i] = T(math.Expm1(float64(v)))
		}
	case backends.OpTypeLog:
		for i, v := range x {
			out[i] = T(math.Log(float64(v)))
		}
	case backends.OpTypeLog1p:
		for i, v := range x {
			out[i] = T(math.Log1p(float64(v)))
		}
	case backends.OpTypeSqrt:
		for i, v := range x {
			out[i] = T(math.Sqrt(float64(v)))
		}
	case backends.OpTypeRsqrt:
		for i, v := range x {
			out[i] = T(1 / math.Sqrt(float64(v)))
		}
	case backends.OpTypeTanh:
		for i, v := range x {
			out[i] = T(math.Tanh(float64(v)))
		}
	case backends.OpTypeErf:
		if o, ok := any(out).([]float32); ok && erf32(o, any(x).([]float32)) {
			return
		}
		for i, v := range x {
			out[i] = T(math.Erf(float64(v)))
		}
	case backends.OpTypeLogistic:
		for i, v := range x {
			out[i] = T(logistic(float64(v)))
		}
	case backends.OpTypeSign:
		for i, v := range x {
			switch {
			case v > 0:
				out[i] = 1
			case v < 0:
				out[i] = -1
			default:
				out[i] = v // 0, -0 and NaN stay
			}
		}
	case backends.OpTypeFloor:
		for i, v := range x {
			out[i] = T(math.Floor(float64(v)))
		}
	case backends.OpTypeCeil:
		for i, v := range x {
			out[i] = T(math.Ceil(float64(v)))
		}
	case backends.OpTypeRound:
		for i, v := range x {
			out[i] = T(math.RoundToEven(float64(v)))
		}
	case backends.OpTypeCos:
		for i, v := range x {
			out[i] = T(math.Cos(float64(v)))
		}
	case backends.OpTypeSin:
		for i, v := range x {
			out[i] = T(math.Sin(float64(v)))
		}
	default:
		panic(fmt.Sprintf("cpu: unary %s on floats", op))
	}
}

// logistic is 1/(1+e^-x), written so neither branch overflows.
func logistic(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func unaryInt[T integer](op backends.OpType, out, x []T) {
	x = x[:len(out)]
	switch op {
	case backends.OpTypeAbs:
		for i, v := range x {
			if v < 0 {
				v = -v
			}
			out[i] = v
		}
	case backends.OpTypeNeg:
		for i, v := range x {
			out[i] = -v
		}
	case backends.OpTypeSign:
		for i, v := range x {
			switch {
			case v > 0:
				out[i] = 1
			case v < 0:
				out[i] = ^T(0) // -1 for signed types
			default:
				out[i] = 0
			}
		}
	default:
		panic(fmt.Sprintf("cpu: unary %s on integers", op))
	}
}

func unaryPredicate[T float](op backends.OpType, out []bool, x []T) {
	x = x[:len(out)]
	switch op {
	case backends.OpTypeIsFinite:
		for i, v := range x {
			out[i] = !math.IsInf(float64(v), 0) && !math.IsNaN(float64(v))
		}
	case backends.OpTypeIsNaN:
		for i, v := range x {
			out[i] = v != v
		}
	default:
		panic(fmt.Sprintf("cpu: predicate %s", op))
	}
}

// runUnary dispatches a unary op on the flat slices' type.
func runUnary(op backends.OpType, out, x any) {
	switch x := x.(type) {
	case []float32:
		if o, ok := out.([]bool); ok {
			unaryPredicate(op, o, x)
			return
		}
		unaryFloat(op, out.([]float32), x)
	case []float64:
		if o, ok := out.([]bool); ok {
			unaryPredicate(op, o, x)
			return
		}
		unaryFloat(op, out.([]float64), x)
	case []int8:
		unaryInt(op, out.([]int8), x)
	case []int16:
		unaryInt(op, out.([]int16), x)
	case []int32:
		unaryInt(op, out.([]int32), x)
	case []int64:
		unaryInt(op, out.([]int64), x)
	case []uint8:
		unaryInt(op, out.([]uint8), x)
	case []uint16:
		unaryInt(op, out.([]uint16), x)
	case []uint32:
		unaryInt(op, out.([]uint32), x)
	case []uint64:
		unaryInt(op, out.([]uint64), x)
	case []bool:
		o := out.([]bool)
		for i, v := range x[:len(o)] {
			o[i] = !v
		}
	default:
		panic(fmt.Sprintf("cpu: unary %s on %T", op, x))
	}
}

// at returns s[i], or s[0] when s has one element (a scalar operand).
func pick[T any](s []T, n int) (v T, scalar bool) {
	if len(s) == 1 && n != 1 {
		return s[0], true
	}
	return v, false
}

// binaryNum computes out = x op y for arithmetic ops; x or y may have one element (a scalar).
func binaryNum[T number](op backends.OpType, out, x, y []T) {
	n := len(out)
	if o, ok := any(out).([]float32); ok && n > 1 && binaryFast32(op, o, any(x).([]float32), any(y).([]float32)) {
		return
	}
	if xs, ok := pick(x, n); ok {
		binaryScalarLeft(op, out, xs, y[:n])
		return
	}
	if ys, ok := pick(y, n); ok {
		binaryScalarRight(op, out, x[:n], ys)
		return
	}
	x, y = x[:n], y[:n]
	switch op {
	case backends.OpTypeAdd:
		for i := range out {
			out[i] = x[i] + y[i]
		}
	case backends.OpTypeSub:
		for i := range out {
			out[i] = x[i] - y[i]
		}
	case backends.OpTypeMul:
		for i := range out {
			out[i] = x[i] * y[i]
		}
	case backends.OpTypeDiv:
		for i := range out {
			out[i] = x[i] / y[i]
		}
	default:
		for i := range out {
			out[i] = binaryOne(op, x[i], y[i])
		}
	}
}

func binaryScalarLeft[T number](op backends.OpType, out []T, x T, y []T) {
	switch op {
	case backends.OpTypeAdd:
		for i, v := range y {
			out[i] = x + v
		}
	case backends.OpTypeSub:
		for i, v := range y {
			out[i] = x - v
		}
	case backends.OpTypeMul:
		for i, v := range y {
			out[i] = x * v
		}
	case backends.OpTypeDiv:
		for i, v := range y {
			out[i] = x / v
		}
	default:
		for i, v := range y {
			out[i] = binaryOne(op, x, v)
		}
	}
}

func binaryScalarRight[T number](op backends.OpType, out, x []T, y T) {
	switch op {
	case backends.OpTypeAdd:
		for i, v := range x {
			out[i] = v + y
		}
	case backends.OpTypeSub:
		for i, v := range x {
			out[i] = v - y
		}
	case backends.OpTypeMul:
		for i, v := range x {
			out[i] = v * y
		}
	case backends.OpTypeDiv:
		for i, v := range x {
			out[i] = v / y
		}
	default:
		for i, v := range x {
			out[i] = binaryOne(op, v, y)
		}
	}
}

// binaryOne is the scalar form of the less common binary ops. Max and Min propagate NaN, as XLA does.
func binaryOne[T number](op backends.OpType, a, b T) T {
	switch op {
	case backends.OpTypeAdd:
		return a + b
	case backends.OpTypeSub:
		return a - b
	case backends.OpTypeMul:
		return a * b
	case backends.OpTypeDiv:
		return a / b
	case backends.OpTypeMax:
		if a != a || a > b {
			return a
		}
		return b
	case backends.OpTypeMin:
		if a != a || a < b {
			return a
		}
		return b
	case backends.OpTypePow:
		return T(math.Pow(float64(a), float64(b)))
	case backends.OpTypeRem:
		return T(math.Mod(float64(a), float64(b)))
	}
	panic(fmt.Sprintf("cpu: binary %s", op))
}

func compare[T number](op backends.OpType, out []bool, x, y []T) {
	n := len(out)
	for i := range n {
		a, b := x[0], y[0]
		if len(x) > 1 || n == 1 {
			a = x[i]
		}
		if len(y) > 1 || n == 1 {
			b = y[i]
		}
		switch op {
		case backends.OpTypeEqual:
			out[i] = a == b
		case backends.OpTypeNotEqual:
			out[i] = a != b
		case backends.OpTypeLessThan:
			out[i] = a < b
		case backends.OpTypeLessOrEqual:
			out[i] = a <= b
		case backends.OpTypeGreaterThan:
			out[i] = a > b
		case backends.OpTypeGreaterOrEqual:
			out[i] = a >= b
		default:
			panic(fmt.Sprintf("cpu: comparison %s", op))
		}
	}
}

func logical(op backends.OpType, out, x, y []bool) {
	n := len(out)
	for i := range n {
		a, b := x[0], y[0]
		if len(x) > 1 || n == 1 {
			a = x[i]
		}
		if len(y) > 1 || n == 1 {
			b = y[i]
		}
		switch op {
		case backends.OpTypeLogicalAnd:
			out[i] = a && b
		case backends.OpTypeLogicalOr:
			out[i] = a || b
		case backends.OpTypeEqual:
			out[i] = a == b
		case backends.OpTypeNotEqual:
			out[i] = a != b
		default:
			panic(fmt.Sprintf("cpu: logical %s", op))
		}
	}
}

func binNumOrCompare[T number](op backends.OpType, out any, x, y []T) {
	if o, ok := out.([]bool); ok {
		compare(op, o, x, y)
		return
	}
	binaryNum(op, out.([]T), x, y)
}

// runBinary dispatches a binary op; operands have the output's size or one element.
func runBinary(op backends.OpType, out, x, y any) {
	switch x := x.(type) {
	case []float32:
		binNumOrCompare(op, out, x, y.([]float32))
	case []float64:
		binNumOrCompare(op, out, x, y.([]float64))
	case []int8:
		binNumOrCompare(op, out, x, y.([]int8))
	case []int16:
		binNumOrCompare(op, out, x, y.([]int16))
	case []int32:
		binNumOrCompare(op, out, x, y.([]int32))
	case []int64:
		binNumOrCompare(op, out, x, y.([]int64))
	case []uint8:
		binNumOrCompare(op, out, x, y.([]uint8))
	case []uint16:
		binNumOrCompare(op, out, x, y.([]uint16))
	case []uint32:
		binNumOrCompare(op, out, x, y.([]uint32))
	case []uint64:
		binNumOrCompare(op, out, x, y.([]uint64))
	case []bool:
		logical(op, out.([]bool), x, y.([]bool))
	default:
		panic(fmt.Sprintf("cpu: binary %s on %T", op, x))
	}
}

// whereFull sets out[i] = a[i] where c[i], else b[i]; every operand has at least len(out) elements.
func whereFull[T any](out []T, c []bool, a, b []T) {
	c, a, b = c[:len(out)], a[:len(out)], b[:len(out)]
	for i := range out {
		if c[i] {
			out[i] = a[i]
		} else {
			out[i] = b[i]
		}
	}
}

func clamp[T number](out, lo, x, hi []T) {
	n := len(out)
	for i := range n {
		l, h := lo[0], hi[0]
		if len(lo) > 1 {
			l = lo[i]
		}
		if len(hi) > 1 {
			h = hi[i]
		}
		v := x[i]
		if v < l {
			v = l
		}
		if v > h {
			v = h
		}
		out[i] = v
	}
}
