//go:build !noasm

#include "textflag.h"

// matvecAVX2 computes four rows at a time, sharing each 8-wide load of x.
// Every row, in the four-row loop or the one-row tail, gets the same
// arithmetic: two accumulators over alternating 8-column blocks (a last odd
// block goes to the first), added, then summed across lanes in a fixed
// order, so a row's result does not depend on which loop computed it.
//
// Registers: DI out, SI row 0, R11-R13 rows 1-3, DX x, R8 rows left, R9 n,
// R10 row stride in bytes, AX column offset in bytes, CX columns left;
// Y0-Y7 accumulators, Y8/Y9 blocks of x.

// HSUM leaves the sum of the eight lanes of ya+yb in the low lane of xa.
#define HSUM(ya, yb, xa, xt) \
	VADDPS yb, ya, ya; \
	VEXTRACTF128 $1, ya, xt; \
	VADDPS xt, xa, xa; \
	VHADDPS xa, xa, xa; \
	VHADDPS xa, xa, xa

// func matvecAVX2(out, w, x *float32, rows, n, ldw int)
TEXT ·matvecAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ n+32(FP), R9
	MOVQ ldw+40(FP), R10
	SHLQ $2, R10

rows4:
	CMPQ R8, $4
	JLT  rows1
	LEAQ (SI)(R10*1), R11
	LEAQ (R11)(R10*1), R12
	LEAQ (R12)(R10*1), R13
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX
	MOVQ R9, CX

loop4:
	CMPQ CX, $16
	JLT  tail4
	VMOVUPS (DX)(AX*1), Y8
	VMOVUPS 32(DX)(AX*1), Y9
	VFMADD231PS (SI)(AX*1), Y8, Y0
	VFMADD231PS 32(SI)(AX*1), Y9, Y4
	VFMADD231PS (R11)(AX*1), Y8, Y1
	VFMADD231PS 32(R11)(AX*1), Y9, Y5
	VFMADD231PS (R12)(AX*1), Y8, Y2
	VFMADD231PS 32(R12)(AX*1), Y9, Y6
	VFMADD231PS (R13)(AX*1), Y8, Y3
	VFMADD231PS 32(R13)(AX*1), Y9, Y7
	ADDQ $64, AX
	SUBQ $16, CX
	JMP  loop4

tail4:
	CMPQ CX, $8
	JLT  sum4
	VMOVUPS (DX)(AX*1), Y8
	VFMADD231PS (SI)(AX*1), Y8, Y0
	VFMADD231PS (R11)(AX*1), Y8, Y1
	VFMADD231PS (R12)(AX*1), Y8, Y2
	VFMADD231PS (R13)(AX*1), Y8, Y3

sum4:
	HSUM(Y0, Y4, X0, X8)
	HSUM(Y1, Y5, X1, X8)
	HSUM(Y2, Y6, X2, X8)
	HSUM(Y3, Y7, X3, X8)
	VMOVSS X0, (DI)
	VMOVSS X1, 4(DI)
	VMOVSS X2, 8(DI)
	VMOVSS X3, 12(DI)
	ADDQ $16, DI
	LEAQ (R13)(R10*1), SI
	SUBQ $4, R8
	JMP  rows4

rows1:
	TESTQ R8, R8
	JZ    done
	VXORPS Y0, Y0, Y0
	VXORPS Y4, Y4, Y4
	XORQ AX, AX
	MOVQ R9, CX

loop1:
	CMPQ CX, $16
	JLT  tail1
	VMOVUPS (DX)(AX*1), Y8
	VMOVUPS 32(DX)(AX*1), Y9
	VFMADD231PS (SI)(AX*1), Y8, Y0
	VFMADD231PS 32(SI)(AX*1), Y9, Y4
	ADDQ $64, AX
	SUBQ $16, CX
	JMP  loop1

tail1:
	CMPQ CX, $8
	JLT  sum1
	VMOVUPS (DX)(AX*1), Y8
	VFMADD231PS (SI)(AX*1), Y8, Y0

sum1:
	HSUM(Y0, Y4, X0, X8)
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ R10, SI
	DECQ R8
	JMP  rows1

done:
	VZEROUPPER
	RET

// func vecmatAVX2(out, p, w *float32, n, rows, ldw int)
//
// For each block of 8 columns, two accumulators take alternate rows (a
// last odd row goes to the first), then are added: a fixed order.
// Registers: DI out, SI p, DX w (column block start), R8 n left, R9 rows,
// R10 stride in bytes, R11 row pointer, CX rows left, BX p index.
TEXT ·vecmatAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ n+24(FP), R8
	MOVQ rows+32(FP), R9
	MOVQ ldw+40(FP), R10
	SHLQ $2, R10

block:
	TESTQ R8, R8
	JZ    vdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   DX, R11
	XORQ   BX, BX
	MOVQ   R9, CX

pairs:
	CMPQ CX, $2
	JLT  last
	VBROADCASTSS (SI)(BX*4), Y2
	VBROADCASTSS 4(SI)(BX*4), Y3
	VFMADD231PS  (R11), Y2, Y0
	VFMADD231PS  (R11)(R10*1), Y3, Y1
	LEAQ (R11)(R10*2), R11
	ADDQ $2, BX
	SUBQ $2, CX
	JMP  pairs

last:
	TESTQ CX, CX
	JZ    store
	VBROADCASTSS (SI)(BX*4), Y2
	VFMADD231PS  (R11), Y2, Y0

store:
	VADDPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, R8
	JMP     block

vdone:
	VZEROUPPER
	RET
