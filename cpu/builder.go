package cpu

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/notimplemented"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// node is one operation of a computation being built.
type node struct {
	id     int
	op     backends.OpType
	shape  shapes.Shape
	inputs []*node
	aux    any // op-specific parameters: one of the *Params types below, or the constant's flat data
}

type dotParams struct{ lc, lb, rc, rb []int }

type gatherParams struct {
	indexVectorAxis                                            int
	offsetOutputAxes, collapsedSliceAxes, startIndexMap, sizes []int
}

type scatterParams struct {
	indexVectorAxis                                 int
	updateWindowAxes, insertedWindowAxes, scatterTo []int
}

type sliceParams struct{ starts, limits, strides []int }

type argParams struct {
	axis  int
	isMin bool
}

// Builder builds a computation. Operations not listed in the package documentation fall through
// to notimplemented.Builder and return an error naming the operation.
type Builder struct {
	notimplemented.Builder
	backend *Backend
	name    string
	nodes   []*node
	params  []*node
	names   []string
	regions int // member regions added (members.go)
}

var _ backends.Builder = (*Builder)(nil)

func newBuilder(b *Backend, name string) *Builder {
	bl := &Builder{backend: b, name: name}
	bl.Builder.ErrFn = func(op backends.OpType) error {
		return fmt.Errorf("cpu backend: operation %s not implemented (builder %q)", op, name)
	}
	return bl
}

// Name returns the computation's name.
func (b *Builder) Name() string { return b.name }

func (b *Builder) add(op backends.OpType, shape shapes.Shape, aux any, inputs ...*node) *node {
	n := &node{id: len(b.nodes), op: op, shape: shape, inputs: inputs, aux: aux}
	b.nodes = append(b.nodes, n)
	return n
}

func (b *Builder) in(ops ...backends.Op) ([]*node, error) {
	out := make([]*node, len(ops))
	for i, o := range ops {
		n, ok := o.(*node)
		if !ok || n == nil {
			return nil, fmt.Errorf("cpu backend: operand %d is %T, not an op of this backend", i, o)
		}
		if n.id >= len(b.nodes) || b.nodes[n.id] != n {
			return nil, fmt.Errorf("cpu backend: operand %d belongs to another builder", i)
		}
		out[i] = n
	}
	return out, nil
}

// OpShape returns an op's shape.
func (b *Builder) OpShape(op backends.Op) (shapes.Shape, error) {
	in, err := b.in(op)
	if err != nil {
		return shapes.Invalid(), err
	}
	return in[0].shape, nil
}

func checkDType(op backends.OpType, dt dtypes.DType) error {
	if !slices.Contains(supportedDTypes, dt) {
		return fmt.Errorf("cpu backend: %s: dtype %s not supported", op, dt)
	}
	return nil
}

// Parameter adds an input of the computation.
func (b *Builder) Parameter(name string, shape shapes.Shape, _ *backends.ShardingSpec) (backends.Op, error) {
	if err := checkDType(backends.OpTypeParameter, shape.DType); err != nil {
		return nil, err
	}
	n := b.add(backends.OpTypeParameter, shape, len(b.params))
	b.params = append(b.params, n)
	b.names = append(b.names, name)
	return n, nil
}

// Constant adds a constant; flat is copied.
func (b *Builder) Constant(flat any, dims ...int) (backends.Op, error) {
	v := reflect.ValueOf(flat)
	if v.Kind() != reflect.Slice {
		return nil, fmt.Errorf("cpu backend: Constant wants a flat slice, got %T", flat)
	}
	dt := dtypes.FromGoType(v.Type().Elem())
	if err := checkDType(backends.OpTypeConstant, dt); err != nil {
		return nil, err
	}
	shape := shapes.Make(dt, dims...)
	if shape.Size() != v.Len() {
		return nil, fmt.Errorf("cpu backend: Constant of %d values for shape %s", v.Len(), shape)
	}
	c := makeFlat(dt, v.Len())
	reflect.Copy(reflect.ValueOf(c), v)
	return b.add(backends.OpTypeConstant, shape, c), nil
}

