package cpu

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Running a seed ensemble one member at a time.
//
// phaseprobe trains K models at once by stacking their parameters on a leading axis of size K, so
// that one graph (and one compilation) serves the family. Nearly every operation of such a graph
// treats the K slices of that axis independently: member m's activations depend only on member
// m's parameters and batch. Executed op by op over the whole stack, each intermediate is K times
// one model's, and at d_model 64 an ensemble's activations no longer fit the L2 cache: the K = 8
// step cost 23.9 ms per model against 19.9 ms for a single model (make bench, the session before
// this file; pprof put the difference in the element-wise passes). Run member by member, a step's
// working set is one model's.
//
// At compile time every node whose result has the member axis first and whose value on member m
// depends only on member m's slices of its operands (element-wise ops; Reshape, Transpose and
// reductions that keep axis 0; broadcasts that add axis 0 or fill it from the operand's axis 0 or
// from an axis of size 1; products batched
// over axis 0, or whose left operand's first free axis is axis 0 and whose right one is shared) is
// a member node; the others (the sum of the members' losses, anything on scalars such as the
// learning-rate schedule) run once, whole. Member nodes are grouped into regions, the largest sets
// that no whole node separates: region r runs after the whole nodes that it reads, and whole nodes
// that read region r's results run after it. A region is compiled as its own plan for one member
// (axis 0 of size 1, with all the fusion and folding of a normal plan), and runs K times, on
// member m's slices of the values it reads, writing member m's slices of the values read after it;
// with more than one worker the members are spread over goroutines. Every member computes the same
// float32 operations on the same numbers as the stacked plan did, so the results are bit-identical
// (TestMembersBitIdentical and the cases in members_cases_test.go); "cpu:nomembers" turns this off.

// memberRegion is a plan for one member of a region and how to feed it.
type memberRegion struct {
	exec   *Executable
	K      int
	par    int          // goroutines the members are spread over
	nIn    int          // the region step's inputs before its exports
	params []memberFeed // how each parameter of exec is read from the region step's inputs
	outLen []int        // each output's size for one member
}

// memberFeed is one parameter of a region's plan: region input in, sliced (member m's
// slice of size elements) or whole.
type memberFeed struct {
	in     int
	sliced bool
	size   int
}

// memberOut marks the region's i-th output (i ≥ 1; output 0 is the region step's own).
type memberOut int

// splitMembers returns a builder whose nodes run the computation region by region, with the
// outputs' nodes in it, or nil when the computation has no member axis or no region worth it
// (one with a matrix product).
func (b *Builder) splitMembers(outs []*node, live []bool) (*Builder, []*node, error) {
	K := memberAxis(b)
	if K < 2 {
		return nil, nil, nil
	}
	member, stage := b.memberRegions(live, K)
	if !slices.Contains(member, true) {
		return nil, nil, nil
	}
	return b.regionBuilder(outs, live, member, stage, K)
}

// memberAxis guesses the member axis's size: the leading dimension most parameters share (0 when
// none reaches 2). A wrong guess costs speed, never correctness: member nodes are chosen by
// shapes alone, and slicing axis 0 commutes with every op that is made one.
func memberAxis(b *Builder) int {
	count := map[int]int{}
	for _, p := range b.params {
		if p.shape.Rank() >= 1 && p.shape.Dimensions[0] >= 2 {
			count[p.shape.Dimensions[0]]++
		}
	}
	K, best := 0, 0
	for d, c := range count {
		if c > best || (c == best && d < K) {
			K, best = d, c
		}
	}
	return K
}

// slicedInputs reports, for a node whose result has K on axis 0, which operands a member reads
// as its slice (the others it reads whole), and whether its value on member m depends only on
// those slices and the whole operands.
func slicedInputs(n *node, K int) ([]bool, bool) {
	if n.shape.Rank() == 0 || n.shape.Dimensions[0] != K || len(n.inputs) == 0 {
		return nil, false
	}
	lead := func(x *node) int {
		if x.shape.Rank() == 0 {
			return -1
		}
		return x.shape.Dimensions[0]
	}
	sl := make([]bool, len(n.inputs))
	op := n.op
	switch {
	case slices.Contains(unaryOps, op) || op == backends.OpTypeConvertDType || op == backends.OpTypeReshape:
		sl[0] = true
		return sl, lead(n.inputs[0]) == K
	case slices.Contains(binaryOps, op) || op == backends.OpTypeWhere || op == backends.OpTypeClamp:
		for i, x := range n.inputs {
			switch lead(x) {
			case K:
				sl[i] = true
			case -1, 1:
			default:
				return nil, false
			}
		}
		return sl, true
	case op == backends.OpTypeTranspose:
		sl[0] = true
		return sl, n.aux.([]int)[0] == 0
	case op == backends.OpTypeBroadcastInDim:
		// The operand axis that becomes output axis 0 (GoMLX does not require axes to increase): none,
		// the operand is read whole; its axis 0, sliced (or whole when of size 1); a later axis, only
		// when of size 1.
		switch i := slices.Index(n.aux.([]int), 0); {
		case i < 0:
		case i == 0:
			sl[0] = lead(n.inputs[0]) == K
		default:
			return sl, n.inputs[0].shape.Dimensions[i] == 1
		}
		return sl, true
	case op == backends.OpTypeReduceSum || op == backends.OpTypeReduceMax || op == backends.OpTypeReduceMin ||
		op == backends.OpTypeReduceProduct:
		sl[0] = true
		return sl, !slices.Contains(n.aux.([]int), 0)
	case op == backends.OpTypeArgMinMax:
		sl[0] = true
		return sl, n.aux.(*argParams).axis != 0
	case op == backends.OpTypeDotGeneral:
		p := n.aux.(*dotParams)
		if len(p.lb) > 0 {
			sl[0], sl[1] = true, true
			return sl, p.lb[0] == 0 && p.rb[0] == 0
		}
		sl[0] = true
		return sl, !slices.Contains(p.lc, 0)
	}
	return nil, false
}

