package cpu

import (
	"runtime"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/backends"
)

var fusableBinary = map[backends.OpType]bool{
	backends.OpTypeAdd: true, backends.OpTypeSub: true, backends.OpTypeMul: true, backends.OpTypeDiv: true,
	backends.OpTypeMax: true, backends.OpTypeMin: true, backends.OpTypePow: true,
}

// fuseChunk is the number of elements a fused group computes at a time: small enough that every
// intermediate stays in the L1 cache, a multiple of the vector kernels' widths (8 lanes, erf's
// 256-element blocks) so a fused group's results are bit-identical to the unfused ops'.
const fuseChunk = 512

// operand of a fused instruction: another instruction's chunk (internal ≥ 0), or an external
// input read whole, as a scalar, or through a broadcast layout.
type fusedOperand struct {
	internal int // index of the producing instruction, or -1
	ext      int // index into the group's inputs
	scalar   bool
	bl       *layout
}

type fusedInstr struct {
	op     backends.OpType
	binary bool
	args   [2]fusedOperand
}

// fuse merges chains of element-wise float32 ops into one step each. A step joins a group when it
// has the group's size and each of its readers is either a member that reads it whole or a step
// after the group's last member (its root); the group then runs chunk by chunk, so a member read only
// inside the group never exists in memory. A member that is read after the group, or is an output,
// is exported: the group also writes it to its own buffer.
func (e *Executable) fuse() {
	readers := make([][]int, len(e.steps))
	for i, st := range e.steps {
		for _, in := range st.ins {
			readers[in] = append(readers[in], i)
		}
	}
	isOutput := make([]bool, len(e.steps))
	for _, o := range e.outputs {
		isOutput[o] = true
	}
	inGroup := make([]bool, len(e.steps))
	for r := len(e.steps) - 1; r >= 0; r-- {
		root := &e.steps[r]
		if !root.ew || root.kind != kindCompute || inGroup[r] {
			continue
		}
		member := e.groupOf(r, readers, inGroup)
		if len(member) == 1 {
			continue
		}
		members := make([]int, 0, len(member))
		for m := range member {
			members = append(members, m)
			inGroup[m] = true
		}
		slices.Sort(members) // plan order is a topological order
		prog, exts := e.program(members, member)
		var exports []int
		var exportOf []int // instruction index of each export
		for k, m := range members {
			if m != r && (isOutput[m] || slices.ContainsFunc(readers[m], func(j int) bool { return j > r })) {
				exports = append(exports, m)
				exportOf = append(exportOf, k)
			}
		}
		for _, m := range members[:len(members)-1] {
			st := &e.steps[m]
			st.ins, st.run = nil, nil
			st.kind = kindDead
			if slices.Contains(exports, m) {
				st.kind, st.fusedAt = kindExported, r
			}
		}
		root.ins = exts
		root.exports = exports
		root.op = backends.OpTypeInvalid // a fused group
		root.prog = prog
		p, xo, ne := prog, exportOf, len(exts)
		root.run = func(b *Backend, out any, in []any) { runFused(b, p, xo, out.([]float32), in[:ne], in[ne:], 0) }
	}
	e.fuseIntoRowSums(readers, isOutput)
}

// groupOf collects the members of the group whose root is step r: the steps that may join (each
// reader a member reading them whole, or a step after r), grown to a fixed point so that a step read
// by two members joins once both have.
func (e *Executable) groupOf(r int, readers [][]int, inGroup []bool) map[int]bool {
	size := e.steps[r].shape.Size()
	member := map[int]bool{r: true}
	// joins reports whether step in may join: every reader is a member reading it whole, or
	// comes after the root (and then reads the exported buffer).
	joins := func(in int) bool {
		st := &e.steps[in]
		if !st.ew || st.kind != kindCompute || inGroup[in] || member[in] || st.shape.Size() != size {
			return false
		}
		for _, j := range readers[in] {
			if j > r {
				continue
			}
			if !member[j] {
				return false
			}
			for i, x := range e.steps[j].ins {
				if x == in && e.steps[j].ewIn[i] != nil {
					return false
				}
			}
		}
		return true
	}
	// Grow to a fixed point: a step read by two members joins once both have.
	for grown := true; grown; {
		grown = false
		for m := range member {
			for _, in := range e.steps[m].ins {
				if joins(in) {
					member[in], grown = true, true
				}
			}
		}
	}
	return member
}

