package cpu

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// implemented are the operations the plan knows how to run.
var implemented = map[backends.OpType]bool{}

func init() {
	for _, op := range append(append(slices.Clone(unaryOps), binaryOps...),
		backends.OpTypeParameter, backends.OpTypeConstant, backends.OpTypeIdentity, backends.OpTypeWhere,
		backends.OpTypeClamp, backends.OpTypeReshape, backends.OpTypeTranspose, backends.OpTypeBroadcastInDim,
		backends.OpTypeReduceSum, backends.OpTypeReduceMax, backends.OpTypeReduceMin, backends.OpTypeReduceProduct,
		backends.OpTypeDotGeneral, backends.OpTypeIota, backends.OpTypeConvertDType, backends.OpTypeGather,
		backends.OpTypeScatterSum, backends.OpTypeSlice, backends.OpTypeConcatenate, backends.OpTypeArgMinMax) {
		implemented[op] = true
	}
}

var unaryOps = []backends.OpType{
	backends.OpTypeAbs, backends.OpTypeNeg, backends.OpTypeExp, backends.OpTypeExpm1, backends.OpTypeLog,
	backends.OpTypeLog1p, backends.OpTypeSqrt, backends.OpTypeRsqrt, backends.OpTypeTanh, backends.OpTypeErf,
	backends.OpTypeLogistic, backends.OpTypeSign, backends.OpTypeFloor, backends.OpTypeCeil, backends.OpTypeRound,
	backends.OpTypeCos, backends.OpTypeSin, backends.OpTypeIsFinite, backends.OpTypeIsNaN, backends.OpTypeLogicalNot,
}

var binaryOps = []backends.OpType{
	backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv, backends.OpTypeMax,
	backends.OpTypeMin, backends.OpTypePow, backends.OpTypeRem, backends.OpTypeEqual, backends.OpTypeNotEqual,
	backends.OpTypeLessThan, backends.OpTypeLessOrEqual, backends.OpTypeGreaterThan, backends.OpTypeGreaterOrEqual,
	backends.OpTypeLogicalAnd, backends.OpTypeLogicalOr,
}

// plan turns a node into a step: every shape-dependent quantity (strides, layouts, matrix views)
// is computed here, once.
func (e *Executable) plan(n *node, ins []int) (step, error) {
	st := step{kind: kindCompute, op: n.op, shape: n.shape, ins: ins}
	op := n.op
	switch {
	case op == backends.OpTypeParameter:
		st.kind, st.param = kindParam, n.aux.(int)
	case op == backends.OpTypeConstant:
		st.kind, st.value = kindConst, n.aux
	case op == backends.OpTypeReshape:
		st.kind = kindAlias
	case slices.Contains(unaryOps, op):
		st.run = func(_ *Backend, out any, in []any) { runUnary(op, out, in[0]) }
		st.ew = n.shape.DType == dtypes.Float32 && n.inputs[0].shape.DType == dtypes.Float32
	case slices.Contains(binaryOps, op):
		return e.planBinary(n, st)
	case op == backends.OpTypeWhere:
		return e.planWhere(n, st), nil
	case op == backends.OpTypeClamp:
		st.run = func(_ *Backend, out any, in []any) { runClamp(out, in[0], in[1], in[2]) }
	case op == backends.OpTypeTranspose:
		st = planTranspose(n, st)
	case op == backends.OpTypeBroadcastInDim:
		l := broadcastLayout(n.inputs[0].shape.Dimensions, n.shape.Dimensions, n.aux.([]int))
		st.bcast = &l
		st.run = func(_ *Backend, out any, in []any) { copyStrided(out, in[0], l) }
	case op == backends.OpTypeSlice:
		st = planSlice(n, st)
	case op == backends.OpTypeReduceSum || op == backends.OpTypeReduceMax || op == backends.OpTypeReduceMin ||
		op == backends.OpTypeReduceProduct:
		st = planReduce(n, st)
	case op == backends.OpTypeDotGeneral:
		return e.planDot(n, st)
	case op == backends.OpTypeIota:
		axis := n.aux.(int)
		inner := axesProduct(n.shape.Dimensions[axis+1:])
		dim := n.shape.Dimensions[axis]
		st.run = func(_ *Backend, out any, _ []any) { runIota(out, inner, dim) }
	case op == backends.OpTypeConvertDType:
		st.run = func(_ *Backend, out any, in []any) { runConvert(out, in[0]) }
	case op == backends.OpTypeConcatenate:
		st = planConcatenate(n, st)
	case op == backends.OpTypeArgMinMax:
		p := n.aux.(*argParams)
		dims := n.inputs[0].shape.Dimensions
		outer, inner := axesProduct(dims[:p.axis]), axesProduct(dims[p.axis+1:])
		dim := dims[p.axis]
		st.run = func(_ *Backend, out any, in []any) { runConvert(out, runArgMinMax(in[0], outer, dim, inner, p.isMin)) }
	case op == backends.OpTypeGather:
		return e.planGather(n, st)
	case op == backends.OpTypeScatterSum:
		return e.planScatter(n, st)
	case op == backends.OpTypeInvalid: // a member region's step or one of its further outputs
		switch a := n.aux.(type) {
		case *memberRegion:
			st.run = a.run
		case memberOut:
			st.kind, st.fusedAt = kindExported, ins[0]
		default:
			return st, fmt.Errorf("cpu backend: invalid operation")
		}
	default:
		return st, fmt.Errorf("cpu backend: operation %s not implemented", op)
	}
	return st, nil
}