// memberRegions chooses the member nodes and numbers the stages: a whole node's stage is the gap
// it runs in (gap s runs before region s), a member node's the region it runs in. Regions without a
// matrix product are not worth a plan of their own; their nodes run whole.
func (b *Builder) memberRegions(live []bool, K int) (member []bool, stage []int) {
	forced := make([]bool, len(b.nodes)) // must run whole
	for {
		member, stage = make([]bool, len(b.nodes)), make([]int, len(b.nodes))
		for _, n := range b.nodes {
			if !live[n.id] {
				continue
			}
			sl, ok := slicedInputs(n, K)
			if ok && !forced[n.id] {
				for i, x := range n.inputs {
					if member[x.id] && !sl[i] { // a member value read whole: only after its region
						ok = false
					}
				}
			}
			member[n.id] = ok && !forced[n.id]
			for _, x := range n.inputs {
				s := stage[x.id]
				if member[x.id] && !member[n.id] {
					s++
				}
				stage[n.id] = max(stage[n.id], s)
			}
		}
		hasDot := map[int]bool{}
		for _, n := range b.nodes {
			if member[n.id] && n.op == backends.OpTypeDotGeneral {
				hasDot[stage[n.id]] = true
			}
		}
		again := false
		for _, n := range b.nodes {
			if member[n.id] && !hasDot[stage[n.id]] {
				forced[n.id], again = true, true
			}
		}
		if !again {
			return member, stage
		}
	}
}

// regionBuilder lays the computation out as gaps and regions: each gap's whole nodes in builder
// order, then the region's step and one node per further output of it.
func (b *Builder) regionBuilder(outs []*node, live, member []bool, stage []int, K int) (*Builder, []*node, error) {
	ob := newBuilder(b.backend, b.name)
	ob.names = slices.Clone(b.names)
	outer := make([]*node, len(b.nodes))
	for _, p := range b.params {
		outer[p.id] = ob.add(backends.OpTypeParameter, p.shape, p.aux)
		ob.params = append(ob.params, outer[p.id])
	}
	isOut := make([]bool, len(b.nodes))
	for _, o := range outs {
		isOut[o.id] = true
	}
	readLater := make([]bool, len(b.nodes)) // read outside its region (or returned)
	for _, n := range b.nodes {
		for _, x := range n.inputs {
			if live[n.id] && member[x.id] && (!member[n.id] || stage[n.id] != stage[x.id]) {
				readLater[x.id] = true
			}
		}
	}
	last := slices.Max(stage)
	for s := 0; s <= last; s++ {
		var region []*node
		for _, n := range b.nodes {
			switch {
			case !live[n.id] || stage[n.id] != s || n.op == backends.OpTypeParameter:
			case member[n.id]:
				region = append(region, n)
			default:
				ins := make([]*node, len(n.inputs))
				for i, x := range n.inputs {
					ins[i] = outer[x.id]
				}
				outer[n.id] = ob.add(n.op, n.shape, n.aux, ins...)
			}
		}
		if len(region) == 0 {
			continue
		}
		var escaping []*node
		for _, n := range region {
			if readLater[n.id] || isOut[n.id] {
				escaping = append(escaping, n)
			}
		}
		if err := b.addRegion(ob, outer, region, escaping, K); err != nil {
			return nil, nil, err
		}
	}
	oouts := make([]*node, len(outs))
	for i, o := range outs {
		oouts[i] = outer[o.id]
	}
	return ob, oouts, nil
}