// program turns the members of a fused group (sorted, in plan order) into its instructions and
// its external inputs.
func (e *Executable) program(members []int, member map[int]bool) ([]fusedInstr, []int) {
	size := e.steps[members[len(members)-1]].shape.Size()
	pos := map[int]int{}
	var exts []int
	extIdx := map[int]int{}
	var prog []fusedInstr
	for k, m := range members {
		pos[m] = k
		st := &e.steps[m]
		ins := fusedInstr{op: st.op, binary: len(st.ins) == 2}
		for i, in := range st.ins {
			if k2, ok := pos[in]; ok && member[in] {
				ins.args[i] = fusedOperand{internal: k2}
				continue
			}
			x, ok := extIdx[in]
			if !ok {
				x = len(exts)
				exts = append(exts, in)
				extIdx[in] = x
			}
			ins.args[i] = fusedOperand{internal: -1, ext: x, bl: st.ewIn[i],
				scalar: st.ewIn[i] == nil && e.steps[in].shape.Size() == 1 && size != 1}
		}
		prog = append(prog, ins)
	}
	return prog, exts
}

// fuseIntoRowSums folds an element-wise step, or a fused group without exports, into the ReduceSum
// that is its only reader when that sum adds up contiguous rows whose length divides fuseChunk
// (LayerNorm's mean and variance, and their gradients): each chunk's rows are summed as soon as the
// chunk is computed, so the summed tensor never exists in memory. Each row is summed by the same
// code in the same order as by the unfused ReduceSum, so the results are bit-identical.
func (e *Executable) fuseIntoRowSums(readers [][]int, isOutput []bool) {
	for i := range e.steps {
		red := &e.steps[i]
		if red.kind != kindCompute || red.rowSum == 0 {
			continue
		}
		x := red.ins[0]
		src := &e.steps[x]
		if src.kind != kindCompute || len(readers[x]) != 1 || isOutput[x] || len(src.exports) > 0 {
			continue
		}
		prog, exts := src.prog, src.ins
		switch {
		case src.prog != nil: // a fused group (a member region's step, also OpTypeInvalid, has none)
		case src.ew:
			prog, exts = e.program([]int{x}, map[int]bool{x: true})
		default:
			continue
		}
		p, rowLen := prog, red.rowSum
		red.ins, red.op, red.prog = exts, backends.OpTypeInvalid, prog
		red.run = func(b *Backend, out any, in []any) { runFused(b, p, nil, out.([]float32), in, nil, rowLen) }
		src.kind, src.ins, src.run, src.prog = kindDead, nil, nil, nil
	}
}

// parallelFused is the size from which a fused group is split over workers, in ranges of whole
// chunks (so the split does not change any result).
const parallelFused = 1 << 16

// runFused executes a fused group chunk by chunk; the last instruction writes the output. Large
// groups are split over goroutines started for this call only, as matrix products are.
// exportOf[i] is the instruction whose values go to exports[i]. With rowSum > 0 the last
// instruction's values are not stored: out[r] is the sum of its r-th row of rowSum values.
func runFused(b *Backend, prog []fusedInstr, exportOf []int, out []float32, ins, exports []any, rowSum int) {
	n := len(out) * max(rowSum, 1)
	w := b.cfg.Workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	if w <= 1 || n < parallelFused {
		runFusedRange(b, prog, exportOf, out, ins, exports, rowSum, 0, n)
		return
	}
	chunks := (n + fuseChunk - 1) / fuseChunk
	per := (chunks + w - 1) / w * fuseChunk
	var wg sync.WaitGroup
	for lo := per; lo < n; lo += per {
		wg.Add(1)
		go func(lo int) {
			defer wg.Done()
			runFusedRange(b, prog, exportOf, out, ins, exports, rowSum, lo, min(n, lo+per))
		}(lo)
	}
	runFusedRange(b, prog, exportOf, out, ins, exports, rowSum, 0, min(n, per))
	wg.Wait()
}

