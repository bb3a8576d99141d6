package probes

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/phaseprobe/phaseprobe/internal/f64"
)

// rowBlock is the number of rows one goroutine processes at a time in multinomial.evaluate: the
// block of X stays in cache between the two products that use it. It is a multiple of
// 2·f64.Width, so that every block starts a pair of row panels.
const rowBlock = 128

// parallelWork is the size n·d·k of X·Wᵀ below which multinomial.evaluate runs every block on
// the calling goroutine: on the demo's probes (a few hundred rows, 16–64 features) starting and
// joining goroutines at every evaluation cost 25–35% more CPU time than one goroutine, and callers
// such as the analysis stage already fit several probes at once.
const parallelWork = 1 << 20

// multinomial evaluates Σ_i CE_i + ‖W‖²·invC/2 and its gradient for parameters laid out
// [W (k×d, row-major), b (k)]. Rows are processed in fixed blocks of rowBlock by up to GOMAXPROCS
// goroutines; each block has its own partial sums, added in block order, so the result does not
// depend on the number of goroutines.
//
// Both products run on f64.Kernel4x8 over panels (see package f64) packed once per fit: the
// logits Z = X·Wᵀ as tiles of 4 classes × 8 rows (X's rows in panels over the features, W's
// classes in panels repacked at each evaluation), and the gradient (P−Y)ᵀ·X as tiles of 4 classes
// × 8 features (P−Y in panels of classes over a block's rows, X's columns in panels over the same
// rows). Classes are padded to a multiple of f64.Width and features to one of 2·f64.Width with
// zeros, which add nothing to any sum.
type multinomial struct {
	y      []int // compact labels in [0, k)
	n, k   int
	d      int
	kp, dp int // k and d padded: to multiples of f64.Width and 2·f64.Width
	invC   float64

	rowPanels []float64 // X's rows, f64.Width to a panel over the d features; rows padded to a multiple of 2·f64.Width
	colPanels []float64 // block by block: X's columns, f64.Width to a panel over the block's rows (dp/Width panels)
	wPanels   []float64 // W's classes, f64.Width to a panel over the d features (kp/Width panels)

	z         []float64   // n×kp: the logits, row-major
	resid     []float64   // block by block: P − Y in panels of f64.Width classes over the block's rows
	blockGrad [][]float64 // per block: (P−Y)ᵀX (k×d) then column sums of P−Y (k)
	blockLoss []float64   // per block: Σ CE
	workers   int
}

func newMultinomial(x *mat.Dense, y []int, k int, invC float64) *multinomial {
	n, d := x.Dims()
	const w = f64.Width
	blocks := (n + rowBlock - 1) / rowBlock
	m := &multinomial{
		y: y, n: n, k: k, d: d, invC: invC,
		kp:        (k + w - 1) / w * w,
		dp:        (d + 2*w - 1) / (2 * w) * (2 * w),
		blockGrad: make([][]float64, blocks),
		blockLoss: make([]float64, blocks),
		workers:   min(runtime.GOMAXPROCS(0), blocks),
	}
	if n*d*k < parallelWork {
		m.workers = 1
	}
	for b := range m.blockGrad {
		m.blockGrad[b] = make([]float64, k*d+k)
	}
	m.wPanels = make([]float64, m.kp*d)
	m.z = make([]float64, n*m.kp)
	m.resid = make([]float64, n*m.kp)
	m.pack(x)
	return m
}

// pack fills rowPanels and colPanels from x.
func (m *multinomial) pack(x *mat.Dense) {
	const w = f64.Width
	n, d := m.n, m.d
	np := (n + 2*w - 1) / (2 * w) * (2 * w)
	m.rowPanels = make([]float64, np*d)
	m.colPanels = make([]float64, n*m.dp)
	raw := x.RawMatrix()
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+d]
		rp := m.rowPanels[(i/w)*w*d:]
		r0 := i / rowBlock * rowBlock
		rows := min(rowBlock, n-r0)
		cp := m.colPanels[r0*m.dp:]
		t := i - r0
		for l, v := range row {
			rp[w*l+i%w] = v
			cp[(l/w)*w*rows+w*t+l%w] = v
		}
	}
}

// evaluate returns the objective at params and writes its gradient into g.
func (m *multinomial) evaluate(g, params []float64) float64 {
	k, d := m.k, m.d
	wts := params[:k*d]
	const tw = f64.Width
	for c := range k {
		p := m.wPanels[(c/tw)*tw*d:]
		for l, v := range wts[c*d : (c+1)*d] {
			p[tw*l+c%tw] = v
		}
	}
	if m.workers <= 1 {
		for b := range m.blockGrad {
			m.block(b, params[k*d:])
		}
	} else {
		var wg sync.WaitGroup
		for worker := 0; worker < m.workers; worker++ {
			wg.Go(func() {
				for b := worker; b < len(m.blockGrad); b += m.workers {
					m.block(b, params[k*d:])
				}
			})
		}
		wg.Wait()
	}
	copy(g, m.blockGrad[0])
	loss := m.blockLoss[0]
	for b := 1; b < len(m.blockGrad); b++ {
		floats.Add(g, m.blockGrad[b])
		loss += m.blockLoss[b]
	}
	floats.AddScaled(g[:k*d], m.invC, wts)
	return loss + 0.5*m.invC*floats.Dot(wts, wts)
}

