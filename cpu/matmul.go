package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"
)

// Matrix products C[b] = A[b] · B[b] for b < batch, C row-major [m, n], A and B read through
// strides (so a transposed operand needs no copy: the packing reads it in place).
//
// The product is blocked GotoBLAS-style: B is packed into panels of nr columns (k × nr, row by row),
// A into panels of mr rows (k × mr, column by column), and a micro-kernel computes one mr × nr tile
// of C from one panel of each, keeping the whole tile in registers. Every element of C is the sum
// over k in ascending order (in chunks of kChunk, see microKernelGo), so the result does not depend
// on the blocking or on the number of workers.
const (
	mr = 6
	nr = 16
)

// matView is a batch of matrices: element (b, i, j) is at off(b) + i*rs + j*cs, where off(b) is
// b*bs, or boff[b] when the batch axes cannot be walked with one stride.
type matView struct {
	bs, rs, cs int
	boff       []int
}

func (v *matView) off(b int) int {
	if v.boff != nil {
		return v.boff[b]
	}
	return b * v.bs
}

// matmulPlan is a product planned at compile time.
type matmulPlan struct {
	batch, m, n, k int
	a, b           matView
	c              matView // the output: cs = 1 (row-major [batch, m, n] unless a transpose was folded in)
	workers        int     // 0: GOMAXPROCS when run
	narrow         bool    // no 32-column AVX-512 kernel (Config.NoAVX512)
	// epi, when set, adds a float32 addend to every element as it is stored (foldDotAdds).
	epi *epilogue
}

// parallelFlops is the size (2·batch·m·n·k) above which a product is split over workers.
const parallelFlops = 1 << 21

func (p *matmulPlan) workerCount() int {
	w := p.workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	if 2*p.batch*p.m*p.n*p.k < parallelFlops {
		return 1
	}
	return max(w, 1)
}

// tiles enumerates work items: (batch, row panel) pairs.
func (p *matmulPlan) tiles() int { return p.batch * ((p.m + mr - 1) / mr) }

// run computes c = a·b. Work items are claimed from an atomic counter by goroutines started for
// this product only; no goroutine ever waits for another to become free, so the product cannot
// deadlock however many products run at once.
func matmulRun[T float](p *matmulPlan, pool *bufferPool, c, a, b []T, addend []float32) {
	if p.m == 0 || p.n == 0 {
		return
	}
	if p.k == 0 {
		clear(c[:p.batch*p.m*p.n])
		return
	}
	x := &matmulExec[T]{p: p, c: c, a: a, b: b, addend: addend}
	x.strided = hasStridedKernel && dtypeOf[T]() == dtypeOf[float32]()
	// Column panels are pw wide: 32 when the 6 × 32 AVX-512 kernel runs them (a panel of at most 16
	// columns then goes to the 16-column kernel), else nr.
	x.pw = nr
	if x.strided && useAVX512 && !p.narrow {
		x.pw = 2 * nr
	}
	x.nPanels = (p.n + x.pw - 1) / x.pw
	// B's panels are packed once per batch element, before the row panels are split over workers,
	// except the panels the strided kernels read in place (see inPlace).
	x.bRows = p.b.cs == 1 && x.strided
	x.bpLen = x.nPanels * p.k * x.pw
	bpAny := pool.get(dtypeOf[T](), p.batch*x.bpLen)
	x.bp = bpAny.([]T)
	for bi := range p.batch {
		for jp := range x.nPanels {
			if !x.inPlace(jp) {
				packPanel(x.bp[bi*x.bpLen+jp*p.k*x.pw:], b[p.b.off(bi):], p.b, p.k, jp*x.pw, min(x.pw, p.n-jp*x.pw), x.pw)
			}
		}
	}
	tiles := p.tiles()
	w := min(p.workerCount(), tiles)
	rowPanels := (p.m + mr - 1) / mr
	var next atomic.Int64
	work := func() {
		apAny := pool.get(dtypeOf[T](), p.k*mr)
		ap := apAny.([]T)
		var scratch []float32 // a row of the addend read through its layout (epilogue)
		if p.epi != nil && p.epi.bl != nil {
			sAny := pool.get(dtypeOf[float32](), p.n)
			defer pool.put(sAny)
			scratch = sAny.([]float32)
		}
		for {
			t := int(next.Add(1) - 1)
			if t >= tiles {
				break
			}
			bi, i0 := t/rowPanels, t%rowPanels*mr
			if x.strided {
				x.rowPanelStrided(bi, i0, ap, scratch)
			} else {
				x.rowPanelPacked(bi, i0, ap, scratch)
			}
		}
		pool.put(apAny)
	}
	if w <= 1 {
		work()
	} else {
		var wg sync.WaitGroup
		for range w - 1 {
			wg.Add(1)
			go func() { defer wg.Done(); work() }()
		}
		work()
		wg.Wait()
	}
	pool.put(bpAny)
}

