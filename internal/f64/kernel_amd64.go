//go:build !noasm && !purego

package f64

// kernel4x8 is kernel4x8AVX2 on CPUs with AVX2 and FMA, Kernel4x8Go otherwise.
var kernel4x8 = Kernel4x8Go

// expBlocks is expAVX2 on CPUs with AVX2 and FMA, expGo otherwise.
var expBlocks = expGo

func init() {
	if hasAVX2FMA() {
		kernel4x8 = kernel4x8AVX2
		expBlocks = expAVX2
	}
}

// expAVX2 sets x[i] = exp(x[i]) for the first len(x) &^ 3 elements (see exp_amd64.s).
//
//go:noescape
func expAVX2(x []float64)

// kernel4x8AVX2 is Kernel4x8Go with AVX2 and FMA instructions; len(a) must be a
// multiple of 4 and b0, b1 at least as long as a.
//
//go:noescape
func kernel4x8AVX2(a, b0, b1 []float64, c *[32]float64)

// cpuid executes the CPUID instruction with the given leaf and subleaf.
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// xgetbv0 returns the low word of extended control register 0.
func xgetbv0() uint32

// hasAVX2FMA reports whether the CPU and the operating system support AVX2 and FMA.
func hasAVX2FMA() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	// The OS saves the XMM and YMM registers on context switches.
	if xgetbv0()&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2 = 1 << 5
	return ebx7&avx2 != 0
}