// addRegion compiles one region's plan for a single member and adds the region's step to ob.
func (b *Builder) addRegion(ob *Builder, outer []*node, region, escaping []*node, K int) error {
	// Members run on up to as many goroutines as the backend has workers; each member's plan gets
	// the workers left over (all of them for one goroutine).
	w := b.backend.cfg.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	par := max(1, min(w, K))
	mcfg := b.backend.cfg
	mcfg.Workers = max(1, w/par)
	mb := newBuilder(&Backend{cfg: mcfg, pool: b.backend.pool}, b.name+"/member")
	inRegion := map[int]*node{} // node id -> its clone in mb
	type feedKey struct {
		id     int
		sliced bool
	}
	feeds := map[feedKey]*node{}
	r := &memberRegion{K: K, par: par}
	var rIns []*node // the region step's inputs (outer nodes)
	rIn := map[int]int{}
	feed := func(x *node, sliced bool) *node {
		if c, ok := inRegion[x.id]; ok {
			return c
		}
		if c, ok := feeds[feedKey{x.id, sliced}]; ok {
			return c
		}
		shape := x.shape
		if sliced {
			shape = memberShape(x.shape)
		}
		var c *node
		if x.op == backends.OpTypeConstant && !sliced {
			c = mb.add(backends.OpTypeConstant, shape, x.aux)
		} else {
			j, ok := rIn[x.id]
			if !ok {
				j = len(rIns)
				rIn[x.id] = j
				rIns = append(rIns, outer[x.id])
			}
			c = mb.add(backends.OpTypeParameter, shape, len(mb.params))
			mb.params = append(mb.params, c)
			mb.names = append(mb.names, fmt.Sprintf("in%d", len(mb.names)))
			r.params = append(r.params, memberFeed{in: j, sliced: sliced, size: shape.Size()})
		}
		feeds[feedKey{x.id, sliced}] = c
		return c
	}
	for _, n := range region {
		sl, _ := slicedInputs(n, K)
		ins := make([]*node, len(n.inputs))
		for i, x := range n.inputs {
			ins[i] = feed(x, sl[i])
		}
		inRegion[n.id] = mb.add(n.op, memberShape(n.shape), n.aux, ins...)
	}
	mouts := make([]*node, len(escaping))
	for i, n := range escaping {
		mouts[i] = inRegion[n.id]
		r.outLen = append(r.outLen, mouts[i].shape.Size())
	}
	exec, err := mb.compilePlan(mouts, mb.live(mouts))
	if err != nil {
		return err
	}
	r.exec, r.nIn = exec, len(rIns)
	rn := ob.add(backends.OpTypeInvalid, escaping[0].shape, r, rIns...)
	ob.regions++
	outer[escaping[0].id] = rn
	for i, n := range escaping[1:] {
		outer[n.id] = ob.add(backends.OpTypeInvalid, n.shape, memberOut(i+1), rn)
	}
	return nil
}

// memberShape is shape with axis 0 of size 1.
func memberShape(s shapes.Shape) shapes.Shape {
	m := s.Clone()
	m.Dimensions[0] = 1
	return m
}

// run executes the region for every member, on r.par goroutines that claim members from a
// counter (none waits for another to be free): out is the region's output 0 and ins[r.nIn:] its
// further outputs, all for the whole ensemble. Each member writes its slices of them directly.
func (r *memberRegion) run(_ *Backend, out any, ins []any) {
	var next atomic.Int64
	work := func() {
		e := r.exec
		vals := make([]any, len(e.steps))
		owned := make([]bool, len(e.steps))
		dest := make([]any, len(r.outLen))
		for {
			m := int(next.Add(1) - 1)
			if m >= r.K {
				return
			}
			clear(vals)
			clear(owned)
			for j, f := range r.params {
				x := ins[f.in]
				if f.sliced {
					x = subFlat(x, m*f.size, (m+1)*f.size)
				}
				vals[e.params[j]] = x
			}
			for i, n := range r.outLen {
				d := out
				if i > 0 {
					d = ins[r.nIn+i-1]
				}
				dest[i] = subFlat(d, m*n, (m+1)*n)
			}
			e.run(vals, owned, dest)
		}
	}
	var wg sync.WaitGroup
	for range r.par - 1 {
		wg.Add(1)
		go func() { defer wg.Done(); work() }()
	}
	work()
	wg.Wait()
}

// subFlat is x[lo:hi] for a flat slice of any supported element type.
func subFlat(x any, lo, hi int) any {
	switch s := x.(type) {
	case []float32:
		return s[lo:hi]
	case []float64:
		return s[lo:hi]
	case []int8:
		return s[lo:hi]
	case []int16:
		return s[lo:hi]
	case []int32:
		return s[lo:hi]
	case []int64:
		return s[lo:hi]
	case []uint8:
		return s[lo:hi]
	case []uint16:
		return s[lo:hi]
	case []uint32:
		return s[lo:hi]
	case []uint64:
		return s[lo:hi]
	case []bool:
		return s[lo:hi]
	}
	panic(fmt.Sprintf("cpu: subFlat of %T", x))
}
