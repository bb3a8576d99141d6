package geometry

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/phaseprobe/phaseprobe/internal/f64"
)

// panels holds k vectors of length m packed for the Gram kernel: four vectors to a
// panel, interleaved, so that element l of vector 4p+c is data[4mp + 4l + c]. The
// number of panels np is even, and the vectors past k are zero.
type panels struct {
	data []float64
	m    int // vector length: the dimension that the Gram matrix sums over
	k    int // number of vectors
	np   int // number of panels
}

// panelWidth is the number of vectors in a panel; the kernel computes a tile of
// panelWidth × 2·panelWidth Gram entries.
const panelWidth = f64.Width

// kernel4x8 is the Gram kernel, a variable so that tests can run the portable one.
var kernel4x8 = f64.Kernel4x8

// newPanels returns zeroed panels for k vectors of length m.
func newPanels(m, k int) *panels {
	np := (k + panelWidth - 1) / panelWidth
	np += np % 2
	return &panels{data: make([]float64, np*panelWidth*m), m: m, k: k, np: np}
}

// size returns the order of the Gram matrix that gramUpper writes: k rounded up to a
// whole number of panel pairs.
func (pn *panels) size() int { return pn.np * panelWidth }

// panel returns the elements lo ≤ l < hi of panel p.
func (pn *panels) panel(p, lo, hi int) []float64 {
	base := p * panelWidth * pn.m
	return pn.data[base+panelWidth*lo : base+panelWidth*hi]
}

// packColumns stores the columns of X − 1μᵀ (the shifted input) as vectors first,
// first+1, ... of pn, where first is a multiple of panelWidth. If rowSq is not nil,
// rowSq[i] is set to the squared norm of row i of X − 1μᵀ.
func (pn *panels) packColumns(first int, in input, rowSq []float64) {
	x, mean, m := in.raw, in.mean, pn.m
	for i := range x.Rows {
		row := x.Data[i*x.Stride : i*x.Stride+x.Cols]
		var sq float64
		for j, v := range row {
			v -= mean[j]
			sq += v * v
			col := first + j
			pn.data[(col/panelWidth)*panelWidth*m+panelWidth*i+col%panelWidth] = v
		}
		if rowSq != nil {
			rowSq[i] = sq
		}
	}
}

// packRows stores the rows of X − 1μᵀ (the shifted input) as vectors 0, 1, ... of pn.
// If rowSq is not nil, rowSq[i] is set to the squared norm of row i of X − 1μᵀ.
func (pn *panels) packRows(in input, rowSq []float64) {
	x, mean, m := in.raw, in.mean, pn.m
	for i := range x.Rows {
		row := x.Data[i*x.Stride : i*x.Stride+x.Cols]
		dst := pn.data[(i/panelWidth)*panelWidth*m:]
		c := i % panelWidth
		var sq float64
		for l, v := range row {
			v -= mean[l]
			sq += v * v
			dst[panelWidth*l+c] = v
		}
		if rowSq != nil {
			rowSq[i] = sq
		}
	}
}

// gramChunk is the number of vector elements that one kernel call sums over, so that a
// row panel (8 KiB) and a column panel pair (16 KiB) stay in a 32 KiB L1 cache.
const gramChunk = 256

// gramParallelWork is the number of multiply-adds below which gramUpper runs on the
// calling goroutine only.
const gramParallelWork = 1 << 20

// gramUpper writes the Gram matrix G = VᵀV of the packed vectors into g, an s×s
// row-major matrix with s = pn.size(): every entry on and above the diagonal is set,
// some entries below it are set, and the rest of g is left as it was. The rows of G are
// shared among GOMAXPROCS goroutines.
func (pn *panels) gramUpper(g []float64) {
	s := pn.size()
	if len(g) != s*s {
		panic("geometry: internal error: Gram buffer has the wrong length")
	}
	workers := runtime.GOMAXPROCS(0)
	if float64(pn.m)*float64(s)*float64(s)/2 < gramParallelWork {
		workers = 1
	}
	workers = min(workers, pn.np)
	var next atomic.Int64
	run := func() {
		tiles := make([][2 * panelWidth * panelWidth]float64, pn.np/2)
		for {
			p := int(next.Add(1)) - 1
			if p >= pn.np {
				return
			}
			pn.gramRow(p, tiles, g)
		}
	}
	if workers == 1 {
		run()
		return
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(run)
	}
	wg.Wait()
}

// gramRow computes rows panelWidth·p ... panelWidth·p+panelWidth-1 of the Gram matrix
// from column panelWidth·⌊p/2⌋·2 to the end.
func (pn *panels) gramRow(p int, tiles [][2 * panelWidth * panelWidth]float64, g []float64) {
	s := pn.size()
	q0 := p / 2
	tiles = tiles[:pn.np/2-q0]
	clear(tiles)
	for lo := 0; lo < pn.m; lo += gramChunk {
		hi := min(lo+gramChunk, pn.m)
		a := pn.panel(p, lo, hi)
		for t := range tiles {
			q := 2 * (q0 + t)
			kernel4x8(a, pn.panel(q, lo, hi), pn.panel(q+1, lo, hi), &tiles[t])
		}
	}
	for t := range tiles {
		col := 2 * panelWidth * (q0 + t)
		for r := range panelWidth {
			row := panelWidth*p + r
			copy(g[row*s+col:row*s+col+2*panelWidth], tiles[t][2*panelWidth*r:])
		}
	}
}