// axesProduct is the product of dims (1 for none).
func axesProduct(dims []int) int {
	x := 1
	for _, d := range dims {
		x *= d
	}
	return x
}

// planTranspose copies its input through the permuted strides (foldDotTransposes may later fold it
// into the product that makes its input).
func planTranspose(n *node, st step) step {
	perm := n.aux.([]int)
	src := rowMajorStrides(n.inputs[0].shape.Dimensions)
	strides := make([]int, len(perm))
	for i, p := range perm {
		strides[i] = src[p]
	}
	l := newLayout(n.shape.Dimensions, strides, 0)
	st.perm = perm
	st.run = func(_ *Backend, out any, in []any) { copyStrided(out, in[0], l) }
	return st
}

// planSlice copies the slice through strides (start offset, step per axis).
func planSlice(n *node, st step) step {
	p := n.aux.(*sliceParams)
	src := rowMajorStrides(n.inputs[0].shape.Dimensions)
	strides := make([]int, len(src))
	base := 0
	for i := range src {
		strides[i] = src[i] * p.strides[i]
		base += p.starts[i] * src[i]
	}
	l := newLayout(n.shape.Dimensions, strides, base)
	if n.shape.Size() == 0 {
		l = layout{dims: []int{0}, strides: []int{0}}
	}
	st.run = func(_ *Backend, out any, in []any) { copyStrided(out, in[0], l) }
	return st
}

// planReduce walks the input in row-major order with the output's strides (0 on the reduced axes).
// A float32 sum over contiguous rows records its row length for fuseIntoRowSums.
func planReduce(n *node, st step) step {
	op := n.op
	axes := n.aux.([]int)
	dims := n.inputs[0].shape.Dimensions
	var kept []int
	for a, d := range dims {
		if !slices.Contains(axes, a) {
			kept = append(kept, d)
		}
	}
	os := rowMajorStrides(kept)
	strides := make([]int, len(dims))
	k := 0
	for a := range dims {
		if !slices.Contains(axes, a) {
			strides[a] = os[k]
			k++
		}
	}
	l := newLayout(dims, strides, 0)
	if op == backends.OpTypeReduceSum && n.shape.DType == dtypes.Float32 && n.inputs[0].shape.Size() > 0 {
		st.rowSum = rowSumLength(l)
	}
	if n.inputs[0].shape.Size() == 0 {
		l = layout{dims: []int{0}, strides: []int{0}}
	}
	st.run = func(_ *Backend, out any, in []any) { runReduce(op, out, in[0], l) }
	return st
}

// planConcatenate copies each operand's blocks into place along the axis.
func planConcatenate(n *node, st step) step {
	axis := n.aux.(int)
	outer := axesProduct(n.shape.Dimensions[:axis])
	inner := axesProduct(n.shape.Dimensions[axis+1:])
	blocks := make([]int, len(n.inputs))
	for i, x := range n.inputs {
		blocks[i] = x.shape.Dimensions[axis] * inner
	}
	total := n.shape.Dimensions[axis] * inner
	st.run = func(_ *Backend, out any, in []any) {
		off := 0
		for i, x := range in {
			// operand i's block o goes to out[o*total+off : ...]
			l := layout{dims: []int{outer, blocks[i]}, strides: []int{blocks[i], 1}}
			dst := layout{dims: []int{outer, blocks[i]}, strides: []int{total, 1}, base: off}
			scatterCopy(out, x, dst, l)
			off += blocks[i]
		}
	}
	return st
}

func identityAxes(r int) []int {
	a := make([]int, r)
	for i := range a {
		a[i] = i
	}
	return a
}