// Identity returns x.
func (b *Builder) Identity(x backends.Op) (backends.Op, error) {
	in, err := b.in(x)
	if err != nil {
		return nil, err
	}
	return in[0], nil
}

func (b *Builder) unary(op backends.OpType, x backends.Op) (backends.Op, error) {
	in, err := b.in(x)
	if err != nil {
		return nil, err
	}
	s, err := shapeinference.UnaryOp(op, in[0].shape)
	if err != nil {
		return nil, err
	}
	return b.add(op, s, nil, in[0]), nil
}

func (b *Builder) binary(op backends.OpType, x, y backends.Op) (backends.Op, error) {
	in, err := b.in(x, y)
	if err != nil {
		return nil, err
	}
	var s shapes.Shape
	if comparisonOps[op] {
		s, err = shapeinference.ComparisonOp(op, in[0].shape, in[1].shape)
	} else {
		s, err = shapeinference.BinaryOp(op, in[0].shape, in[1].shape)
	}
	if err != nil {
		return nil, err
	}
	if in[0].shape.Rank() == in[1].shape.Rank() {
		for a := range s.Dimensions {
			if in[0].shape.Dimensions[a] == 0 || in[1].shape.Dimensions[a] == 0 {
				s.Dimensions[a] = 0 // broadcasting an empty axis against size 1 gives an empty axis
			}
		}
	}
	return b.add(op, s, nil, in[0], in[1]), nil
}

var comparisonOps = map[backends.OpType]bool{
	backends.OpTypeEqual: true, backends.OpTypeNotEqual: true, backends.OpTypeLessThan: true,
	backends.OpTypeLessOrEqual: true, backends.OpTypeGreaterThan: true, backends.OpTypeGreaterOrEqual: true,
}

func (b *Builder) Abs(x backends.Op) (backends.Op, error)   { return b.unary(backends.OpTypeAbs, x) }
func (b *Builder) Neg(x backends.Op) (backends.Op, error)   { return b.unary(backends.OpTypeNeg, x) }
func (b *Builder) Exp(x backends.Op) (backends.Op, error)   { return b.unary(backends.OpTypeExp, x) }
func (b *Builder) Expm1(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeExpm1, x) }
func (b *Builder) Log(x backends.Op) (backends.Op, error)   { return b.unary(backends.OpTypeLog, x) }
func (b *Builder) Log1p(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeLog1p, x) }
func (b *Builder) Sqrt(x backends.Op) (backends.Op, error)  { return b.unary(backends.OpTypeSqrt, x) }
func (b *Builder) Rsqrt(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeRsqrt, x) }
func (b *Builder) Tanh(x backends.Op) (backends.Op, error)  { return b.unary(backends.OpTypeTanh, x) }
func (b *Builder) Erf(x backends.Op) (backends.Op, error)   { return b.unary(backends.OpTypeErf, x) }
func (b *Builder) Logistic(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLogistic, x)
}
func (b *Builder) Sign(x backends.Op) (backends.Op, error)  { return b.unary(backends.OpTypeSign, x) }
func (b *Builder) Floor(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeFloor, x) }
func (b *Builder) Ceil(x backends.Op) (backends.Op, error)  { return b.unary(backends.OpTypeCeil, x) }
func (b *Builder) Round(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeRound, x) }
func (b *Builder) Cos(x backends.Op) (backends.Op, error)   { return b.unary(backends.OpTypeCos, x) }
func (b *Builder) Sin(x backends.Op) (backends.Op, error)   { return b.unary(backends.OpTypeSin, x) }
func (b *Builder) IsFinite(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeIsFinite, x)
}
func (b *Builder) IsNaN(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeIsNaN, x) }
func (b *Builder) LogicalNot(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLogicalNot, x)
}

