package geometry

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/phaseprobe/phaseprobe/internal/f64"
)

// randomDense returns an n×d matrix of standard normal entries plus offset.
func randomDense(rnd *rand.Rand, n, d int, offset float64) *mat.Dense {
	x := mat.NewDense(n, d, nil)
	for i := range n {
		for j := range d {
			x.Set(i, j, rnd.NormFloat64()+offset)
		}
	}
	return x
}

// centred returns x − 1μᵀ computed directly.
func centred(x mat.Matrix) *mat.Dense {
	n, d := x.Dims()
	xc := mat.DenseCopyOf(x)
	for j := range d {
		var s float64
		for i := range n {
			s += xc.At(i, j)
		}
		for i := range n {
			xc.Set(i, j, xc.At(i, j)-s/float64(n))
		}
	}
	return xc
}

// TestGramUpper checks the blocked Gram kernel, in both its portable and (where
// available) assembly versions, against mat.Dense.Mul, for column and row packing and
// for sizes that leave partial panels, odd chunk tails and odd element counts, and one
// (600×100) large enough to be shared among goroutines.
func TestGramUpper(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	kernels := map[string]func(a, b0, b1 []float64, c *[32]float64){"go": f64.Kernel4x8Go, "dispatch": kernel4x8}
	for name, kern := range kernels {
		for _, shape := range [][2]int{{1, 1}, {3, 2}, {7, 5}, {513, 9}, {300, 37}, {5, 70}, {1000, 1}, {600, 100}} {
			n, d := shape[0], shape[1]
			x := randomDense(rnd, n, d, 3)
			xc := centred(x)
			for _, cols := range []bool{true, false} {
				var want mat.Dense
				var pn *panels
				if cols {
					want.Mul(xc.T(), xc)
					pn = newPanels(n, d)
					pn.packColumns(0, mustPrepare(t, x, true), nil)
				} else {
					want.Mul(xc, xc.T())
					pn = newPanels(d, n)
					pn.packRows(mustPrepare(t, x, true), nil)
				}
				s := pn.size()
				g := make([]float64, s*s)
				saved := kernel4x8
				kernel4x8 = kern
				pn.gramUpper(g)
				kernel4x8 = saved
				k := pn.k
				for i := range k {
					for j := i; j < k; j++ {
						w := want.At(i, j)
						if got := g[i*s+j]; math.Abs(got-w) > 1e-12*(1+math.Abs(w)) {
							t.Fatalf("%s kernel, %d×%d, columns %t: G[%d,%d] = %v, want %v (mat.Dense.Mul)", name, n, d, cols, i, j, got, w)
						}
					}
				}
			}
		}
	}
}

// TestSpectrumRoutesAgree checks that the Gram and SVD routes give the same spectrum
// on well-conditioned matrices, and that the Gram route refuses a matrix whose
// smallest singular value it cannot resolve.
func TestSpectrumRoutesAgree(t *testing.T) {
	rnd := rand.New(rand.NewPCG(2, 2))
	for _, shape := range [][2]int{{200, 30}, {30, 200}, {64, 64}, {65, 64}} {
		for _, center := range []bool{true, false} {
			x := mustPrepare(t, randomDense(rnd, shape[0], shape[1], 1), center)
			k := min(shape[0], shape[1])
			gram := make([]float64, k)
			svd := make([]float64, k)
			if !gramSpectrum(gram, x) {
				t.Fatalf("%v centred %t: Gram route refused a well-conditioned matrix", shape, center)
			}
			if err := svdSpectrum(svd, x); err != nil {
				t.Fatal(err)
			}
			for i := range k {
				if math.Abs(gram[i]-svd[i]) > 1e-9*svd[0] {
					t.Errorf("%v centred %t: s[%d] = %v by Gram, %v by SVD", shape, center, i, gram[i], svd[i])
				}
			}
		}
	}
	// Singular values 1 ... 1e-5: eigenvalues down to 1e-10, below what the Gram
	// route can certify at 1e-7 relative.
	x := scaledColumns(rnd, 100, 6, []float64{1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5})
	if gramSpectrum(make([]float64, 6), mustPrepare(t, x, false)) {
		t.Error("Gram route accepted a matrix with condition number 1e5")
	}
}

// scaledColumns returns an n×len(s) matrix with orthonormal columns scaled by s, so its
// singular values are exactly s up to rounding.
func scaledColumns(rnd *rand.Rand, n int, d int, s []float64) *mat.Dense {
	var qr mat.QR
	qr.Factorize(randomDense(rnd, n, d, 0))
	var q mat.Dense
	qr.QTo(&q)
	x := mat.NewDense(n, d, nil)
	for i := range n {
		for j := range d {
			x.Set(i, j, q.At(i, j)*s[j])
		}
	}
	return x
}

// mustPrepare returns x checked and shifted by its column means if center is true.
func mustPrepare(t *testing.T, x mat.Matrix, center bool) input {
	t.Helper()
	in, err := prepare("x", x, center)
	if err != nil {
		t.Fatal(err)
	}
	return in
}
