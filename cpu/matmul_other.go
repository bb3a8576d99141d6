//go:build !amd64 || noasm || purego

package cpu

const hasStridedKernel = false

// useAVX2 is false: there is no assembly here.
const useAVX2 = false

// useAVX512 is false: there is no assembly here.
const useAVX512 = false

func microKernel32(k int, ap, bp []float32, tile *[mr * nr]float32) {
	microKernelGo(k, ap, bp, tile)
}

func microKernelStrided32(k int, a []float32, rs, ks int, b []float32, ldb int, tile *[mr * nr]float32) bool {
	return false
}

func microKernelWide32(k int, a []float32, rs, ks int, b []float32, ldb int, tile *[mr * 2 * nr]float32) bool {
	return false
}