// broadcastLayout reads an operand of dims in into an output of dims out, operand axis i being
// output axis axes[i] (size 1 broadcasts).
func broadcastLayout(in, out, axes []int) layout {
	src := rowMajorStrides(in)
	strides := make([]int, len(out))
	for i, a := range axes {
		if in[i] == out[a] {
			strides[a] = src[i]
		}
	}
	return newLayout(out, strides, 0)
}

// scatterCopy copies src read through ls into dst written through ld (same index space).
func scatterCopy(dst, src any, ld, ls layout) {
	copy2Any(dst, src, ld.dims, ld.strides, ls.strides, ld.base, ls.base)
}

func copy2Any(dst, src any, dims, ds, ss []int, db, sb int) {
	switch d := dst.(type) {
	case []float32:
		copy2(d, src.([]float32), dims, ds, ss, db, sb, false)
	case []float64:
		copy2(d, src.([]float64), dims, ds, ss, db, sb, false)
	case []int8:
		copy2(d, src.([]int8), dims, ds, ss, db, sb, false)
	case []int16:
		copy2(d, src.([]int16), dims, ds, ss, db, sb, false)
	case []int32:
		copy2(d, src.([]int32), dims, ds, ss, db, sb, false)
	case []int64:
		copy2(d, src.([]int64), dims, ds, ss, db, sb, false)
	case []uint8:
		copy2(d, src.([]uint8), dims, ds, ss, db, sb, false)
	case []uint16:
		copy2(d, src.([]uint16), dims, ds, ss, db, sb, false)
	case []uint32:
		copy2(d, src.([]uint32), dims, ds, ss, db, sb, false)
	case []uint64:
		copy2(d, src.([]uint64), dims, ds, ss, db, sb, false)
	case []bool:
		copy2(d, src.([]bool), dims, ds, ss, db, sb, false)
	default:
		panic(fmt.Sprintf("cpu: copy of %T", dst))
	}
}

// runWhere is Where on operands that are whole (of the output's size) or scalars.
func runWhere(out, c, a, b any) {
	runWhereStrided(out, []any{c, a, b}, [3]*layout{})
}

func runClamp(out, lo, x, hi any) {
	switch o := out.(type) {
	case []float32:
		clamp(o, lo.([]float32), x.([]float32), hi.([]float32))
	case []float64:
		clamp(o, lo.([]float64), x.([]float64), hi.([]float64))
	case []int32:
		clamp(o, lo.([]int32), x.([]int32), hi.([]int32))
	case []int64:
		clamp(o, lo.([]int64), x.([]int64), hi.([]int64))
	default:
		panic(fmt.Sprintf("cpu: Clamp on %T", out))
	}
}

// groupStride returns the single stride through which the axes (in the given order) of an array of
// dims can be walked as one flattened axis, or ok=false when they cannot.
func groupStride(dims, strides, axes []int) (size, stride int, ok bool) {
	d := make([]int, len(axes))
	s := make([]int, len(axes))
	for i, a := range axes {
		d[i], s[i] = dims[a], strides[a]
	}
	l := newLayout(d, s, 0)
	switch len(l.dims) {
	case 0:
		return l.size(), 0, true
	case 1:
		return l.dims[0], l.strides[0], true
	}
	return 0, 0, false
}

// planDot plans a DotGeneral as a batched [batch, m, k] · [batch, k, n] product. When an operand's
// free and contracting axes can each be walked with one stride, the product reads it in place (its
// batch axes through a table of offsets when they cannot be walked with one stride); otherwise it is
// first copied into that order.
func (e *Executable) planDot(n *node, st step) (step, error) {
	p := n.aux.(*dotParams)
	dt := n.shape.DType
	if dt != dtypes.Float32 && dt != dtypes.Float64 {
		return st, fmt.Errorf("cpu backend: DotGeneral on %s not implemented", dt)
	}
	ls, rs := n.inputs[0].shape.Dimensions, n.inputs[1].shape.Dimensions
	lfree := freeAxes(len(ls), p.lc, p.lb)
	rfree := freeAxes(len(rs), p.rc, p.rb)
	d := &dotPlan{dt: dt, backend: e.backend, aSize: n.inputs[0].shape.Size(), bSize: n.inputs[1].shape.Size(),
		outBatch: len(p.lb), outRows: len(lfree)}
	d.mp = matmulPlan{workers: e.backend.cfg.Workers, narrow: e.backend.cfg.NoAVX512}
	mp := &d.mp
	mp.batch, mp.m, mp.k, mp.n = axesSize(ls, p.lb), axesSize(ls, lfree), axesSize(ls, p.lc), axesSize(rs, rfree)
	mp.a, d.la, d.da = operandView(ls, p.lb, lfree, p.lc)
	mp.b, d.lb, d.db = operandView(rs, p.rb, p.rc, rfree)
	mp.c = matView{bs: mp.m * mp.n, rs: mp.n, cs: 1}
	st.dot = d
	st.run = d.run
	return st, nil
}

