package cpu

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

type stepKind int

const (
	kindParam stepKind = iota
	kindConst
	kindAlias
	kindCompute
	kindDead     // removed from the plan: nothing reads it
	kindExported // computed by the fused group at step fusedAt, which writes it to its own buffer
)

// step is one entry of an execution plan. Slot i of the value table holds step i's output.
type step struct {
	kind  stepKind
	op    backends.OpType
	shape shapes.Shape
	ins   []int
	param int
	value any // constant data
	run   func(b *Backend, out any, ins []any)
	root  int     // slot whose storage this step's output is (itself unless an alias)
	bcast *layout // for BroadcastInDim: how it reads its input (consumers may read through it)
	// ew marks an element-wise float32 op that may be fused: its operands are read whole, as
	// scalars, or through ewIn[i] when that is non-nil (a broadcast read in place).
	ew   bool
	ewIn [2]*layout
	dot  *dotPlan // for DotGeneral: its plan (foldDotTransposes rewrites its output view)
	perm []int    // for Transpose: the permutation
	free []int    // storage roots released after this step
	// For a fused group: the members it also writes to their own buffers (kindExported steps).
	exports []int
	fusedAt int          // for a kindExported step: the fused group that computes it
	prog    []fusedInstr // for a fused group: its instructions
	rowSum  int          // for a float32 ReduceSum over contiguous rows: the row length (see fuseIntoRowSums)
}

// Executable is a compiled plan.
type Executable struct {
	backend   *Backend
	steps     []step
	params    []int // slot of each parameter
	names     []string
	inShapes  []shapes.Shape
	outputs   []int
	outShapes []shapes.Shape
	opsUsed   map[backends.OpType]int
	regions   int   // member regions (members.go) among the steps
	direct    []int // for each step, the output it writes when run into given storage (-1: none)
	finalized bool
}

var _ backends.Executable = (*Executable)(nil)

// Finalize releases the plan.
func (e *Executable) Finalize() { e.finalized = true; e.steps = nil }

// Inputs returns the parameters' names and shapes.
func (e *Executable) Inputs() ([]string, []shapes.Shape) { return e.names, e.inShapes }

// Outputs returns the outputs' shapes.
func (e *Executable) Outputs() []shapes.Shape { return e.outShapes }

// OpsUsed returns how many nodes of each operation the computation had before planning (after
// dead-node removal). It is what the package documentation's op list was made from.
func (e *Executable) OpsUsed() map[backends.OpType]int { return e.opsUsed }

// Compile plans the computation: dead nodes are dropped, duplicate nodes merged, small constant
// sub-graphs folded, layouts and strides of every op computed, and each intermediate buffer's
// last use found so that it goes back to the pool right after it. A seed ensemble's member-wise
// part is planned for one member and run member by member (members.go).
func (b *Builder) Compile(outputs []backends.Op, _ []*backends.ShardingSpec) (backends.Executable, error) {
	outs, err := b.in(outputs...)
	if err != nil {
		return nil, err
	}
	live := b.live(outs)
	used := map[backends.OpType]int{}
	for _, n := range b.nodes {
		if live[n.id] {
			used[n.op]++
		}
	}
	pb, pouts, plive := b, outs, live
	if !b.backend.cfg.NoMembers {
		ob, oouts, err := b.splitMembers(outs, live)
		if err != nil {
			return nil, err
		}
		if ob != nil {
			pb, pouts, plive = ob, oouts, ob.live(oouts)
		}
	}
	e, err := pb.compilePlan(pouts, plive)
	if err != nil {
		return nil, err
	}
	e.opsUsed, e.regions = used, pb.regions
	b.backend.mu.Lock()
	if b.backend.compiled == nil {
		b.backend.compiled = map[backends.OpType]int{}
	}
	for op, c := range used {
		b.backend.compiled[op] += c
	}
	b.backend.mu.Unlock()
	return e, nil
}

// compilePlan plans the live nodes for outputs outs.
func (b *Builder) compilePlan(outs []*node, live []bool) (*Executable, error) {
	e := &Executable{backend: b.backend, names: slices.Clone(b.names)}
	slot, err := e.planNodes(b, live)
	if err != nil {
		return nil, err
	}
	for _, p := range b.params {
		e.params = append(e.params, slot[p.id])
		e.inShapes = append(e.inShapes, p.shape)
	}
	for _, o := range outs {
		e.outputs = append(e.outputs, slot[o.id])
		e.outShapes = append(e.outShapes, o.shape)
	}
	e.foldDotTransposes()
	e.foldDotAdds()
	if !b.backend.cfg.NoFusion {
		e.fuse()
	}
	e.removeDead()
	e.planFrees()
	e.planDirect()
	return e, nil
}

