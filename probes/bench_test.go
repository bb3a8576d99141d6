package probes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// splitmix64 is a counter-based generator: the i-th value of a stream depends only on seed and i,
// so bench/probes_bench.py draws the same benchmark data with numpy.
func splitmix64(seed, i uint64) uint64 {
	z := seed + (i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// normalAt returns the i-th standard normal of stream seed by Box–Muller on two uniforms.
func normalAt(seed, i uint64) float64 {
	u1 := (float64(splitmix64(seed, 2*i)>>11) + 0.5) / (1 << 53)
	u2 := float64(splitmix64(seed, 2*i+1)>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// benchBlobs returns n examples of k Gaussian classes in d dimensions: labels y_i = i mod k,
// x_ij = spread·c[y_i, j] + e_ij with c and e standard normal from streams seed and seed+1.
// bench/probes_bench.py (benchmark_data) is the same generator.
func benchBlobs(n, d, k int, spread float64, seed uint64) (*mat.Dense, []int) {
	x := mat.NewDense(n, d, nil)
	y := make([]int, n)
	for i := range y {
		y[i] = i % k
		row := x.RawRowView(i)
		for j := range row {
			row[j] = spread*normalAt(seed, uint64(y[i]*d+j)) + normalAt(seed+1, uint64(i*d+j))
		}
	}
	return x, y
}

// benchLogisticCases are also timed with sklearn by bench/probes_bench.py; keep the two in step.
var benchLogisticCases = []struct {
	n, d, k int
	spread  float64
}{
	{2000, 64, 10, 0.25},
	{2000, 256, 10, 0.12},
}

// BenchmarkFitLogistic times FitLogistic with DefaultLogisticOptions (sklearn's C=1, tol=1e-4 and
// ftol) on the first n of 2n examples and reports the accuracy on the other n, the iterations and
// the objective Σ CE + ‖W‖²/2 (times 1e6), to compare with sklearn at equal convergence.
func BenchmarkFitLogistic(b *testing.B) {
	for _, c := range benchLogisticCases {
		b.Run(fmt.Sprintf("n=%d,d=%d,k=%d", c.n, c.d, c.k), func(b *testing.B) {
			x, y := benchBlobs(2*c.n, c.d, c.k, c.spread, 42)
			train := x.Slice(0, c.n, 0, c.d).(*mat.Dense)
			test := x.Slice(c.n, 2*c.n, 0, c.d).(*mat.Dense)
			opts := DefaultLogisticOptions()
			var m *LogisticModel
			b.ResetTimer()
			for b.Loop() {
				var err error
				m, err = FitLogistic(train, y[:c.n], c.k, opts)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			tr, _ := m.Score(train, y[:c.n])
			te, _ := m.Score(test, y[c.n:])
			w := m.Coef.RawMatrix().Data
			var w2 float64
			for _, v := range w {
				w2 += v * v
			}
			b.ReportMetric(tr.Accuracy, "train_acc")
			b.ReportMetric(te.Accuracy, "test_acc")
			b.ReportMetric(float64(m.Iterations), "iters")
			// Scaled so that the benchmark line prints it to 1e-6 (large metrics print as integers).
			b.ReportMetric(1e6*(tr.LogLoss*float64(c.n)+w2/(2*opts.C)), "objective_x1e6")
		})
	}
}

// BenchmarkCrossValidateLogistic times 5-fold cross-validation on 2000×64 with 10 classes.
func BenchmarkCrossValidateLogistic(b *testing.B) {
	x, y := benchBlobs(2000, 64, 10, 0.25, 42)
	folds, err := StratifiedKFold(y, 5, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := CrossValidateLogistic(x, y, 10, folds, DefaultLogisticOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFitRidge times FitRidge on 2000×256.
func BenchmarkFitRidge(b *testing.B) {
	x, _ := benchBlobs(2000, 256, 1, 0, 7)
	y := make([]float64, 2000)
	for i := range y {
		y[i] = x.At(i, 0) - 2*x.At(i, 1) + normalAt(9, uint64(i))
	}
	for b.Loop() {
		if _, err := FitRidge(x, y, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// benchPattern returns a pattern of random causal softmax rows and random tokens from a small
// vocabulary (so tokens repeat), [examples, heads, pos, pos].
func benchPattern(examples, heads, pos, vocab int) (Pattern, []int32) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := Pattern{Data: make([]float32, examples*heads*pos*pos), Examples: examples, Heads: heads, Pos: pos}
	for r := 0; r < examples*heads*pos; r++ {
		q := r % pos
		row := p.Data[r*pos : r*pos+q+1]
		var sum float64
		for k := range row {
			v := math.Exp(2 * rng.NormFloat64())
			row[k] = float32(v)
			sum += v
		}
		for k := range row {
			row[k] = float32(float64(row[k]) / sum)
		}
	}
	tokens := make([]int32, examples*pos)
	for i := range tokens {
		tokens[i] = int32(rng.IntN(vocab))
	}
	return p, tokens
}

// BenchmarkScoreHeads times every head score of one layer: 256 examples, 8 heads, 64 positions.
func BenchmarkScoreHeads(b *testing.B) {
	p, tokens := benchPattern(256, 8, 64, 16)
	b.SetBytes(int64(4 * len(p.Data)))
	for b.Loop() {
		ScoreHeads(p, tokens)
	}
}

// BenchmarkSpecialisation times the pairwise Jensen–Shannon index alone on the same pattern.
func BenchmarkSpecialisation(b *testing.B) {
	p, _ := benchPattern(256, 8, 64, 16)
	b.SetBytes(int64(4 * len(p.Data)))
	for b.Loop() {
		Specialisation(p)
	}
}

// BenchmarkMultinomialEvaluate times one evaluation of the logistic objective and its gradient
// at the analysis stage's probe sizes (a few hundred labelled rows of a 16–64-wide residual
// stream; the carry and answer-digit concepts have 2 and 10 classes), at random parameters.
func BenchmarkMultinomialEvaluate(b *testing.B) {
	for _, c := range []struct{ n, d, k int }{{512, 16, 10}, {512, 32, 10}, {512, 64, 10}, {512, 32, 2}, {2000, 64, 10}} {
		b.Run(fmt.Sprintf("n=%d,d=%d,k=%d", c.n, c.d, c.k), func(b *testing.B) {
			x, y := benchBlobs(c.n, c.d, c.k, 0.25, 5)
			m := newMultinomial(x, y, c.k, 1)
			params := make([]float64, c.k*c.d+c.k)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range params {
				params[i] = 0.1 * rng.NormFloat64()
			}
			g := make([]float64, len(params))
			for b.Loop() {
				m.evaluate(g, params)
			}
		})
	}
}
