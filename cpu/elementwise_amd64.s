//go:build !noasm && !purego

#include "textflag.h"

// Element-wise float32 arithmetic, 8 lanes per AVX instruction. VV: out[i] = x[i] op y[i];
// VS: out[i] = x[i] op s; SV: out[i] = s op x[i]. len(x), len(y) ≥ len(out) (checked in Go).

// func addVV32(out, x, y []float32)
TEXT ·addVV32(SB), NOSPLIT, $0-72
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ y_base+48(FP), DX
	XORQ AX, AX
addVV32_loop32:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $32
	JLT  addVV32_loop8
	VMOVUPS 0(SI)(AX*4), Y0
	VMOVUPS 0(DX)(AX*4), Y4
	VADDPS Y4, Y0, Y0
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 32(DX)(AX*4), Y5
	VADDPS Y5, Y1, Y1
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 64(DX)(AX*4), Y6
	VADDPS Y6, Y2, Y2
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS 96(SI)(AX*4), Y3
	VMOVUPS 96(DX)(AX*4), Y7
	VADDPS Y7, Y3, Y3
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP  addVV32_loop32
addVV32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  addVV32_tail
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y4
	VADDPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  addVV32_loop8
addVV32_tail:
	CMPQ AX, CX
	JGE  addVV32_done
	VMOVSS (SI)(AX*4), X0
	VMOVSS (DX)(AX*4), X1
	VADDSS X1, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  addVV32_tail
addVV32_done:
	VZEROUPPER
	RET

// func addVS32(out, x []float32, s float32)
TEXT ·addVS32(SB), NOSPLIT, $0-52
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VBROADCASTSS s+48(FP), Y15
	XORQ AX, AX
addVS32_loop32:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $32
	JLT  addVS32_loop8
	VMOVUPS 0(SI)(AX*4), Y0
	VADDPS Y15, Y0, Y0
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS 32(SI)(AX*4), Y1
	VADDPS Y15, Y1, Y1
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS 64(SI)(AX*4), Y2
	VADDPS Y15, Y2, Y2
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS 96(SI)(AX*4), Y3
	VADDPS Y15, Y3, Y3
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP  addVS32_loop32
addVS32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  addVS32_tail
	VMOVUPS (SI)(AX*4), Y0
	VADDPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  addVS32_loop8
addVS32_tail:
	CMPQ AX, CX
	JGE  addVS32_done
	VMOVSS (SI)(AX*4), X0
	VADDSS X15, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  addVS32_tail
addVS32_done:
	VZEROUPPER
	RET

// func subVV32(out, x, y []float32)
TEXT ·subVV32(SB), NOSPLIT, $0-72
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ y_base+48(FP), DX
	XORQ AX, AX
subVV32_loop32:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $32
	JLT  subVV32_loop8
	VMOVUPS 0(SI)(AX*4), Y0
	VMOVUPS 0(DX)(AX*4), Y4
	VSUBPS Y4, Y0, Y0
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 32(DX)(AX*4), Y5
	VSUBPS Y5, Y1, Y1
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 64(DX)(AX*4), Y6
	VSUBPS Y6, Y2, Y2
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS 96(SI)(AX*4), Y3
	VMOVUPS 96(DX)(AX*4), Y7
	VSUBPS Y7, Y3, Y3
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP  subVV32_loop32
subVV32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  subVV32_tail
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y4
	VSUBPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  subVV32_loop8
subVV32_tail:
	CMPQ AX, CX
	JGE  subVV32_done
	VMOVSS (SI)(AX*4), X0
	VMOVSS (DX)(AX*4), X1
	VSUBSS X1, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  subVV32_tail
subVV32_done:
	VZEROUPPER
	RET

// func subVS32(out, x []float32, s float32)
TEXT ·subVS32(SB), NOSPLIT, $0-52
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VBROADCASTSS s+48(FP), Y15
	XORQ AX, AX