// matmulExec is one run of a planned product: its operands, B's packed panels and the panel width.
type matmulExec[T float] struct {
	p                  *matmulPlan
	c, a, b, bp        []T
	addend             []float32
	pw, nPanels, bpLen int
	strided, bRows     bool
}

// inPlace reports whether column panel jp of a row-contiguous B is read in place: a full panel,
// or a last panel of exactly nr columns.
func (x *matmulExec[T]) inPlace(jp int) bool {
	cols := min(x.pw, x.p.n-jp*x.pw)
	return x.bRows && (cols == x.pw || cols == nr)
}

// rowPanelStrided computes rows [i0, i0+mr) of batch element bi with the strided kernels: A is
// read in place when the panel is full; a partial panel is first copied into zero-padded rows of
// ap (rs = k, ks = 1).
func (x *matmulExec[T]) rowPanelStrided(bi, i0 int, ap []T, scratch []float32) {
	p := x.p
	rows := min(mr, p.m-i0)
	asub := x.a[p.a.off(bi)+i0*p.a.rs:]
	ars, aks := p.a.rs, p.a.cs
	if rows < mr || !useStrided(any(asub).([]float32), p.a, p.k) {
		packRows(ap, asub, p.a, rows, p.k)
		asub, ars, aks = ap, p.k, 1
	}
	a32, c32 := any(asub).([]float32), any(x.c).([]float32)
	var tile [mr * nr]float32
	var wide [mr * 2 * nr]float32
	for jp := range x.nPanels {
		j0 := jp * x.pw
		cols := min(x.pw, p.n-j0)
		bpanel, ldb := x.bp[bi*x.bpLen+jp*p.k*x.pw:], x.pw
		if x.inPlace(jp) {
			bpanel, ldb = x.b[p.b.off(bi)+j0:], p.b.rs
		}
		b32 := any(bpanel).([]float32)
		if cols > nr && microKernelWide32(p.k, a32, ars, aks, b32, ldb, &wide) {
			for r := range rows {
				off := p.c.off(bi) + (i0+r)*p.c.rs + j0
				copy(c32[off:off+cols], wide[r*2*nr:r*2*nr+cols])
			}
			continue
		}
		for h := 0; h < cols; h += nr { // pw = nr, or a last panel of ≤ nr columns
			microKernelStrided32(p.k, a32, ars, aks, b32[h:], ldb, &tile)
			hc := min(nr, cols-h)
			for r := range rows {
				off := p.c.off(bi) + (i0+r)*p.c.rs + j0 + h
				copy(c32[off:off+hc], tile[r*nr:r*nr+hc])
			}
		}
	}
	x.epilogue(bi, i0, rows, scratch)
}

// rowPanelPacked computes rows [i0, i0+mr) of batch element bi from packed panels of A and B with
// the portable micro-kernel (float64, or no assembly kernel).
func (x *matmulExec[T]) rowPanelPacked(bi, i0 int, ap []T, scratch []float32) {
	p := x.p
	rows := min(mr, p.m-i0)
	packA(ap, x.a[p.a.off(bi)+i0*p.a.rs:], p.a, rows, p.k)
	var tile [mr * nr]T
	for jp := range x.nPanels {
		j0 := jp * nr
		cols := min(nr, p.n-j0)
		microKernel(p.k, ap, x.bp[bi*x.bpLen+jp*p.k*nr:], &tile)
		for r := range rows {
			off := p.c.off(bi) + (i0+r)*p.c.rs + j0
			copy(x.c[off:off+cols], tile[r*nr:r*nr+cols])
		}
	}
	x.epilogue(bi, i0, rows, scratch)
}

