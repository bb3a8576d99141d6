package probes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// naiveObjective is the definition of multinomial's objective: Σ_i (logsumexp(z_i) − z_{i,y_i}) +
// ‖W‖²·invC/2 with z_i = W·x_i + b, and its gradient ((P−Y)ᵀX + invC·W, Σ_i (p_i − e_{y_i})).
func naiveObjective(x *mat.Dense, y []int, k int, invC float64, params []float64) (float64, []float64) {
	n, d := x.Dims()
	g := make([]float64, len(params))
	var f float64
	for i := range n {
		z := make([]float64, k)
		zmax := math.Inf(-1)
		for c := range k {
			z[c] = params[k*d+c]
			for j := range d {
				z[c] += params[c*d+j] * x.At(i, j)
			}
			zmax = math.Max(zmax, z[c])
		}
		var s float64
		for c := range k {
			s += math.Exp(z[c] - zmax)
		}
		f += zmax + math.Log(s) - z[y[i]]
		for c := range k {
			r := math.Exp(z[c]-zmax) / s
			if c == y[i] {
				r--
			}
			for j := range d {
				g[c*d+j] += r * x.At(i, j)
			}
			g[k*d+c] += r
		}
	}
	for i, w := range params[:k*d] {
		f += 0.5 * invC * w * w
		g[i] += invC * w
	}
	return f, g
}

// TestMultinomialEvaluate checks the packed, tiled objective against its definition on shapes
// that leave partial panels of rows, classes and features, several row blocks (n > rowBlock), one
// class, and sizes large enough that blocks run on several goroutines (n·d·k ≥ parallelWork).
func TestMultinomialEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	shapes := [][3]int{{1, 1, 1}, {1, 3, 2}, {7, 5, 3}, {8, 8, 4}, {9, 9, 5}, {129, 17, 10}, {300, 16, 2},
		{257, 33, 11}, {512, 64, 10}, {4000, 64, 5}}
	for _, s := range shapes {
		n, d, k := s[0], s[1], s[2]
		t.Run(fmt.Sprintf("n=%d,d=%d,k=%d", n, d, k), func(t *testing.T) {
			x := mat.NewDense(n, d, nil)
			y := make([]int, n)
			for i := range n {
				y[i] = rng.IntN(k)
				for j := range d {
					x.Set(i, j, 2*rng.NormFloat64()+0.5)
				}
			}
			params := make([]float64, k*d+k)
			for i := range params {
				params[i] = rng.NormFloat64()
			}
			m := newMultinomial(x, y, k, 0.7)
			if n*d*k >= parallelWork && runtime.GOMAXPROCS(0) > 1 && m.workers < 2 {
				t.Fatalf("%d workers, want several", m.workers)
			}
			g := make([]float64, len(params))
			for range 2 { // a second evaluation reuses the scratch
				f := m.evaluate(g, params)
				wf, wg := naiveObjective(x, y, k, 0.7, params)
				if math.Abs(f-wf) > 1e-12*math.Abs(wf) {
					t.Fatalf("f = %v, want %v", f, wf)
				}
				var scale float64
				for _, v := range wg {
					scale = math.Max(scale, math.Abs(v))
				}
				for i := range g {
					if math.Abs(g[i]-wg[i]) > 1e-12*(scale+1) {
						t.Fatalf("g[%d] = %v, want %v", i, g[i], wg[i])
					}
				}
			}
		})
	}
}