// runFusedRange computes elements [lo, hi) of a fused group; lo is a multiple of fuseChunk.
func runFusedRange(b *Backend, prog []fusedInstr, exportOf []int, out []float32, ins, exports []any, rowSum, lo, hi int) {
	n := hi
	scratchAny := b.pool.get(dtypeOf[float32](), (len(prog)+2)*fuseChunk)
	scratch := scratchAny.([]float32)
	chunk := func(k int) []float32 { return scratch[k*fuseChunk : (k+1)*fuseChunk] }
	bcBuf := [2][]float32{chunk(len(prog)), chunk(len(prog) + 1)}
	for i0 := lo; i0 < n; i0 += fuseChunk {
		c := min(fuseChunk, n-i0)
		for k, in := range prog {
			dst := chunk(k)[:c]
			if k == len(prog)-1 && rowSum == 0 {
				dst = out[i0 : i0+c]
			}
			var args [2][]float32
			for a := range 1 + btoi(in.binary) {
				o := in.args[a]
				switch {
				case o.internal >= 0:
					args[a] = chunk(o.internal)[:c]
				case o.scalar:
					args[a] = ins[o.ext].([]float32)[:1]
				case o.bl != nil:
					args[a] = bcBuf[a][:c]
					layoutRange(args[a], ins[o.ext].([]float32), *o.bl, i0)
				default:
					args[a] = ins[o.ext].([]float32)[i0 : i0+c]
				}
			}
			if c == 1 {
				args[0] = args[0][:1]
				if in.binary {
					args[1] = args[1][:1]
				}
			}
			if in.binary {
				binaryNum(in.op, dst, args[0], args[1])
			} else {
				unaryFloat(in.op, dst, args[0])
			}
		}
		for x, k := range exportOf {
			copy(exports[x].([]float32)[i0:i0+c], chunk(k)[:c])
		}
		if rowSum > 0 {
			last := chunk(len(prog) - 1)
			var zero float32 // ReduceSum starts every output at zero: 0 + s turns -0 into +0
			for r := 0; r < c/rowSum; r++ {
				out[i0/rowSum+r] = zero + sumRun(last[r*rowSum:(r+1)*rowSum])
			}
		}
	}
	b.pool.put(scratchAny)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// layoutRange writes dst[j] = src[offset of index start+j of l's row-major iteration]. Runs of a
// broadcast innermost axis (stride 0: a softmax's row maximum, a LayerNorm's mean) are filled 8
// lanes at a time.
func layoutRange(dst, src []float32, l layout, start int) {
	layoutRangeFill(dst, src, l, start, fillF32)
}

// layoutRangeOf is layoutRange for any element type.
func layoutRangeOf[T any](dst, src []T, l layout, start int) {
	layoutRangeFill(dst, src, l, start, func(d []T, v T) {
		for q := range d {
			d[q] = v
		}
	})
}

// layoutRangeFill is layoutRangeOf with fill(d, v) setting every element of d to v.
func layoutRangeFill[T any](dst, src []T, l layout, start int, fill func([]T, T)) {
	r := len(l.dims)
	if r == 0 {
		fill(dst, src[l.base])
		return
	}
	var idx [16]int
	rem, p := start, l.base
	for a := r - 1; a >= 0; a-- {
		idx[a] = rem % l.dims[a]
		rem /= l.dims[a]
		p += idx[a] * l.strides[a]
	}
	in, is := l.dims[r-1], l.strides[r-1]
	for j := 0; j < len(dst); {
		run := min(in-idx[r-1], len(dst)-j)
		d := dst[j : j+run]
		switch is {
		case 0:
			fill(d, src[p])
		case 1:
			copy(d, src[p:p+run])
		default:
			s := src[p : p+(run-1)*is+1]
			for q := range d {
				d[q] = s[q*is]
			}
		}
		j += run
		p += run * is
		idx[r-1] += run
		if idx[r-1] < in {
			continue
		}
		p -= in * is
		idx[r-1] = 0
		for a := r - 2; a >= 0; a-- {
			idx[a]++
			p += l.strides[a]
			if idx[a] < l.dims[a] {
				break
			}
			p -= l.strides[a] * l.dims[a]
			idx[a] = 0
		}
	}
}
