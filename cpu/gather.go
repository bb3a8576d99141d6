package cpu

import "fmt"

// copy2 copies a block of dims from src (strides ss, base sb) to dst (strides ds, base db).
func copy2[T any](dst, src []T, dims, ds, ss []int, db, sb int, add bool) {
	r := len(dims)
	for _, d := range dims {
		if d == 0 {
			return
		}
	}
	var idx [16]int
	for {
		if add {
			addTo(dst, src, db, sb)
		} else {
			dst[db] = src[sb]
		}
		a := r - 1
		for ; a >= 0; a-- {
			idx[a]++
			db += ds[a]
			sb += ss[a]
			if idx[a] < dims[a] {
				break
			}
			db -= ds[a] * dims[a]
			sb -= ss[a] * dims[a]
			idx[a] = 0
		}
		if a < 0 {
			return
		}
	}
}

func addTo[T any](dst, src []T, d, s int) {
	switch dd := any(dst).(type) {
	case []float32:
		dd[d] += any(src).([]float32)[s]
	case []float64:
		dd[d] += any(src).([]float64)[s]
	case []int32:
		dd[d] += any(src).([]int32)[s]
	case []int64:
		dd[d] += any(src).([]int64)[s]
	default:
		panic(fmt.Sprintf("cpu: ScatterSum on %T", dst))
	}
}

// gatherPlan is an XLA Gather, planned: for every batch position (the output's non-offset axes,
// which are the indices' axes other than the index vector axis), a block of sliceSizes is copied
// from the operand at the clamped start given by the index vector.
type gatherPlan struct {
	batchDims                  []int // indices' batch dims
	idxBatchStrides            []int // strides of those dims in the indices
	idxVecStride, idxVecLen    int
	outBatchStrides            []int // strides of the output's batch axes
	startMap                   []int // operand axis of index component k
	operandDims, operandStride []int
	sliceSizes                 []int
	blockDims, blockOut        []int // block over the operand's non-collapsed axes
	blockIn                    []int
}

func gatherRun[T any](p *gatherPlan, out, operand []T, indices []int) {
	nb := 1
	for _, d := range p.batchDims {
		nb *= d
	}
	var bidx [16]int
	for g := range nb {
		// decompose g into the batch index
		rem := g
		for a := len(p.batchDims) - 1; a >= 0; a-- {
			bidx[a] = rem % p.batchDims[a]
			rem /= p.batchDims[a]
		}
		ib, ob := 0, 0
		for a := range p.batchDims {
			ib += bidx[a] * p.idxBatchStrides[a]
			ob += bidx[a] * p.outBatchStrides[a]
		}
		sb := 0
		for k, d := range p.startMap {
			s := indices[ib+k*p.idxVecStride]
			s = max(0, min(s, p.operandDims[d]-p.sliceSizes[d]))
			sb += s * p.operandStride[d]
		}
		copy2(out, operand, p.blockDims, p.blockOut, p.blockIn, ob, sb, false)
	}
}

// scatterPlan is an XLA ScatterSum, planned: every update element is added to the operand at the
// start given by its scatter position's index vector plus its window position; elements whose
// target falls outside the operand are dropped.
type scatterPlan struct {
	batchDims, idxBatchStrides, updBatchStrides []int
	idxVecStride                                int
	scatterTo                                   []int
	operandDims, operandStride                  []int
	winDims, winUpdStrides, winOperandAxes      []int
}

func scatterRun[T any](p *scatterPlan, out, updates []T, indices []int) {
	nb := 1
	for _, d := range p.batchDims {
		nb *= d
	}
	nw := 1
	for _, d := range p.winDims {
		nw *= d
	}
	var bidx, widx, start [16]int
	for g := range nb {
		rem := g
		for a := len(p.batchDims) - 1; a >= 0; a-- {
			bidx[a] = rem % p.batchDims[a]
			rem /= p.batchDims[a]
		}
		ib, ub := 0, 0
		for a := range p.batchDims {
			ib += bidx[a] * p.idxBatchStrides[a]
			ub += bidx[a] * p.updBatchStrides[a]
		}
		for d := range p.operandDims {
			start[d] = 0
		}
		for k, d := range p.scatterTo {
			start[d] = indices[ib+k*p.idxVecStride]
		}
	window:
		for w := range nw {
			rem := w
			for a := len(p.winDims) - 1; a >= 0; a-- {
				widx[a] = rem % p.winDims[a]
				rem /= p.winDims[a]
			}
			uo, oo := ub, 0
			for a := range p.winDims {
				uo += widx[a] * p.winUpdStrides[a]
			}
			for d := range p.operandDims {
				pos := start[d]
				for a, od := range p.winOperandAxes {
					if od == d {
						pos += widx[a]
					}
				}
				if pos < 0 || pos >= p.operandDims[d] {
					continue window
				}
				oo += pos * p.operandStride[d]
			}
			addTo(out, updates, oo, uo)
		}
	}
}