// dotPlan is a planned DotGeneral: the product, and for an operand that cannot be read in place
// the layout it is first copied through.
type dotPlan struct {
	mp           matmulPlan
	la, lb       layout
	da, db       bool // operand read in place
	aSize, bSize int
	// The output's axes are [batch…, lhs free…, rhs free…]: outBatch and outRows count the first two.
	outBatch, outRows int
	swap              bool // the product computed is Bᵀ·Aᵀ (run passes the operands swapped)
	dt                dtypes.DType
	backend           *Backend
}

func (d *dotPlan) run(_ *Backend, out any, in []any) {
	bk := d.backend
	a, b := in[0], in[1]
	var ta, tb any
	if !d.da {
		ta = bk.pool.get(d.dt, d.aSize)
		copyStrided(ta, a, d.la)
		a = ta
	}
	if !d.db {
		tb = bk.pool.get(d.dt, d.bSize)
		copyStrided(tb, b, d.lb)
		b = tb
	}
	if d.swap {
		a, b = b, a
	}
	switch o := out.(type) {
	case []float32:
		var addend []float32
		if d.mp.epi != nil {
			addend = in[2].([]float32)
		}
		matmulRun(&d.mp, bk.pool, o, a.([]float32), b.([]float32), addend)
	case []float64:
		matmulRun(&d.mp, bk.pool, o, a.([]float64), b.([]float64), nil)
	}
	bk.pool.put(ta)
	bk.pool.put(tb)
}

// operandView reads a row-major operand of dimensions dims as a batch of [rows, cols] matrices. It
// is read in place (direct) when the rows and the cols axes can each be walked with one stride; the
// batch axes are then walked with one stride or through a table of offsets. Otherwise the operand
// is copied through the returned layout into [batch, rows, cols] order first.
func operandView(dims, batch, rows, cols []int) (v matView, l layout, direct bool) {
	strides := rowMajorStrides(dims)
	if v, ok := stridedView(dims, strides, batch, rows, cols); ok {
		return v, layout{}, true
	}
	order := append(append(slices.Clone(batch), rows...), cols...)
	od := make([]int, len(order))
	os := make([]int, len(order))
	for i, a := range order {
		od[i], os[i] = dims[a], strides[a]
	}
	nrw, ncl := axesSize(dims, rows), axesSize(dims, cols)
	return matView{bs: nrw * ncl, rs: ncl, cs: 1}, newLayout(od, os, 0), false
}

// stridedView is the view of a tensor (dims, strides) as a batch of [rows, cols] matrices, when the
// rows and the cols axes can each be walked with one stride.
func stridedView(dims, strides, batch, rows, cols []int) (matView, bool) {
	_, rst, ok2 := groupStride(dims, strides, rows)
	_, cst, ok3 := groupStride(dims, strides, cols)
	if !ok2 || !ok3 {
		return matView{}, false
	}
	v := matView{rs: rst, cs: cst}
	if _, bs, ok := groupStride(dims, strides, batch); ok {
		v.bs = bs
	} else {
		v.boff = batchOffsets(dims, strides, batch)
	}
	return v, true
}

// batchOffsets lists the offset of every combination of the batch axes, in row-major order.
func batchOffsets(dims, strides, axes []int) []int {
	offs := []int{0}
	for _, a := range axes {
		next := make([]int, 0, len(offs)*dims[a])
		for _, o := range offs {
			for i := range dims[a] {
				next = append(next, o+i*strides[a])
			}
		}
		offs = next
	}
	return offs
}

func axesSize(dims, axes []int) int {
	x := 1
	for _, a := range axes {
		x *= dims[a]
	}
	return x
}