// planDirect finds the steps that can write an output straight into storage the caller gives
// (run with dest, as a member region does): each output computed by a step of its own, once.
func (e *Executable) planDirect() {
	e.direct = make([]int, len(e.steps))
	for i := range e.direct {
		e.direct[i] = -1
	}
	for i, o := range e.outputs {
		st := e.steps[o]
		if st.root == o && (st.kind == kindCompute || st.kind == kindExported) && e.direct[o] < 0 {
			e.direct[o] = i
		}
	}
}

// live marks the nodes the outputs depend on; parameters always stay (they are the executable's
// inputs).
func (b *Builder) live(outs []*node) []bool {
	live := make([]bool, len(b.nodes))
	var mark func(n *node)
	mark = func(n *node) {
		if live[n.id] {
			return
		}
		live[n.id] = true
		for _, x := range n.inputs {
			mark(x)
		}
	}
	for _, o := range outs {
		mark(o)
	}
	for _, p := range b.params {
		live[p.id] = true
	}
	return live
}

// planNodes turns the live nodes, in builder order (a topological order), into steps: duplicates
// are merged, small computations on constants are run now, and every other node is planned. It
// returns the slot of each node's value.
func (e *Executable) planNodes(b *Builder, live []bool) ([]int, error) {
	slot := make([]int, len(b.nodes))
	cse := map[string]int{}
	for _, n := range b.nodes {
		if !live[n.id] {
			continue
		}
		ins := make([]int, len(n.inputs))
		for i, x := range n.inputs {
			ins[i] = slot[x.id]
		}
		key := cseKey(n, ins)
		if s, ok := cse[key]; ok && key != "" {
			slot[n.id] = s
			continue
		}
		st, err := e.plan(n, ins)
		if err != nil {
			return nil, err
		}
		st = e.foldConstant(n, st)
		s := len(e.steps)
		st.root = s
		if st.kind == kindAlias {
			st.root = e.steps[ins[0]].root
		}
		if st.kind == kindExported { // a further output of a member region (members.go)
			e.steps[st.fusedAt].exports = append(e.steps[st.fusedAt].exports, s)
			st.ins = nil
		}
		e.steps = append(e.steps, st)
		slot[n.id] = s
		if key != "" {
			cse[key] = s
		}
	}
	return slot, nil
}

// foldConstant runs a small computation on constants at compile time (and makes an alias of a
// constant a constant).
func (e *Executable) foldConstant(n *node, st step) step {
	if st.kind == kindCompute && n.op != backends.OpTypeInvalid && n.shape.Size() <= 1<<12 && allConst(e.steps, st.ins) {
		vals := make([]any, len(st.ins))
		for i, s := range st.ins {
			vals[i] = e.steps[s].value
		}
		out := makeFlat(n.shape.DType, n.shape.Size())
		st.run(e.backend, out, vals)
		return step{kind: kindConst, op: backends.OpTypeConstant, shape: n.shape, value: out}
	}
	if st.kind == kindAlias && e.steps[st.ins[0]].kind == kindConst {
		return step{kind: kindConst, op: backends.OpTypeConstant, shape: n.shape, value: e.steps[st.ins[0]].value}
	}
	return st
}

func allConst(steps []step, ins []int) bool {
	if len(ins) == 0 {
		return false
	}
	for _, s := range ins {
		if steps[s].kind != kindConst {
			return false
		}
	}
	return true
}

// cseKey identifies a node by what it computes; "" for nodes that are never merged.
func cseKey(n *node, ins []int) string {
	switch n.op {
	case backends.OpTypeParameter, backends.OpTypeInvalid:
		return ""
	case backends.OpTypeConstant:
		if n.shape.Size() > 64 {
			return ""
		}
		return fmt.Sprintf("c%s%v", n.shape, n.aux)
	}
	aux := n.aux
	switch a := aux.(type) {
	case *dotParams:
		aux = *a
	case *gatherParams:
		aux = *a
	case *scatterParams:
		aux = *a
	case *sliceParams:
		aux = *a
	case *argParams:
		aux = *a
	}
	return fmt.Sprintf("%d%s%v%v", n.op, n.shape, ins, aux)
}