func (b *Builder) Add(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeAdd, x, y)
}
func (b *Builder) Sub(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeSub, x, y)
}
func (b *Builder) Mul(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMul, x, y)
}
func (b *Builder) Div(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeDiv, x, y)
}
func (b *Builder) Max(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMax, x, y)
}
func (b *Builder) Min(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMin, x, y)
}
func (b *Builder) Pow(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypePow, x, y)
}
func (b *Builder) Rem(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeRem, x, y)
}
func (b *Builder) Equal(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeEqual, x, y)
}
func (b *Builder) NotEqual(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeNotEqual, x, y)
}
func (b *Builder) LessThan(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLessThan, x, y)
}
func (b *Builder) LessOrEqual(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLessOrEqual, x, y)
}
func (b *Builder) GreaterThan(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeGreaterThan, x, y)
}
func (b *Builder) GreaterOrEqual(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeGreaterOrEqual, x, y)
}
func (b *Builder) LogicalAnd(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLogicalAnd, x, y)
}
func (b *Builder) LogicalOr(x, y backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLogicalOr, x, y)
}

// Where selects onTrue where condition holds, else onFalse; condition may be a scalar.
func (b *Builder) Where(cond, onTrue, onFalse backends.Op) (backends.Op, error) {
	in, err := b.in(cond, onTrue, onFalse)
	if err != nil {
		return nil, err
	}
	s, err := shapeinference.WhereOp(in[0].shape, in[1].shape, in[2].shape)
	if err != nil {
		return nil, err
	}
	return b.add(backends.OpTypeWhere, s, nil, in...), nil
}

// Clamp returns min(max(x, lo), hi); lo and hi are scalars or of x's shape.
func (b *Builder) Clamp(lo, x, hi backends.Op) (backends.Op, error) {
	in, err := b.in(lo, x, hi)
	if err != nil {
		return nil, err
	}
	for _, o := range []*node{in[0], in[2]} {
		if o.shape.DType != in[1].shape.DType || (!o.shape.IsScalar() && !o.shape.Equal(in[1].shape)) {
			return nil, fmt.Errorf("cpu backend: Clamp bounds %s do not fit x %s", o.shape, in[1].shape)
		}
	}
	return b.add(backends.OpTypeClamp, in[1].shape, nil, in...), nil
}

// Reshape reinterprets x with new dimensions (no copy at execution).
func (b *Builder) Reshape(x backends.Op, dims ...int) (backends.Op, error) {
	in, err := b.in(x)
	if err != nil {
		return nil, err
	}
	s, err := shapeinference.ReshapeOp(in[0].shape, dims)
	if err != nil {
		return nil, err
	}
	return b.add(backends.OpTypeReshape, s, nil, in[0]), nil
}

// Transpose permutes x's axes: output axis i is input axis perm[i].
func (b *Builder) Transpose(x backends.Op, perm ...int) (backends.Op, error) {
	in, err := b.in(x)
	if err != nil {
		return nil, err
	}
	s, err := shapeinference.TransposeOp(in[0].shape, perm)
	if err != nil {
		return nil, err
	}
	return b.add(backends.OpTypeTranspose, s, slices.Clone(perm), in[0]), nil
}

// BroadcastInDim broadcasts x to shape; x's axis i becomes output axis axes[i].
func (b *Builder) BroadcastInDim(x backends.Op, shape shapes.Shape, axes []int) (backends.Op, error) {
	in, err := b.in(x)
	if err != nil {
		return nil, err
	}
	if err := shapeinference.BroadcastInDimOp(in[0].shape, shape, axes); err != nil {
		return nil, err
	}
	return b.add(backends.OpTypeBroadcastInDim, shape.Clone(), slices.Clone(axes), in[0]), nil
}