func (e *Executable) planGather(n *node, st step) (step, error) {
	p := n.aux.(*gatherParams)
	od := n.inputs[0].shape.Dimensions
	id := n.inputs[1].shape.Dimensions
	outDims := n.shape.Dimensions
	ostr := rowMajorStrides(od)
	istr := rowMajorStrides(id)
	outStr := rowMajorStrides(outDims)
	g := &gatherPlan{startMap: p.startIndexMap, operandDims: od, operandStride: ostr, sliceSizes: p.sizes}
	for a := range id {
		if a == p.indexVectorAxis {
			continue
		}
		g.batchDims = append(g.batchDims, id[a])
		g.idxBatchStrides = append(g.idxBatchStrides, istr[a])
	}
	if p.indexVectorAxis < len(id) {
		g.idxVecStride = istr[p.indexVectorAxis]
	}
	for a := range outDims {
		if !slices.Contains(p.offsetOutputAxes, a) {
			g.outBatchStrides = append(g.outBatchStrides, outStr[a])
		}
	}
	j := 0
	for d := range od {
		if slices.Contains(p.collapsedSliceAxes, d) {
			continue
		}
		g.blockDims = append(g.blockDims, p.sizes[d])
		g.blockIn = append(g.blockIn, ostr[d])
		g.blockOut = append(g.blockOut, outStr[p.offsetOutputAxes[j]])
		j++
	}
	st.run = func(_ *Backend, out any, in []any) {
		idx := toInts(in[1])
		switch o := out.(type) {
		case []float32:
			gatherRun(g, o, in[0].([]float32), idx)
		case []float64:
			gatherRun(g, o, in[0].([]float64), idx)
		case []int32:
			gatherRun(g, o, in[0].([]int32), idx)
		case []int64:
			gatherRun(g, o, in[0].([]int64), idx)
		case []bool:
			gatherRun(g, o, in[0].([]bool), idx)
		default:
			panic(fmt.Sprintf("cpu: Gather on %T", out))
		}
	}
	return st, nil
}

func (e *Executable) planScatter(n *node, st step) (step, error) {
	p := n.aux.(*scatterParams)
	od := n.inputs[0].shape.Dimensions
	id := n.inputs[1].shape.Dimensions
	ud := n.inputs[2].shape.Dimensions
	istr, ustr := rowMajorStrides(id), rowMajorStrides(ud)
	s := &scatterPlan{scatterTo: p.scatterTo, operandDims: od, operandStride: rowMajorStrides(od)}
	for a := range id {
		if a == p.indexVectorAxis {
			continue
		}
		s.batchDims = append(s.batchDims, id[a])
		s.idxBatchStrides = append(s.idxBatchStrides, istr[a])
	}
	if p.indexVectorAxis < len(id) {
		s.idxVecStride = istr[p.indexVectorAxis]
	}
	for a := range ud {
		if !slices.Contains(p.updateWindowAxes, a) {
			s.updBatchStrides = append(s.updBatchStrides, ustr[a])
		}
	}
	var winOperand []int
	for d := range od {
		if !slices.Contains(p.insertedWindowAxes, d) {
			winOperand = append(winOperand, d)
		}
	}
	for j, a := range p.updateWindowAxes {
		s.winDims = append(s.winDims, ud[a])
		s.winUpdStrides = append(s.winUpdStrides, ustr[a])
		s.winOperandAxes = append(s.winOperandAxes, winOperand[j])
	}
	st.run = func(_ *Backend, out any, in []any) {
		copyFlat(out, in[0])
		idx := toInts(in[1])
		switch o := out.(type) {
		case []float32:
			scatterRun(s, o, in[2].([]float32), idx)
		case []float64:
			scatterRun(s, o, in[2].([]float64), idx)
		case []int32:
			scatterRun(s, o, in[2].([]int32), idx)
		case []int64:
			scatterRun(s, o, in[2].([]int64), idx)
		default:
			panic(fmt.Sprintf("cpu: ScatterSum on %T", out))
		}
	}
	return st, nil
}

