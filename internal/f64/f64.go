// Package f64 holds the float64 kernels that geometry and probes share, in AVX2/FMA assembly on
// amd64 (portable Go versions elsewhere and under the noasm or purego build tags): the
// matrix-product micro-kernel Kernel4x8, a 4×8 tile of dot products over panels, and Exp, the
// exponential of a slice.
//
// A panel holds Width vectors interleaved element by element: element l of vector r is at
// index Width·l + r. Kernel4x8 adds to a 4×8 tile the dot products of the Width vectors of one
// panel with the 2·Width vectors of two others.
package f64

// Width is the number of vectors in a panel.
const Width = 4

// Kernel4x8 adds to c the 4×8 tile AᵀB of panel a against panels b0, b1 (see Kernel4x8Go):
// the AVX2/FMA kernel on CPUs that have it, Kernel4x8Go otherwise. len(a) must be a multiple of
// Width and b0, b1 at least as long as a.
func Kernel4x8(a, b0, b1 []float64, c *[32]float64) { kernel4x8(a, b0, b1, c) }

// Kernel4x8Go adds to c the 4×8 tile AᵀB, where a holds one panel and b0, b1 two
// panels over the same elements: c[8r+j] += Σ_l a[4l+r]·b[l][j], with columns 0..3 from
// b0 and 4..7 from b1. It is the portable version of the amd64 kernel, and its reference in tests.
func Kernel4x8Go(a, b0, b1 []float64, c *[32]float64) {
	kernel2x4Go(a, 0, b0, c, 0)
	kernel2x4Go(a, 2, b0, c, 16)
	kernel2x4Go(a, 0, b1, c, 4)
	kernel2x4Go(a, 2, b1, c, 20)
}

// kernel2x4Go adds to c the 2×4 tile of rows r, r+1 of a against panel b at offset off.
func kernel2x4Go(a []float64, r int, b []float64, c *[32]float64, off int) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float64
	b = b[:len(a)]
	for l := 0; l+Width <= len(a); l += Width {
		aa := a[l+r : l+r+2 : l+r+2]
		bb := b[l : l+Width : l+Width]
		a0, a1 := aa[0], aa[1]
		c00 += a0 * bb[0]
		c01 += a0 * bb[1]
		c02 += a0 * bb[2]
		c03 += a0 * bb[3]
		c10 += a1 * bb[0]
		c11 += a1 * bb[1]
		c12 += a1 * bb[2]
		c13 += a1 * bb[3]
	}
	c[off] += c00
	c[off+1] += c01
	c[off+2] += c02
	c[off+3] += c03
	c[off+8] += c10
	c[off+9] += c11
	c[off+10] += c12
	c[off+11] += c13
}