subVS32_loop32:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $32
	JLT  subVS32_loop8
	VMOVUPS 0(SI)(AX*4), Y0
	VSUBPS Y15, Y0, Y0
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS 32(SI)(AX*4), Y1
	VSUBPS Y15, Y1, Y1
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS 64(SI)(AX*4), Y2
	VSUBPS Y15, Y2, Y2
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS 96(SI)(AX*4), Y3
	VSUBPS Y15, Y3, Y3
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP  subVS32_loop32
subVS32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  subVS32_tail
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  subVS32_loop8
subVS32_tail:
	CMPQ AX, CX
	JGE  subVS32_done
	VMOVSS (SI)(AX*4), X0
	VSUBSS X15, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  subVS32_tail
subVS32_done:
	VZEROUPPER
	RET

// func subSV32(out, x []float32, s float32)
TEXT ·subSV32(SB), NOSPLIT, $0-52
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VBROADCASTSS s+48(FP), Y15
	XORQ AX, AX
subSV32_loop32:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $32
	JLT  subSV32_loop8
	VMOVUPS 0(SI)(AX*4), Y0
	VSUBPS Y0, Y15, Y0
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS 32(SI)(AX*4), Y1
	VSUBPS Y1, Y15, Y1
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS 64(SI)(AX*4), Y2
	VSUBPS Y2, Y15, Y2
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS 96(SI)(AX*4), Y3
	VSUBPS Y3, Y15, Y3
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP  subSV32_loop32
subSV32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  subSV32_tail
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS Y0, Y15, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  subSV32_loop8
subSV32_tail:
	CMPQ AX, CX
	JGE  subSV32_done
	VMOVSS (SI)(AX*4), X1
	VSUBSS X1, X15, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  subSV32_tail
subSV32_done:
	VZEROUPPER
	RET

// func mulVV32(out, x, y []float32)
TEXT ·mulVV32(SB), NOSPLIT, $0-72
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ y_base+48(FP), DX
	XORQ AX, AX
mulVV32_loop32:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $32
	JLT  mulVV32_loop8
	VMOVUPS 0(SI)(AX*4), Y0
	VMOVUPS 0(DX)(AX*4), Y4
	VMULPS Y4, Y0, Y0
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 32(DX)(AX*4), Y5
	VMULPS Y5, Y1, Y1
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 64(DX)(AX*4), Y6
	VMULPS Y6, Y2, Y2
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS 96(SI)(AX*4), Y3
	VMOVUPS 96(DX)(AX*4), Y7
	VMULPS Y7, Y3, Y3
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP  mulVV32_loop32
mulVV32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  mulVV32_tail
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y4
	VMULPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  mulVV32_loop8
mulVV32_tail:
	CMPQ AX, CX
	JGE  mulVV32_done
	VMOVSS (SI)(AX*4), X0
	VMOVSS (DX)(AX*4), X1
	VMULSS X1, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  mulVV32_tail
mulVV32_done:
	VZEROUPPER
	RET

// func mulVS32(out, x []float32, s float32)
TEXT ·mulVS32(SB), NOSPLIT, $0-52
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VBROADCASTSS s+48(FP), Y15
	XORQ AX, AX
mulVS32_loop32:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $32
	JLT  mulVS32_loop8
	VMOVUPS 0(SI)(AX*4), Y0
	VMULPS Y15, Y0, Y0
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS 32(SI)(AX*4), Y1
	VMULPS Y15, Y1, Y1
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS 64(SI)(AX*4), Y2
	VMULPS Y15, Y2, Y2
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS 96(SI)(AX*4), Y3
	VMULPS Y15, Y3, Y3
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP  mulVS32_loop32
mulVS32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  mulVS32_tail
	VMOVUPS (SI)(AX*4), Y0
	VMULPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  mulVS32_loop8
mulVS32_tail:
	CMPQ AX, CX
	JGE  mulVS32_done
	VMOVSS (SI)(AX*4), X0
	VMULSS X15, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  mulVS32_tail