// planBinary plans an element-wise binary op. An operand that is broadcast (a BroadcastInDim
// step, or an operand with size-1 axes) is read through its broadcast layout inside the op when
// the layout's innermost stride is 0 or 1 and the values are numbers, so the broadcast is never
// materialised (the BroadcastInDim step is then dropped if nothing else reads it); otherwise it is
// expanded first.
func (e *Executable) planBinary(n *node, st step) (step, error) {
	op := n.op
	size := n.shape.Size()
	numeric := n.shape.DType != dtypes.Bool && n.shape.DType == n.inputs[0].shape.DType
	var layouts [2]*layout
	st.ins = slices.Clone(st.ins)
	for i := range 2 {
		src := e.steps[st.ins[i]]
		var l *layout
		switch {
		case src.kind == kindCompute && src.bcast != nil:
			l = src.bcast
			if inner(*l) <= 1 && numeric {
				st.ins[i] = src.ins[0]
				layouts[i] = l
			}
		case n.inputs[i].shape.Size() != size && n.inputs[i].shape.Size() != 1:
			bl := broadcastLayout(n.inputs[i].shape.Dimensions, n.shape.Dimensions, identityAxes(n.shape.Rank()))
			if inner(bl) <= 1 && numeric {
				layouts[i] = &bl
				continue
			}
			x := st.ins[i]
			e.steps = append(e.steps, step{kind: kindCompute, op: backends.OpTypeBroadcastInDim,
				shape: shapesWithDType(n.shape.Dimensions, n.inputs[i].shape.DType), ins: []int{x},
				run: func(_ *Backend, out any, in []any) { copyStrided(out, in[0], bl) }})
			s := len(e.steps) - 1
			e.steps[s].root = s
			st.ins[i] = s
		}
	}
	if layouts[0] != nil && layouts[1] != nil {
		// Both broadcast: expand the first.
		l0 := *layouts[0]
		x := st.ins[0]
		e.steps = append(e.steps, step{kind: kindCompute, op: backends.OpTypeBroadcastInDim,
			shape: shapesWithDType(n.shape.Dimensions, n.inputs[0].shape.DType), ins: []int{x},
			run: func(_ *Backend, out any, in []any) { copyStrided(out, in[0], l0) }})
		s := len(e.steps) - 1
		e.steps[s].root = s
		st.ins[0] = s
		layouts[0] = nil
	}
	st.ew = n.shape.DType == dtypes.Float32 && numeric && fusableBinary[op]
	st.ewIn = layouts
	switch {
	case layouts[0] != nil:
		l := *layouts[0]
		st.run = func(_ *Backend, out any, in []any) { runBinaryBroadcast(op, out, in[1], in[0], l, true) }
	case layouts[1] != nil:
		l := *layouts[1]
		st.run = func(_ *Backend, out any, in []any) { runBinaryBroadcast(op, out, in[0], in[1], l, false) }
	default:
		st.run = func(_ *Backend, out any, in []any) { runBinary(op, out, in[0], in[1]) }
	}
	return st, nil
}

// inner is a layout's innermost stride (0 for a scalar layout).
func inner(l layout) int {
	if len(l.dims) == 0 {
		return 0
	}
	return l.strides[len(l.dims)-1]
}

// runBinaryBroadcast computes out = full op b (or b op full when left) where b is read through l.
func runBinaryBroadcast(op backends.OpType, out, full, b any, l layout, left bool) {
	switch o := out.(type) {
	case []float32:
		binaryBroadcast(op, o, full.([]float32), b.([]float32), l, left)
	case []float64:
		binaryBroadcast(op, o, full.([]float64), b.([]float64), l, left)
	case []int32:
		binaryBroadcast(op, o, full.([]int32), b.([]int32), l, left)
	case []int64:
		binaryBroadcast(op, o, full.([]int64), b.([]int64), l, left)
	case []int8:
		binaryBroadcast(op, o, full.([]int8), b.([]int8), l, left)
	case []int16:
		binaryBroadcast(op, o, full.([]int16), b.([]int16), l, left)
	case []uint8:
		binaryBroadcast(op, o, full.([]uint8), b.([]uint8), l, left)
	case []uint16:
		binaryBroadcast(op, o, full.([]uint16), b.([]uint16), l, left)
	case []uint32:
		binaryBroadcast(op, o, full.([]uint32), b.([]uint32), l, left)
	case []uint64:
		binaryBroadcast(op, o, full.([]uint64), b.([]uint64), l, left)
	default:
		panic(fmt.Sprintf("cpu: broadcast %s on %T", op, out))
	}
}

func binaryBroadcast[T number](op backends.OpType, out, full, b []T, l layout, left bool) {
	scalarFull := len(full) == 1 && len(out) != 1
	walk(l, func(o, p, n, s int) {
		f := full
		if !scalarFull {
			f = full[o : o+n]
		}
		bb := b[p : p+1]
		if s == 1 {
			bb = b[p : p+n]
		}
		if n == 1 {
			f, bb = f[:1], bb[:1]
		}
		if left {
			binaryNum(op, out[o:o+n], bb, f)
		} else {
			binaryNum(op, out[o:o+n], f, bb)
		}
	})
}

// removeDead turns compute steps that no step or output reads into dead steps, which the executor
// skips (a BroadcastInDim folded into its consumer, for instance).
func (e *Executable) removeDead() {
	uses := e.useCounts()
	for i := len(e.steps) - 1; i >= 0; i-- {
		st := &e.steps[i]
		if uses[i] == 0 && len(st.exports) == 0 && (st.kind == kindCompute || st.kind == kindAlias) {
			for _, in := range st.ins {
				uses[in]--
			}
			st.kind, st.ins, st.run = kindDead, nil, nil
		}
	}
}

