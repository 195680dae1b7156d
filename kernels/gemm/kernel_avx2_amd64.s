//go:build !noasm

#include "textflag.h"

// The AVX2+FMA micro-kernel: a 6×16 tile of C from 6 rows × k steps of
// op(A), element (r, p) at a[r*aRow + p*aStep], and a packed k×16 panel of B
// (16 values per step).
//
// Registers: Y0..Y11 accumulate the tile, row r in Y(2r) (columns 0-7) and
// Y(2r+1) (columns 8-15); Y12, Y13 hold one step of B; Y14, Y15 alternate
// as broadcast A values so consecutive rows do not wait on one register.
// AX points at step p of rows 0-2 and R12 at rows 3-5; R10 is the row
// stride and R11 the step stride of A, in bytes.

// ROW6x16 adds a[r]*b to row r's two accumulators.
#define ROW6x16(asrc, bc, acc0, acc1) \
	VBROADCASTSS asrc, bc; \
	VFMADD231PS  Y12, bc, acc0; \
	VFMADD231PS  Y13, bc, acc1

// STEP6x16 performs one k step reading B at boff(BX), then advances A.
#define STEP6x16(boff) \
	VMOVUPS boff(BX), Y12; \
	VMOVUPS boff+32(BX), Y13; \
	ROW6x16((AX), Y14, Y0, Y1); \
	ROW6x16((AX)(R10*1), Y15, Y2, Y3); \
	ROW6x16((AX)(R10*2), Y14, Y4, Y5); \
	ROW6x16((R12), Y15, Y6, Y7); \
	ROW6x16((R12)(R10*1), Y14, Y8, Y9); \
	ROW6x16((R12)(R10*2), Y15, Y10, Y11); \
	ADDQ R11, AX; \
	ADDQ R11, R12

// SCALE6x16 multiplies the row's accumulators by alpha (in Y14).
#define SCALE6x16(acc0, acc1) \
	VMULPS Y14, acc0, acc0; \
	VMULPS Y14, acc1, acc1

// STORE6x16 writes one row of the tile to (DI) and advances DI by ldc.
#define STORE6x16(acc0, acc1) \
	VMOVUPS acc0, (DI); \
	VMOVUPS acc1, 32(DI); \
	ADDQ    SI, DI

// UPDATE6x16 adds beta (in Y15) times one row of C to the row's
// accumulators, writes the row back and advances DI by ldc.
#define UPDATE6x16(acc0, acc1) \
	VFMADD231PS (DI), Y15, acc0; \
	VFMADD231PS 32(DI), Y15, acc1; \
	STORE6x16(acc0, acc1)

// func kernelAVX2(k int, a *float32, aRow, aStep int, b, c *float32, ldc int, alpha, beta float32)
TEXT ·kernelAVX2(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ aRow+16(FP), R10
	SHLQ $2, R10
	MOVQ aStep+24(FP), R11
	SHLQ $2, R11
	LEAQ (R10)(R10*2), R12
	ADDQ AX, R12
	MOVQ b+32(FP), BX
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), SI
	SHLQ $2, SI

	// Pull the C tile toward L1 while the k loop runs.
	MOVQ       DI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)
	ADDQ       SI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)
	ADDQ       SI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)
	ADDQ       SI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)
	ADDQ       SI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)
	ADDQ       SI, R8
	PREFETCHT0 (R8)
	PREFETCHT0 60(R8)

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   tail

loop4:
	STEP6x16(0)
	STEP6x16(64)
	STEP6x16(128)
	STEP6x16(192)
	ADDQ $256, BX
	DECQ DX
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   output

loop1:
	STEP6x16(0)
	ADDQ $64, BX
	DECQ CX
	JNZ  loop1

output:
	VBROADCASTSS alpha+56(FP), Y14
	SCALE6x16(Y0, Y1)
	SCALE6x16(Y2, Y3)
	SCALE6x16(Y4, Y5)
	SCALE6x16(Y6, Y7)
	SCALE6x16(Y8, Y9)
	SCALE6x16(Y10, Y11)

	// beta is +0 exactly when C must not be read (the caller clears -0).
	MOVL  beta+60(FP), R9
	TESTL R9, R9
	JZ    store

	VBROADCASTSS beta+60(FP), Y15
	UPDATE6x16(Y0, Y1)
	UPDATE6x16(Y2, Y3)
	UPDATE6x16(Y4, Y5)
	UPDATE6x16(Y6, Y7)
	UPDATE6x16(Y8, Y9)
	UPDATE6x16(Y10, Y11)
	VZEROUPPER
	RET

store:
	STORE6x16(Y0, Y1)
	STORE6x16(Y2, Y3)
	STORE6x16(Y4, Y5)
	STORE6x16(Y6, Y7)
	STORE6x16(Y8, Y9)
	STORE6x16(Y10, Y11)
	VZEROUPPER
	RET
