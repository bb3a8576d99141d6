package cpu

import "testing"

// BenchmarkMicroKernel times the strided AVX2 micro-kernel on one 6×16 tile with k = 128 (A and B
// in L1); GFLOP/s = 2·6·16·128 per op.
func BenchmarkMicroKernel(b *testing.B) {
	const k = 128
	a := make([]float32, mr*k)
	bp := make([]float32, k*nr)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	for i := range bp {
		bp[i] = float32(i%5) - 2
	}
	var tile [mr * nr]float32
	for b.Loop() {
		microKernelStrided32(k, a, k, 1, bp, nr, &tile)
	}
	b.ReportMetric(2*mr*nr*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