// foldDotTransposes lets a DotGeneral whose only reader is a Transpose write its result in the
// transposed order directly, when in that order the product's rows and columns can each be walked
// with one stride and the columns are contiguous (the batch axes may need a table of offsets). The
// Transpose step then runs the product and the product's own step is dropped: the result is the same
// numbers in the same places, without the pass that moved them.
func (e *Executable) foldDotTransposes() {
	uses := e.useCounts()
	for i := range e.steps {
		t := &e.steps[i]
		if t.kind != kindCompute || t.perm == nil {
			continue
		}
		d := &e.steps[t.ins[0]]
		if d.kind != kindCompute || d.dot == nil || uses[t.ins[0]] != 1 {
			continue
		}
		dd := d.shape.Dimensions
		tstr := rowMajorStrides(t.shape.Dimensions)
		str := make([]int, len(dd)) // stride in t's output of each of d's axes
		for j, a := range t.perm {
			str[a] = tstr[j]
		}
		axes := func(lo, hi int) []int {
			x := make([]int, 0, hi-lo)
			for a := lo; a < hi; a++ {
				x = append(x, a)
			}
			return x
		}
		nb, nrw := d.dot.outBatch, d.dot.outRows
		v, ok := stridedView(dd, str, axes(0, nb), axes(nb, nb+nrw), axes(nb+nrw, len(dd)))
		nd := *d.dot
		switch {
		case !ok:
			continue
		case v.cs == 1 || nd.mp.n == 1:
			v.cs = 1
			nd.mp.c = v
		case v.rs == 1 || nd.mp.m == 1:
			// The transposed order is Cᵀ: compute Cᵀ = Bᵀ·Aᵀ, whose rows are contiguous. Every
			// element is the same sum of the same products in the same order (x·y = y·x exactly).
			mp := &nd.mp
			mp.m, mp.n = mp.n, mp.m
			mp.a, mp.b = matView{bs: mp.b.bs, boff: mp.b.boff, rs: mp.b.cs, cs: mp.b.rs},
				matView{bs: mp.a.bs, boff: mp.a.boff, rs: mp.a.cs, cs: mp.a.rs}
			mp.c = matView{bs: v.bs, boff: v.boff, rs: v.cs, cs: 1}
			nd.swap = true
		default:
			continue
		}
		t.op, t.ins, t.run, t.dot, t.perm = backends.OpTypeDotGeneral, d.ins, nd.run, &nd, nil
		d.kind, d.ins, d.run, d.dot = kindDead, nil, nil, nil
	}
}

// planWhere plans Where(cond, onTrue, onFalse). An operand made by BroadcastInDim is read in place:
// a broadcast scalar as a scalar, any other through the broadcast's layout (the attention mask and
// its -inf fill then never exist at full size).
func (e *Executable) planWhere(n *node, st step) step {
	st.ins = slices.Clone(st.ins)
	var ls [3]*layout
	strided := false
	for i := range 3 {
		src := e.steps[st.ins[i]]
		if src.kind != kindCompute || src.bcast == nil {
			continue
		}
		st.ins[i] = src.ins[0]
		if e.steps[src.ins[0]].shape.Size() != 1 || n.shape.Size() == 1 {
			ls[i], strided = src.bcast, true
		}
	}
	if !strided {
		st.run = func(_ *Backend, out any, in []any) { runWhere(out, in[0], in[1], in[2]) }
		return st
	}
	st.run = func(_ *Backend, out any, in []any) { runWhereStrided(out, in, ls) }
	return st
}

func runWhereStrided(out any, in []any, ls [3]*layout) {
	c := in[0].([]bool)
	switch o := out.(type) {
	case []float32:
		whereStrided(o, c, in[1].([]float32), in[2].([]float32), ls, whereFull32)
	case []float64:
		whereStrided(o, c, in[1].([]float64), in[2].([]float64), ls, whereFull)
	case []int8:
		whereStrided(o, c, in[1].([]int8), in[2].([]int8), ls, whereFull)
	case []int16:
		whereStrided(o, c, in[1].([]int16), in[2].([]int16), ls, whereFull)
	case []int32:
		whereStrided(o, c, in[1].([]int32), in[2].([]int32), ls, whereFull)
	case []int64:
		whereStrided(o, c, in[1].([]int64), in[2].([]int64), ls, whereFull)
	case []uint8:
		whereStrided(o, c, in[1].([]uint8), in[2].([]uint8), ls, whereFull)
	case []uint16:
		whereStrided(o, c, in[1].([]uint16), in[2].([]uint16), ls, whereFull)
	case []uint32:
		whereStrided(o, c, in[1].([]uint32), in[2].([]uint32), ls, whereFull)
	case []uint64:
		whereStrided(o, c, in[1].([]uint64), in[2].([]uint64), ls, whereFull)
	case []bool:
		whereStrided(o, c, in[1].([]bool), in[2].([]bool), ls, whereFull)
	default:
		panic(fmt.Sprintf("cpu: Where on %T", out))
	}
}

