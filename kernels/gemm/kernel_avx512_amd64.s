//go:build !noasm

#include "textflag.h"

// The AVX-512F micro-kernel: a 12×32 tile of C from 12 rows × k steps of
// op(A), element (r, p) at a[r*aRow + p*aStep], and a packed k×32 panel of
// B (32 values per step). It mirrors kernelAVX2 with zmm registers and
// twice the rows.
//
// Registers: Z0..Z23 accumulate the tile, row r in Z(2r) (columns 0-15)
// and Z(2r+1) (columns 16-31); Z24, Z25 hold one step of B; Z26, Z27
// alternate as broadcast A values; Z28, Z29 hold alpha and beta.
// AX points at step p of rows 0-3, R12 at rows 4-7 and R9 at rows 8-11;
// R10 is the row stride of A, R13 three times it, and R11 the step stride,
// in bytes.
// Only AVX-512F instructions are used (VPXORD, not the DQ-only VXORPS zmm).

// ROW12x32 adds a[r]*b to row r's two accumulators.
#define ROW12x32(asrc, bc, acc0, acc1) \
	VBROADCASTSS asrc, bc; \
	VFMADD231PS  Z24, bc, acc0; \
	VFMADD231PS  Z25, bc, acc1

// STEP12x32 performs one k step reading B at boff(BX), then advances A.
#define STEP12x32(boff) \
	VMOVUPS boff(BX), Z24; \
	VMOVUPS boff+64(BX), Z25; \
	ROW12x32((AX), Z26, Z0, Z1); \
	ROW12x32((AX)(R10*1), Z27, Z2, Z3); \
	ROW12x32((AX)(R10*2), Z26, Z4, Z5); \
	ROW12x32((AX)(R13*1), Z27, Z6, Z7); \
	ROW12x32((R12), Z26, Z8, Z9); \
	ROW12x32((R12)(R10*1), Z27, Z10, Z11); \
	ROW12x32((R12)(R10*2), Z26, Z12, Z13); \
	ROW12x32((R12)(R13*1), Z27, Z14, Z15); \
	ROW12x32((R9), Z26, Z16, Z17); \
	ROW12x32((R9)(R10*1), Z27, Z18, Z19); \
	ROW12x32((R9)(R10*2), Z26, Z20, Z21); \
	ROW12x32((R9)(R13*1), Z27, Z22, Z23); \
	ADDQ R11, AX; \
	ADDQ R11, R12; \
	ADDQ R11, R9

// SCALE12x32 multiplies the row's accumulators by alpha (in Z28).
#define SCALE12x32(acc0, acc1) \
	VMULPS Z28, acc0, acc0; \
	VMULPS Z28, acc1, acc1

// STORE12x32 writes one row of the tile to (DI) and advances DI by ldc.
#define STORE12x32(acc0, acc1) \
	VMOVUPS acc0, (DI); \
	VMOVUPS acc1, 64(DI); \
	ADDQ    SI, DI

// UPDATE12x32 adds beta (in Z29) times one row of C to the row's
// accumulators, writes the row back and advances DI by ldc.
#define UPDATE12x32(acc0, acc1) \
	VFMADD231PS (DI), Z29, acc0; \
	VFMADD231PS 64(DI), Z29, acc1; \
	STORE12x32(acc0, acc1)

// PREFETCH12x32 pulls the two cache lines of one C row (at R8) toward L1
// and advances R8 by ldc.
#define PREFETCH12x32 \
	PREFETCHT0 (R8); \
	PREFETCHT0 64(R8); \
	PREFETCHT0 124(R8); \
	ADDQ       SI, R8

// func kernelAVX512(k int, a *float32, aRow, aStep int, b, c *float32, ldc int, alpha, beta float32)
TEXT ·kernelAVX512(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ aRow+16(FP), R10
	SHLQ $2, R10
	MOVQ aStep+24(FP), R11
	SHLQ $2, R11
	LEAQ (R10)(R10*2), R13
	LEAQ (AX)(R10*4), R12
	LEAQ (R12)(R10*4), R9
	MOVQ b+32(FP), BX
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), SI
	SHLQ $2, SI

	MOVQ DI, R8
	PREFETCH12x32
	PREFETCH12x32
	PREFETCH12x32
	PREFETCH12x32
	PREFETCH12x32
	PREFETCH12x32
	PREFETCH12x32
	PREFETCH12x32
	PREFETCH12x32
	PREFETCH12x32
	PREFETCH12x32
	PREFETCH12x32

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   tail

loop4:
	STEP12x32(0)
	STEP12x32(128)
	STEP12x32(256)
	STEP12x32(384)
	ADDQ $512, BX
	DECQ DX
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   output

loop1:
	STEP12x32(0)
	ADDQ $128, BX
	DECQ CX
	JNZ  loop1

output:
	VBROADCASTSS alpha+56(FP), Z28
	SCALE12x32(Z0, Z1)
	SCALE12x32(Z2, Z3)
	SCALE12x32(Z4, Z5)
	SCALE12x32(Z6, Z7)
	SCALE12x32(Z8, Z9)
	SCALE12x32(Z10, Z11)
	SCALE12x32(Z12, Z13)
	SCALE12x32(Z14, Z15)
	SCALE12x32(Z16, Z17)
	SCALE12x32(Z18, Z19)
	SCALE12x32(Z20, Z21)
	SCALE12x32(Z22, Z23)

	// beta is +0 exactly when C must not be read (the caller clears -0).
	MOVL  beta+60(FP), R8
	TESTL R8, R8
	JZ    store

	VBROADCASTSS beta+60(FP), Z29
	UPDATE12x32(Z0, Z1)
	UPDATE12x32(Z2, Z3)
	UPDATE12x32(Z4, Z5)
	UPDATE12x32(Z6, Z7)
	UPDATE12x32(Z8, Z9)
	UPDATE12x32(Z10, Z11)
	UPDATE12x32(Z12, Z13)
	UPDATE12x32(Z14, Z15)
	UPDATE12x32(Z16, Z17)
	UPDATE12x32(Z18, Z19)
	UPDATE12x32(Z20, Z21)
	UPDATE12x32(Z22, Z23)
	VZEROUPPER
	RET

store:
	STORE12x32(Z0, Z1)
	STORE12x32(Z2, Z3)
	STORE12x32(Z4, Z5)
	STORE12x32(Z6, Z7)
	STORE12x32(Z8, Z9)
	STORE12x32(Z10, Z11)
	STORE12x32(Z12, Z13)
	STORE12x32(Z14, Z15)
	STORE12x32(Z16, Z17)
	STORE12x32(Z18, Z19)
	STORE12x32(Z20, Z21)
	STORE12x32(Z22, Z23)
	VZEROUPPER
	RET