// epilogue adds the addend to rows [i0, i0+rows) of batch element bi once they are stored (hot in
// the cache), a whole row at a time so that a broadcast addend's layout is walked once per row.
func (x *matmulExec[T]) epilogue(bi, i0, rows int, scratch []float32) {
	p := x.p
	if p.epi == nil {
		return
	}
	c32 := any(x.c).([]float32)
	buf := scratch[:min(len(scratch), p.n)] // nil unless the addend is read through a layout
	for r := range rows {
		off := p.c.off(bi) + (i0+r)*p.c.rs
		p.addTo(c32[off:off+p.n], off, x.addend, buf)
	}
}

// useStrided reports whether the strided kernel may read a full row panel of A in place.
func useStrided(a []float32, v matView, k int) bool {
	return hasStridedKernel && k > 0 && (mr-1)*v.rs+(k-1)*v.cs < len(a)
}

// packPanel writes columns [j0, j0+cols) of the k × n matrix read through v as one panel of
// width pw (k rows of pw values), zero-padded.
func packPanel[T float](dst, src []T, v matView, k, j0, cols, pw int) {
	for kk := range k {
		row := dst[kk*pw : kk*pw+pw]
		base := kk*v.rs + j0*v.cs
		if v.cs == 1 {
			copy(row[:cols], src[base:base+cols])
		} else {
			for j := range cols {
				row[j] = src[base+j*v.cs]
			}
		}
		clear(row[cols:])
	}
}

// packA writes rows (≤ mr) rows of the matrix read through v as one panel, column by column,
// zero-padded to mr rows.
func packA[T float](dst, src []T, v matView, rows, k int) {
	dst = dst[:k*mr]
	if rows < mr {
		clear(dst)
	}
	for r := range rows {
		base := r * v.rs
		if v.cs == 1 {
			for kk, x := range src[base : base+k] {
				dst[kk*mr+r] = x
			}
			continue
		}
		for kk := range k {
			dst[kk*mr+r] = src[base+kk*v.cs]
		}
	}
}

// kChunk is the number of k steps summed from zero before being added to the tile: a sum's
// rounding error then grows like kChunk + k/kChunk instead of k.
const kChunk = 8

// packRows copies rows (≤ mr) rows of the matrix read through v into dst as a row-major
// [mr, k] block, zero-padded.
func packRows[T float](dst, src []T, v matView, rows, k int) {
	dst = dst[:mr*k]
	clear(dst[rows*k:])
	for r := range rows {
		d := dst[r*k : (r+1)*k]
		base := r * v.rs
		if v.cs == 1 {
			copy(d, src[base:base+k])
			continue
		}
		for kk := range d {
			d[kk] = src[base+kk*v.cs]
		}
	}
}

// microKernelGo computes tile = A-panel · B-panel for one mr × nr tile.
func microKernelGo[T float](k int, ap, bp []T, tile *[mr * nr]T) {
	*tile = [mr * nr]T{}
	ap, bp = ap[:k*mr], bp[:k*nr]
	var part [mr * nr]T
	for k0 := 0; k0 < k; k0 += kChunk {
		part = [mr * nr]T{}
		for kk := k0; kk < min(k, k0+kChunk); kk++ {
			b := bp[kk*nr : kk*nr+nr]
			a := ap[kk*mr : kk*mr+mr]
			for r, x := range a {
				row := part[r*nr : r*nr+nr]
				for j, y := range b {
					row[j] += x * y
				}
			}
		}
		for i, v := range part {
			tile[i] += v
		}
	}
}

func microKernel[T float](k int, ap, bp []T, tile *[mr * nr]T) {
	switch t := any(tile).(type) {
	case *[mr * nr]float32:
		microKernel32(k, any(ap).([]float32), any(bp).([]float32), t)
	default:
		microKernelGo(k, ap, bp, tile)
	}
}

// epilogue is an element-wise addition folded into a product's stores: the addend is read whole
// (element off+j), as a scalar, or through a broadcast layout over the result's row-major index.
type epilogue struct {
	scalar bool
	bl     *layout
}

// addTo does dst[j] += addend's element off+j (dst is the stored product's row at offset off) with
// binaryNum, the kernel the Add it replaces runs: the same float32 additions (x + y = y + x
// exactly). buf holds len(dst) values.
func (p *matmulPlan) addTo(dst []float32, off int, addend, buf []float32) {
	var y []float32
	switch {
	case p.epi.scalar:
		y = addend[:1]
	case p.epi.bl != nil:
		layoutRange(buf, addend, *p.epi.bl, off)
		y = buf
	default:
		y = addend[off : off+len(dst)]
	}
	binaryNum(backends.OpTypeAdd, dst, dst, y)
}
