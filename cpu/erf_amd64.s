//go:build !noasm && !purego

#include "textflag.h"

// func erfArg8AVX2(arg, t, x []float32, c *[12]float32)
//
// For len(arg) a multiple of 8: z = |x|, t = 1/(1 + z/2), arg = -z² + P(t) with P the degree-9
// polynomial whose coefficients are c[0..9] (c[0] the constant term), c[10] = 1/2, c[11] = 1.
TEXT ·erfArg8AVX2(SB), NOSPLIT, $0-80
	MOVQ arg_base+0(FP), DI
	MOVQ arg_len+8(FP), CX
	MOVQ t_base+24(FP), R8
	MOVQ x_base+48(FP), SI
	MOVQ c+72(FP), DX
	VBROADCASTSS 40(DX), Y15 // 1/2
	VBROADCASTSS 44(DX), Y14 // 1
	VPCMPEQD Y13, Y13, Y13
	VPSRLD   $1, Y13, Y13    // 0x7fffffff
	XORQ AX, AX

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPS (SI)(AX*4), Y0
	VANDPS  Y13, Y0, Y0      // z
	VMOVAPS Y14, Y1
	VFMADD231PS Y15, Y0, Y1  // 1 + z/2
	VDIVPS  Y1, Y14, Y1      // t
	VMOVUPS Y1, (R8)(AX*4)
	VBROADCASTSS 36(DX), Y2  // p = c9
	VBROADCASTSS 32(DX), Y3
	VFMADD213PS Y3, Y1, Y2   // p = p·t + c8
	VBROADCASTSS 28(DX), Y3
	VFMADD213PS Y3, Y1, Y2
	VBROADCASTSS 24(DX), Y3
	VFMADD213PS Y3, Y1, Y2
	VBROADCASTSS 20(DX), Y3
	VFMADD213PS Y3, Y1, Y2
	VBROADCASTSS 16(DX), Y3
	VFMADD213PS Y3, Y1, Y2
	VBROADCASTSS 12(DX), Y3
	VFMADD213PS Y3, Y1, Y2
	VBROADCASTSS 8(DX), Y3
	VFMADD213PS Y3, Y1, Y2
	VBROADCASTSS 4(DX), Y3
	VFMADD213PS Y3, Y1, Y2
	VBROADCASTSS 0(DX), Y3
	VFMADD213PS Y3, Y1, Y2   // P(t)
	VFNMADD231PS Y0, Y0, Y2  // P(t) - z²
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ $8, AX
	JMP  loop

done:
	VZEROUPPER
	RET

// func erfFinish8AVX2(out, t, e, x []float32)
//
// For len(out) a multiple of 8: out = sign(x)·(1 - t·e), e = exp(arg) (erfc(|x|) = t·e).
TEXT ·erfFinish8AVX2(SB), NOSPLIT, $0-96
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ t_base+24(FP), R8
	MOVQ e_base+48(FP), R9
	MOVQ x_base+72(FP), SI
	VPCMPEQD Y13, Y13, Y13
	VPSLLD   $31, Y13, Y13   // 0x80000000
	VPCMPEQD Y14, Y14, Y14
	VPSRLD   $25, Y14, Y14
	VPSLLD   $23, Y14, Y14   // 0x3f800000 = 1.0
	XORQ AX, AX

floop:
	CMPQ AX, CX
	JGE  fdone
	VMOVUPS (R8)(AX*4), Y0
	VMOVUPS (R9)(AX*4), Y1
	VMOVAPS Y14, Y2
	VFNMADD231PS Y1, Y0, Y2  // 1 - t·e
	VMOVUPS (SI)(AX*4), Y3
	VANDPS  Y13, Y3, Y3      // sign of x
	VORPS   Y3, Y2, Y2
	VMOVUPS Y2, (DI)(AX*4)
	ADDQ $8, AX
	JMP  floop

fdone:
	VZEROUPPER
	RET