mulVS32_done:
	VZEROUPPER
	RET

// func divVV32(out, x, y []float32)
TEXT ·divVV32(SB), NOSPLIT, $0-72
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	MOVQ y_base+48(FP), DX
	XORQ AX, AX
divVV32_loop32:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $32
	JLT  divVV32_loop8
	VMOVUPS 0(SI)(AX*4), Y0
	VMOVUPS 0(DX)(AX*4), Y4
	VDIVPS Y4, Y0, Y0
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 32(DX)(AX*4), Y5
	VDIVPS Y5, Y1, Y1
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 64(DX)(AX*4), Y6
	VDIVPS Y6, Y2, Y2
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS 96(SI)(AX*4), Y3
	VMOVUPS 96(DX)(AX*4), Y7
	VDIVPS Y7, Y3, Y3
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP  divVV32_loop32
divVV32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  divVV32_tail
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y4
	VDIVPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  divVV32_loop8
divVV32_tail:
	CMPQ AX, CX
	JGE  divVV32_done
	VMOVSS (SI)(AX*4), X0
	VMOVSS (DX)(AX*4), X1
	VDIVSS X1, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  divVV32_tail
divVV32_done:
	VZEROUPPER
	RET

// func divVS32(out, x []float32, s float32)
TEXT ·divVS32(SB), NOSPLIT, $0-52
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VBROADCASTSS s+48(FP), Y15
	XORQ AX, AX
divVS32_loop32:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $32
	JLT  divVS32_loop8
	VMOVUPS 0(SI)(AX*4), Y0
	VDIVPS Y15, Y0, Y0
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS 32(SI)(AX*4), Y1
	VDIVPS Y15, Y1, Y1
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS 64(SI)(AX*4), Y2
	VDIVPS Y15, Y2, Y2
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS 96(SI)(AX*4), Y3
	VDIVPS Y15, Y3, Y3
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP  divVS32_loop32
divVS32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  divVS32_tail
	VMOVUPS (SI)(AX*4), Y0
	VDIVPS Y15, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  divVS32_loop8
divVS32_tail:
	CMPQ AX, CX
	JGE  divVS32_done
	VMOVSS (SI)(AX*4), X0
	VDIVSS X15, X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  divVS32_tail
divVS32_done:
	VZEROUPPER
	RET

// func divSV32(out, x []float32, s float32)
TEXT ·divSV32(SB), NOSPLIT, $0-52
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VBROADCASTSS s+48(FP), Y15
	XORQ AX, AX
divSV32_loop32:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $32
	JLT  divSV32_loop8
	VMOVUPS 0(SI)(AX*4), Y0
	VDIVPS Y0, Y15, Y0
	VMOVUPS Y0, 0(DI)(AX*4)
	VMOVUPS 32(SI)(AX*4), Y1
	VDIVPS Y1, Y15, Y1
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS 64(SI)(AX*4), Y2
	VDIVPS Y2, Y15, Y2
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS 96(SI)(AX*4), Y3
	VDIVPS Y3, Y15, Y3
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	JMP  divSV32_loop32
divSV32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  divSV32_tail
	VMOVUPS (SI)(AX*4), Y0
	VDIVPS Y0, Y15, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	JMP  divSV32_loop8
divSV32_tail:
	CMPQ AX, CX
	JGE  divSV32_done
	VMOVSS (SI)(AX*4), X1
	VDIVSS X1, X15, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	JMP  divSV32_tail
divSV32_done:
	VZEROUPPER
	RET

// func fill32(out []float32, v float32)
TEXT ·fill32(SB), NOSPLIT, $0-28
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	VBROADCASTSS v+24(FP), Y15
	XORQ AX, AX
fill32_loop8:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $8
	JLT  fill32_tail
	VMOVUPS Y15, (DI)(AX*4)
	ADDQ $8, AX
	JMP  fill32_loop8
