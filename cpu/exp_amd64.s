//go:build !noasm && !purego

#include "textflag.h"

// func exp8AVX2(out, x []float32, c *[12]float32)
//
// out[i] = e^x[i] for len(out) a multiple of 8 (the Go caller handles the tail). Method: Cody–Waite
// reduction x = n·ln2 + r with n = round(x·log₂e), |r| ≤ ln2/2, ln2 split in a high part exact in
// float32 and a low part; e^r by its degree-7 Taylor polynomial (truncation < 6e-9 relative) in
// Horner form with fused multiply-adds; 2^n built in the exponent bits. x > 88.72 gives +Inf,
// x < -87.33 gives 0 (no subnormals), NaN gives NaN.
// c: [log2e, ln2hi, ln2lo, 1/7!, 1/6!, 1/5!, 1/4!, 1/3!, 1/2, 1, hi, lo]
TEXT ·exp8AVX2(SB), NOSPLIT, $0-56
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ c+48(FP), DX
	VBROADCASTSS 0(DX), Y15  // log2e
	VBROADCASTSS 4(DX), Y14  // ln2hi
	VBROADCASTSS 8(DX), Y13  // ln2lo
	VBROADCASTSS 40(DX), Y12 // hi
	VBROADCASTSS 44(DX), Y11 // lo
	VBROADCASTSS 36(DX), Y10 // 1
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPS (SI)(AX*4), Y0          // x
	VMINPS  Y12, Y0, Y1             // clamp to [lo, hi] (NaN handled below)
	VMAXPS  Y11, Y1, Y1
	VMULPS  Y15, Y1, Y2             // x·log2e
	VROUNDPS $0, Y2, Y2             // n (nearest)
	VFNMADD231PS Y14, Y2, Y1        // r = x - n·ln2hi
	VFNMADD231PS Y13, Y2, Y1        // r -= n·ln2lo
	VBROADCASTSS 12(DX), Y3         // p = 1/7!
	VBROADCASTSS 16(DX), Y4
	VFMADD213PS Y4, Y1, Y3          // p = p·r + 1/6!
	VBROADCASTSS 20(DX), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS 24(DX), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS 28(DX), Y4
	VFMADD213PS Y4, Y1, Y3
	VBROADCASTSS 32(DX), Y4
	VFMADD213PS Y4, Y1, Y3          // + 1/2
	VFMADD213PS Y10, Y1, Y3         // + 1
	VFMADD213PS Y10, Y1, Y3         // + 1  (p = e^r)
	VCVTPS2DQ Y2, Y5                // n as int32
	VPSLLD  $23, Y5, Y5             // n << 23: added to the exponent bits of p
	VPADDD  Y5, Y3, Y3              // p·2^n
	VCMPPS  $0x1e, Y12, Y0, Y6      // x > hi (ordered)
	VCMPPS  $0x11, Y11, Y0, Y7      // x < lo (ordered)
	VCMPPS  $3, Y0, Y0, Y8          // x is NaN
	VANDNPS Y3, Y7, Y3              // 0 where x < lo
	VBROADCASTSS 48(DX), Y9         // +Inf
	VBLENDVPS Y6, Y9, Y3, Y3        // +Inf where x > hi
	VBLENDVPS Y8, Y0, Y3, Y3        // x (NaN) where NaN
	VMOVUPS Y3, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     loop

done:
	VZEROUPPER
	RET
