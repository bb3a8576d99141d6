//go:build !noasm && !purego

#include "textflag.h"

// Constants of expAVX2: log2(e), ln 2 split into a double and the rest (Cody & Waite), the Taylor
// coefficients 1/k! for k = 13 down to 2, 1, and the clamp of x to [-708.3, 710]: below it the
// result is set to 0, above it exp(x) rounds to +Inf.
DATA expConsts<>+0(SB)/8, $1.4426950408889634 // log2(e)
DATA expConsts<>+8(SB)/8, $0.6931471805599453 // ln 2, rounded to a double
DATA expConsts<>+16(SB)/8, $2.3190468138462996e-17 // ln 2 minus the above
DATA expConsts<>+24(SB)/8, $1.6059043836821613e-10 // 1/13!
DATA expConsts<>+32(SB)/8, $2.08767569878681e-09 // 1/12!
DATA expConsts<>+40(SB)/8, $2.505210838544172e-08 // 1/11!
DATA expConsts<>+48(SB)/8, $2.755731922398589e-07 // 1/10!
DATA expConsts<>+56(SB)/8, $2.7557319223985893e-06 // 1/9!
DATA expConsts<>+64(SB)/8, $2.48015873015873e-05 // 1/8!
DATA expConsts<>+72(SB)/8, $0.0001984126984126984 // 1/7!
DATA expConsts<>+80(SB)/8, $0.001388888888888889 // 1/6!
DATA expConsts<>+88(SB)/8, $0.008333333333333333 // 1/5!
DATA expConsts<>+96(SB)/8, $0.041666666666666664 // 1/4!
DATA expConsts<>+104(SB)/8, $0.16666666666666666 // 1/3!
DATA expConsts<>+112(SB)/8, $0.5 // 1/2!
DATA expConsts<>+120(SB)/8, $1.0
DATA expConsts<>+128(SB)/8, $-708.3
DATA expConsts<>+136(SB)/8, $710.0
GLOBL expConsts<>(SB), RODATA|NOPTR, $144

// The exponent bias of a float64, as an int32.
DATA expBias<>+0(SB)/4, $1023
GLOBL expBias<>(SB), RODATA|NOPTR, $4

#define HORNER(off) VBROADCASTSD expConsts<>+off(SB), Y5; VFMADD213PD Y5, Y3, Y4

// func expAVX2(x []float64)
//
// x[i] = exp(x[i]) for len(x) a multiple of 4 (the rest is ignored). With n = round(x·log2 e)
// and r = x − n·ln 2 (|r| ≤ ln2/2), exp(x) = 2ⁿ·exp(r): exp(r) by its Taylor polynomial of
// degree 13 (truncation error below 1e-17 relative) in Horner's form with FMA, 2ⁿ as the product
// of two powers 2^⌊n/2⌋ and 2^(n−⌊n/2⌋) built from their exponent bits, so that results that
// overflow round to +Inf as one multiplication would. Below x = −708.3 (exp ≈ 2.4e−308, next to
// the smallest normal float64) the result is 0: a subnormal result would cost a microcode assist
// of a hundred cycles or more, and a softmax's padded or far-off classes land there. NaN stays NaN.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	SHRQ $2, CX
	JZ   done
	VBROADCASTSD expConsts<>+0(SB), Y15
	VBROADCASTSD expConsts<>+8(SB), Y14
	VBROADCASTSD expConsts<>+16(SB), Y13
	VBROADCASTSD expConsts<>+128(SB), Y12
	VBROADCASTSD expConsts<>+136(SB), Y11
	VPBROADCASTD expBias<>+0(SB), X10

loop:
	VMOVUPD      (SI), Y0
	VCMPPD       $0x11, Y12, Y0, Y9 // x < −708.3
	VMAXPD       Y12, Y0, Y1  // clamp below (a NaN becomes −708.3 here and is put back at the end)
	VMINPD       Y11, Y1, Y1  // and above
	VMULPD       Y15, Y1, Y2
	VROUNDPD     $0, Y2, Y2   // n, rounded to nearest
	VMOVAPD      Y1, Y3
	VFNMADD231PD Y14, Y2, Y3  // r = x − n·ln2_hi
	VFNMADD231PD Y13, Y2, Y3  // r −= n·ln2_lo
	VBROADCASTSD expConsts<>+24(SB), Y4
	HORNER(32)
	HORNER(40)
	HORNER(48)
	HORNER(56)
	HORNER(64)
	HORNER(72)
	HORNER(80)
	HORNER(88)
	HORNER(96)
	HORNER(104)
	HORNER(112)
	HORNER(120)
	HORNER(120)                // p = exp(r)
	VCVTPD2DQY   Y2, X6        // n as int32
	VPSRAD       $1, X6, X7    // a = ⌊n/2⌋
	VPSUBD       X7, X6, X6    // b = n − a
	VPADDD       X10, X7, X7
	VPADDD       X10, X6, X6
	VPMOVZXDQ    X7, Y7
	VPMOVZXDQ    X6, Y6
	VPSLLQ       $52, Y7, Y7   // 2^a
	VPSLLQ       $52, Y6, Y6   // 2^b
	VMULPD       Y7, Y4, Y4
	VMULPD       Y6, Y4, Y4
	VANDNPD      Y4, Y9, Y4     // 0 below −708.3
	VCMPPD       $3, Y0, Y0, Y8 // x is NaN
	VBLENDVPD    Y8, Y0, Y4, Y4
	VMOVUPD      Y4, (SI)
	ADDQ         $32, SI
	DECQ         CX
	JNZ          loop
	VZEROUPPER

done:
	RET
