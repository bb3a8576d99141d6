//go:build !amd64 || noasm || purego

package cpu

func microKernel32(k int, ap, bp []float32, tile *[mr * nr]float32) {
	microKernelGo(k, ap, bp, tile)
}