// block computes the loss and the data part of the gradient for rows
// [b·rowBlock, min((b+1)·rowBlock, n)), with the intercepts bias.
func (m *multinomial) block(b int, bias []float64) {
	r0 := b * rowBlock
	rows := min(rowBlock, m.n-r0)
	z := m.z[r0*m.kp : (r0+rows)*m.kp]
	resid := m.resid[r0*m.kp : (r0+rows)*m.kp]
	m.logits(r0, rows, z)
	m.blockLoss[b] = m.softmax(r0, rows, bias, z, resid)
	m.gradient(r0, rows, resid, m.blockGrad[b])
}

// logits writes into z the block's logits X·Wᵀ, row-major (rows × kp).
func (m *multinomial) logits(r0, rows int, z []float64) {
	const tw = f64.Width
	d, kp := m.d, m.kp
	var t [32]float64
	for q := 0; q < kp/tw; q++ {
		a := m.wPanels[q*tw*d : (q+1)*tw*d]
		for p := r0 / tw; p*tw < r0+rows; p += 2 {
			t = [32]float64{}
			f64.Kernel4x8(a, m.rowPanels[p*tw*d:(p+1)*tw*d], m.rowPanels[(p+1)*tw*d:(p+2)*tw*d], &t)
			for j := range 2 * tw {
				i := p*tw + j - r0
				if i >= rows {
					break
				}
				for r := range tw {
					z[i*kp+q*tw+r] = t[8*r+j]
				}
			}
		}
	}
}

// softmax turns the block's logits z (row-major, which it overwrites) into P − Y in resid, in
// panels of f64.Width classes over the block's rows, and returns the block's Σ CE. The padded
// classes' entries of resid are never written: they stay 0.
func (m *multinomial) softmax(r0, rows int, bias, z, resid []float64) float64 {
	const tw = f64.Width
	k, kp := m.k, m.kp
	// CE = logsumexp(z) − z_y = ln Σ_c exp(z_c − zmax) − (z_y − zmax), with the exponentials of
	// the whole block taken in one call (the padded classes' −Inf give 0).
	var loss float64
	for i := range rows {
		row := z[i*kp : (i+1)*kp]
		zmax := math.Inf(-1)
		for c := range k {
			row[c] += bias[c]
			zmax = max(zmax, row[c])
		}
		loss -= row[m.y[r0+i]] - zmax
		for c := range k {
			row[c] -= zmax
		}
		for c := k; c < kp; c++ {
			row[c] = math.Inf(-1)
		}
	}
	f64.Exp(z)
	// The logarithms of the rows' sums (each in [1, k]) are taken of their running product, one
	// logarithm per ~200 decades instead of one per row.
	prod := 1.0
	for i := range rows {
		row := z[i*kp : i*kp+k]
		var sum float64
		for _, e := range row {
			sum += e
		}
		if prod > 1e200 {
			loss += math.Log(prod)
			prod = 1
		}
		prod *= sum
		inv := 1 / sum
		row[m.y[r0+i]] -= sum
		for c, v := range row {
			resid[(c/tw)*tw*rows+tw*i+c%tw] = v * inv
		}
	}
	return loss + math.Log(prod)
}

// gradient writes into grad the block's (P−Y)ᵀ·X (k×d, row-major) and the column sums of P − Y
// (k), from P − Y in panels (resid).
func (m *multinomial) gradient(r0, rows int, resid, grad []float64) {
	const tw = f64.Width
	k, d := m.k, m.d
	cols := m.colPanels[r0*m.dp:]
	var t [32]float64
	for q := 0; q < m.kp/tw; q++ {
		a := resid[q*tw*rows : (q+1)*tw*rows]
		for f := 0; f < m.dp/tw; f += 2 {
			t = [32]float64{}
			f64.Kernel4x8(a, cols[f*tw*rows:(f+1)*tw*rows], cols[(f+1)*tw*rows:(f+2)*tw*rows], &t)
			for r := range tw {
				c := q*tw + r
				if c >= k {
					break
				}
				for j := range 2 * tw {
					if l := f*tw + j; l < d {
						grad[c*d+l] = t[8*r+j]
					}
				}
			}
		}
	}
	gb := grad[k*d:]
	for c := range k {
		p := resid[(c/tw)*tw*rows:]
		var s float64
		for i := range rows {
			s += p[tw*i+c%tw]
		}
		gb[c] = s
	}
}