// planFrees computes, for every storage root, the step after which nothing reads it.
func (e *Executable) planFrees() {
	last := make([]int, len(e.steps))
	for i := range last {
		last[i] = -1
	}
	for i, st := range e.steps {
		for _, in := range st.ins {
			r := e.steps[in].root
			last[r] = max(last[r], i)
		}
	}
	escapes := map[int]bool{}
	for _, o := range e.outputs {
		escapes[e.steps[o].root] = true
	}
	for r, l := range last {
		if e.steps[r].root != r || escapes[r] || e.steps[r].kind == kindConst {
			continue
		}
		if l < 0 { // never read (e.g. an unused parameter or a computed node read only by aliases)
			l = r
		}
		if e.steps[r].kind == kindExported {
			l = max(l, e.steps[r].fusedAt)
		}
		e.steps[l].free = append(e.steps[l].free, r)
	}
}

// Execute runs the plan. Donated inputs become the executable's: their storage is reused or
// returned as an output.
func (e *Executable) Execute(inputs []backends.Buffer, donate []bool, _ backends.DeviceNum) ([]backends.Buffer, error) {
	if e.finalized {
		return nil, fmt.Errorf("cpu backend: executable already finalized")
	}
	if len(inputs) != len(e.params) {
		return nil, fmt.Errorf("cpu backend: %d inputs for %d parameters", len(inputs), len(e.params))
	}
	vals := make([]any, len(e.steps))
	owned := make([]bool, len(e.steps)) // storage the executable may release or hand out
	for i, x := range inputs {
		buf, err := e.backend.buffer(x)
		if err != nil {
			return nil, fmt.Errorf("input %d: %w", i, err)
		}
		if !buf.shape.Equal(e.inShapes[i]) {
			return nil, fmt.Errorf("cpu backend: input %d (%s) has shape %s, want %s", i, e.names[i], buf.shape, e.inShapes[i])
		}
		s := e.params[i]
		vals[s] = buf.flat
		if i < len(donate) && donate[i] {
			owned[s] = true
			buf.valid, buf.flat = false, nil
		}
	}
	flats := e.run(vals, owned, nil)
	res := make([]backends.Buffer, len(flats))
	for i, flat := range flats {
		res[i] = &Buffer{shape: e.outShapes[i].Clone(), flat: flat, valid: true}
	}
	return res, nil
}

// run runs the plan on the parameters in vals (owned[s]: the plan may release or return parameter
// s's storage). With dest nil it returns the outputs' storage, which belongs to the caller;
// otherwise it writes output i into dest[i] (computing it there where it can) and returns nil.
func (e *Executable) run(vals []any, owned []bool, dest []any) []any {
	pool := e.backend.pool
	alloc := func(s int) any {
		if dest != nil && e.direct[s] >= 0 {
			return dest[e.direct[s]]
		}
		owned[s] = true
		return pool.get(e.steps[s].shape.DType, e.steps[s].shape.Size())
	}
	for i := range e.steps {
		st := &e.steps[i]
		switch st.kind {
		case kindParam, kindDead, kindExported:
		case kindConst:
			vals[i] = st.value
		case kindAlias:
			vals[i] = vals[st.ins[0]]
		case kindCompute:
			ins := make([]any, len(st.ins), len(st.ins)+len(st.exports))
			for j, s := range st.ins {
				ins[j] = vals[s]
			}
			for _, m := range st.exports {
				vals[m] = alloc(m)
				ins = append(ins, vals[m])
			}
			vals[i] = alloc(i)
			st.run(e.backend, vals[i], ins)
		}
		for _, r := range st.free {
			if owned[r] {
				pool.put(vals[r])
				owned[r] = false
			}
		}
	}
	var res []any
	if dest == nil {
		res = make([]any, len(e.outputs))
	}
	given := map[int]bool{}
	for i, o := range e.outputs {
		r := e.steps[o].root
		flat := vals[o]
		if dest != nil {
			if e.direct[o] != i {
				copyFlat(dest[i], flat)
			}
			continue
		}
		if !owned[r] || given[r] {
			c := pool.get(e.outShapes[i].DType, e.outShapes[i].Size())
			copyFlat(c, flat)
			flat = c
		} else {
			given[r] = true
		}
		res[i] = flat
	}
	// Donated inputs that are neither read any more nor returned go back to the pool.
	for _, s := range e.params {
		if owned[s] && !given[s] {
			pool.put(vals[s])
		}
	}
	return res
}

func dtypeOf[T any]() dtypes.DType {
	var z T
	return flatDType([]T{z}[:0:0])
}