func (b *Builder) reduce(op backends.OpType, x backends.Op, axes []int) (backends.Op, error) {
	in, err := b.in(x)
	if err != nil {
		return nil, err
	}
	if len(axes) == 0 { // no axes given: all axes, as SimpleGo does
		axes = identityAxes(in[0].shape.Rank())
	}
	s, err := shapeinference.ReduceOp(in[0].shape, axes)
	if err != nil {
		return nil, err
	}
	return b.add(op, s, slices.Clone(axes), in[0]), nil
}

func (b *Builder) ReduceSum(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceSum, x, axes)
}
func (b *Builder) ReduceMax(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceMax, x, axes)
}
func (b *Builder) ReduceMin(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceMin, x, axes)
}
func (b *Builder) ReduceProduct(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceProduct, x, axes)
}

// DotGeneral is a batched matrix product: the output is [batch..., lhs cross..., rhs cross...].
func (b *Builder) DotGeneral(lhs backends.Op, lc, lb []int, rhs backends.Op, rc, rb []int) (backends.Op, error) {
	in, err := b.in(lhs, rhs)
	if err != nil {
		return nil, err
	}
	ls, rs := in[0].shape, in[1].shape
	if ls.DType != rs.DType {
		return nil, fmt.Errorf("cpu backend: DotGeneral dtypes differ: %s and %s", ls, rs)
	}
	if len(lc) != len(rc) || len(lb) != len(rb) {
		return nil, fmt.Errorf("cpu backend: DotGeneral axes counts differ")
	}
	for i := range lc {
		if lc[i] < 0 || lc[i] >= ls.Rank() || rc[i] < 0 || rc[i] >= rs.Rank() || ls.Dimensions[lc[i]] != rs.Dimensions[rc[i]] {
			return nil, fmt.Errorf("cpu backend: DotGeneral contracting axes %v/%v do not match %s and %s", lc, rc, ls, rs)
		}
	}
	var dims []int
	for i := range lb {
		if lb[i] < 0 || lb[i] >= ls.Rank() || rb[i] < 0 || rb[i] >= rs.Rank() || ls.Dimensions[lb[i]] != rs.Dimensions[rb[i]] {
			return nil, fmt.Errorf("cpu backend: DotGeneral batch axes %v/%v do not match %s and %s", lb, rb, ls, rs)
		}
		dims = append(dims, ls.Dimensions[lb[i]])
	}
	for _, a := range freeAxes(ls.Rank(), lc, lb) {
		dims = append(dims, ls.Dimensions[a])
	}
	for _, a := range freeAxes(rs.Rank(), rc, rb) {
		dims = append(dims, rs.Dimensions[a])
	}
	p := &dotParams{slices.Clone(lc), slices.Clone(lb), slices.Clone(rc), slices.Clone(rb)}
	return b.add(backends.OpTypeDotGeneral, shapes.Make(ls.DType, dims...), p, in[0], in[1]), nil
}

// freeAxes are the axes of a rank-r operand neither contracted nor batch, ascending.
func freeAxes(r int, contracting, batch []int) []int {
	var out []int
	for a := range r {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			out = append(out, a)
		}
	}
	return out
}

// Iota fills shape with the index along axis.
func (b *Builder) Iota(shape shapes.Shape, axis int) (backends.Op, error) {
	if axis < 0 || axis >= shape.Rank() {
		return nil, fmt.Errorf("cpu backend: Iota axis %d out of range for %s", axis, shape)
	}
	if err := checkDType(backends.OpTypeIota, shape.DType); err != nil {
		return nil, err
	}
	return b.add(backends.OpTypeIota, shape.Clone(), axis), nil
}

// ConvertDType converts x's elements to dtype.
func (b *Builder) ConvertDType(x backends.Op, dtype dtypes.DType) (backends.Op, error) {
	in, err := b.in(x)
	if err != nil {
		return nil, err
	}
	if err := checkDType(backends.OpTypeConvertDType, dtype); err != nil {
		return nil, err
	}
	s := in[0].shape.Clone()
	s.DType = dtype
	return b.add(backends.OpTypeConvertDType, s, nil, in[0]), nil
}