fill32_tail:
	CMPQ AX, CX
	JGE  fill32_done
	VMOVSS X15, (DI)(AX*4)
	INCQ AX
	JMP  fill32_tail
fill32_done:
	VZEROUPPER
	RET

// func where32(out []float32, c []bool, a, b []float32)
// out[i] = c[i] ? a[i] : b[i] for the first len(out) &^ 7 elements; len(c), len(a), len(b) ≥
// len(out) (checked in Go). A bool is one byte, 0 or 1: widened to 32 bits and compared with zero,
// it gives the lanes that take b.
TEXT ·where32(SB), NOSPLIT, $0-96
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ c_base+24(FP), R8
	MOVQ a_base+48(FP), SI
	MOVQ b_base+72(FP), DX
	ANDQ $-8, CX
	XORQ AX, AX
	VPXOR Y15, Y15, Y15
where32_loop16:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $16
	JLT  where32_loop8
	VPMOVZXBD 0(R8)(AX*1), Y0
	VPMOVZXBD 8(R8)(AX*1), Y1
	VPCMPEQD Y15, Y0, Y0
	VPCMPEQD Y15, Y1, Y1
	VMOVUPS 0(SI)(AX*4), Y2
	VMOVUPS 32(SI)(AX*4), Y3
	VBLENDVPS Y0, 0(DX)(AX*4), Y2, Y2
	VBLENDVPS Y1, 32(DX)(AX*4), Y3, Y3
	VMOVUPS Y2, 0(DI)(AX*4)
	VMOVUPS Y3, 32(DI)(AX*4)
	ADDQ $16, AX
	JMP  where32_loop16
where32_loop8:
	CMPQ AX, CX
	JGE  where32_done
	VPMOVZXBD 0(R8)(AX*1), Y0
	VPCMPEQD Y15, Y0, Y0
	VMOVUPS 0(SI)(AX*4), Y2
	VBLENDVPS Y0, 0(DX)(AX*4), Y2, Y2
	VMOVUPS Y2, 0(DI)(AX*4)
	ADDQ $8, AX
	JMP  where32_loop8
where32_done:
	VZEROUPPER
	RET

// func maxRun32(x []float32) (m float32, unordered bool)
// The largest of the first len(x) &^ 7 elements (len(x) ≥ 8, checked in Go), and whether any of
// them is NaN (then m is meaningless: VMAXPS does not propagate NaN the way the Go loop does).
TEXT ·maxRun32(SB), NOSPLIT, $0-29
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	ANDQ $-8, CX
	VMOVUPS 0(SI), Y0
	VMOVAPS Y0, Y1
	VCMPPS $3, Y0, Y0, Y2
	VMOVAPS Y2, Y3
	MOVQ $8, AX
maxRun32_loop16:
	MOVQ CX, BX
	SUBQ AX, BX
	CMPQ BX, $16
	JLT  maxRun32_loop8
	VMOVUPS 0(SI)(AX*4), Y4
	VMOVUPS 32(SI)(AX*4), Y5
	VMAXPS Y4, Y0, Y0
	VMAXPS Y5, Y1, Y1
	VCMPPS $3, Y4, Y4, Y6
	VCMPPS $3, Y5, Y5, Y7
	VORPS Y6, Y2, Y2
	VORPS Y7, Y3, Y3
	ADDQ $16, AX
	JMP  maxRun32_loop16
maxRun32_loop8:
	CMPQ AX, CX
	JGE  maxRun32_reduce
	VMOVUPS 0(SI)(AX*4), Y4
	VMAXPS Y4, Y0, Y0
	VCMPPS $3, Y4, Y4, Y6
	VORPS Y6, Y2, Y2
	ADDQ $8, AX
	JMP  maxRun32_loop8
maxRun32_reduce:
	VMAXPS Y1, Y0, Y0
	VORPS Y3, Y2, Y2
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, m+24(FP)
	VMOVMSKPS Y2, BX
	TESTL BX, BX
	SETNE unordered+28(FP)
	VZEROUPPER
	RET
