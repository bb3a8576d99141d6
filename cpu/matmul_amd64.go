//go:build !noasm && !purego

package cpu

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly micro-kernel on CPUs with AVX2 and FMA.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useAVX512 selects the 32-column AVX-512 micro-kernel for column panels wider than 16.
var useAVX512 = useAVX2 && cpu.X86.HasAVX512F

// hasStridedKernel: the strided micro-kernel exists when the AVX2 one does.
var hasStridedKernel = useAVX2

// kernel6x16AVX2 computes the 6 × 16 float32 tile of a k-long A panel (6 values per k) and
// B panel (16 values per k) into tile, with fused multiply-adds in ascending k.
//
//go:noescape
func kernel6x16AVX2(k int, a, b *float32, tile *[mr * nr]float32)

func microKernel32(k int, ap, bp []float32, tile *[mr * nr]float32) {
	if !useAVX2 || k == 0 {
		microKernelGo(k, ap, bp, tile)
		return
	}
	_ = ap[k*mr-1]
	_ = bp[k*nr-1]
	kernel6x16AVX2(k, &ap[0], &bp[0], tile)
}

// kernel6x16StridedAVX2 is kernel6x16AVX2 reading A in place (element (r, kk) at a[r·rs + kk·ks])
// and B in place (row kk's 16 values at b[kk·ldb:]).
//
//go:noescape
func kernel6x16StridedAVX2(k int, a *float32, rs, ks int, b *float32, ldb int, tile *[mr * nr]float32)

// microKernelStrided32 computes a full 6-row tile from A and B read in place, reporting false when
// there is no assembly kernel (the caller then packs).
func microKernelStrided32(k int, a []float32, rs, ks int, b []float32, ldb int, tile *[mr * nr]float32) bool {
	if !useAVX2 || k == 0 {
		return false
	}
	_ = a[(mr-1)*rs+(k-1)*ks]
	_ = b[(k-1)*ldb+nr-1]
	kernel6x16StridedAVX2(k, &a[0], rs, ks, &b[0], ldb, tile)
	return true
}

// kernel6x32StridedAVX512 computes a 6 × 32 tile the way kernel6x16StridedAVX2 computes each of its
// two 16-column halves, with the same operations on every element (so the results are bit-identical).
// B's row kk (32 contiguous values) is at b[kk·ldb:].
//
//go:noescape
func kernel6x32StridedAVX512(k int, a *float32, rs, ks int, b *float32, ldb int, tile *[mr * 2 * nr]float32)

// microKernelWide32 computes a full 6 × 32 tile from A and B read in place, reporting false when
// the CPU has no AVX-512 (the caller then uses the 16-column kernel twice).
func microKernelWide32(k int, a []float32, rs, ks int, b []float32, ldb int, tile *[mr * 2 * nr]float32) bool {
	if !useAVX512 || k == 0 {
		return false
	}
	_ = a[(mr-1)*rs+(k-1)*ks]
	_ = b[(k-1)*ldb+2*nr-1]
	kernel6x32StridedAVX512(k, &a[0], rs, ks, &b[0], ldb, tile)
	return true
}