// Gather is XLA's Gather (see backends.StandardOps).
func (b *Builder) Gather(operand, indices backends.Op, indexVectorAxis int, offsetOutputAxes, collapsedSliceAxes,
	startIndexMap, sliceSizes []int, _ bool) (backends.Op, error) {
	in, err := b.in(operand, indices)
	if err != nil {
		return nil, err
	}
	s, err := shapeinference.Gather(in[0].shape, in[1].shape, indexVectorAxis, offsetOutputAxes, collapsedSliceAxes,
		startIndexMap, sliceSizes, false)
	if err != nil {
		return nil, err
	}
	p := &gatherParams{indexVectorAxis, slices.Clone(offsetOutputAxes), slices.Clone(collapsedSliceAxes),
		slices.Clone(startIndexMap), slices.Clone(sliceSizes)}
	return b.add(backends.OpTypeGather, s, p, in[0], in[1]), nil
}

// ScatterSum is XLA's Scatter with addition (see backends.StandardOps).
func (b *Builder) ScatterSum(operand, indices, updates backends.Op, indexVectorAxis int, updateWindowAxes,
	insertedWindowAxes, scatterAxesToOperandAxes []int, _, _ bool) (backends.Op, error) {
	in, err := b.in(operand, indices, updates)
	if err != nil {
		return nil, err
	}
	s, err := shapeinference.ScatterOp(in[0].shape, in[1].shape, in[2].shape, indexVectorAxis, updateWindowAxes,
		insertedWindowAxes, scatterAxesToOperandAxes)
	if err != nil {
		return nil, err
	}
	p := &scatterParams{indexVectorAxis, slices.Clone(updateWindowAxes), slices.Clone(insertedWindowAxes),
		slices.Clone(scatterAxesToOperandAxes)}
	return b.add(backends.OpTypeScatterSum, s, p, in...), nil
}

// Slice takes x[starts:limits:strides] per axis.
func (b *Builder) Slice(x backends.Op, starts, limits, strides []int) (backends.Op, error) {
	in, err := b.in(x)
	if err != nil {
		return nil, err
	}
	s, err := shapeinference.SliceOp(in[0].shape, starts, limits, strides)
	if err != nil {
		return nil, err
	}
	st := slices.Clone(strides)
	if len(st) == 0 {
		st = make([]int, len(starts))
		for i := range st {
			st[i] = 1
		}
	}
	return b.add(backends.OpTypeSlice, s, &sliceParams{slices.Clone(starts), slices.Clone(limits), st}, in[0]), nil
}

// Concatenate joins operands along axis.
func (b *Builder) Concatenate(axis int, operands ...backends.Op) (backends.Op, error) {
	in, err := b.in(operands...)
	if err != nil {
		return nil, err
	}
	ss := make([]shapes.Shape, len(in))
	for i, n := range in {
		ss[i] = n.shape
	}
	s, err := shapeinference.ConcatenateOp(ss, axis)
	if err != nil {
		return nil, err
	}
	return b.add(backends.OpTypeConcatenate, s, axis, in...), nil
}

// ArgMinMax returns the index of the minimum or maximum along axis (first one on ties; NaN wins).
func (b *Builder) ArgMinMax(x backends.Op, axis int, dtype dtypes.DType, isMin bool) (backends.Op, error) {
	in, err := b.in(x)
	if err != nil {
		return nil, err
	}
	s, err := shapeinference.ArgMinMaxOp(in[0].shape, axis, dtype)
	if err != nil {
		return nil, err
	}
	return b.add(backends.OpTypeArgMinMax, s, &argParams{axis, isMin}, in[0]), nil
}

func shapesWithDType(dims []int, dt dtypes.DType) shapes.Shape { return shapes.Make(dt, dims...) }