// whereStrided is Where with each operand whole (len(out)), a scalar, or read through a layout
// (ls[i] non-nil), fuseChunk elements at a time: a scalar is spread over a chunk once, a layout's
// elements are gathered chunk by chunk, and sel selects between whole chunks.
func whereStrided[T any](out []T, c []bool, a, b []T, ls [3]*layout, sel func(out []T, c []bool, a, b []T)) {
	n := len(out)
	var cc [fuseChunk]bool
	var ca, cb [fuseChunk]T
	if ls[0] == nil && len(c) == 1 && n > 1 {
		fillOf(cc[:min(n, fuseChunk)], c[0])
	}
	if ls[1] == nil && len(a) == 1 && n > 1 {
		fillOf(ca[:min(n, fuseChunk)], a[0])
	}
	if ls[2] == nil && len(b) == 1 && n > 1 {
		fillOf(cb[:min(n, fuseChunk)], b[0])
	}
	for i0 := 0; i0 < n; i0 += fuseChunk {
		m := min(fuseChunk, n-i0)
		sel(out[i0:i0+m], whereChunk(cc[:], c, ls[0], i0, m, n), whereChunk(ca[:], a, ls[1], i0, m, n),
			whereChunk(cb[:], b, ls[2], i0, m, n))
	}
}

// whereChunk is elements [i0, i0+m) of a Where operand x of n elements: gathered into buf through
// l, buf itself when x is a spread scalar, else x's own elements.
func whereChunk[T any](buf, x []T, l *layout, i0, m, n int) []T {
	switch {
	case l != nil:
		layoutRangeOf(buf[:m], x, *l, i0)
		return buf[:m]
	case len(x) == 1 && n > 1:
		return buf[:m]
	default:
		return x[i0 : i0+m]
	}
}

// fillOf sets every element of d to v.
func fillOf[T any](d []T, v T) {
	for i := range d {
		d[i] = v
	}
}

// rowSumLength is the row length when a reduction's layout adds up contiguous rows of at most
// fuseChunk values into consecutive outputs (fuseChunk a multiple of the row length); else 0.
func rowSumLength(l layout) int {
	var n int
	switch {
	case len(l.dims) == 1 && l.strides[0] == 0:
		n = l.dims[0]
	case len(l.dims) == 2 && l.strides[0] == 1 && l.strides[1] == 0:
		n = l.dims[1]
	default:
		return 0
	}
	if n == 0 || fuseChunk%n != 0 || l.base != 0 {
		return 0
	}
	return n
}

// foldDotAdds folds an addition into the float32 DotGeneral that is one of its operands and has no
// other reader: the bias added to a projection, or the residual added to a block's output. The
// product then adds the other operand (whole, a scalar, or read through its broadcast layout) to
// each element as it stores it, which is the same float32 addition, and the Add's step runs the
// product. A product whose contraction is empty is left alone.
func (e *Executable) foldDotAdds() {
	uses := e.useCounts()
	for i := range e.steps {
		add := &e.steps[i]
		if add.kind != kindCompute || add.op != backends.OpTypeAdd || add.shape.DType != dtypes.Float32 || len(add.ins) != 2 {
			continue
		}
		for side := range 2 {
			di, oi := add.ins[side], add.ins[1-side]
			d := &e.steps[di]
			if d.kind != kindCompute || d.dot == nil || d.dot.mp.epi != nil || uses[di] != 1 || add.ewIn[side] != nil ||
				d.dot.dt != dtypes.Float32 || d.dot.mp.k == 0 || !d.shape.Equal(add.shape) {
				continue
			}
			epi := &epilogue{bl: add.ewIn[1-side]}
			if epi.bl == nil && e.steps[oi].shape.Size() == 1 && add.shape.Size() != 1 {
				epi.scalar = true
			}
			nd := *d.dot
			nd.mp.epi = epi
			add.op, add.ins, add.run, add.dot, add.ew, add.ewIn = backends.OpTypeDotGeneral, []int{d.ins[0], d.ins[1], oi}, nd.run, &nd, false, [2]*layout{}
			d.kind, d.ins, d.run, d.dot = kindDead, nil, nil, nil
			break
		}
	}
}

// useCounts counts each step's readers; an output counts twice more, so that it is never taken for
// a step with one reader, or with none.
func (e *Executable) useCounts() []int {
	uses := make([]int, len(e.steps))
	for _, st := range e.steps {
		for _, in := range st.ins {
			uses[in]++
		}
	}
	for _, o := range e.outputs {
		uses[o] += 2
	}
	return uses
}
