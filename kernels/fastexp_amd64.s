//go:build !noasm

#include "textflag.h"

// expAffineAVX2 is exp32 (fastexp.go) eight lanes at a time with AVX2+FMA:
// the same clamp, Cody-Waite reduction, Cephes polynomial and two-step
// 2^n scaling. FMA rounds some steps once instead of twice, so results may
// differ from exp32 in the last bit; both stay within ~1e-7 relative.

#define SPLAT8(sym, bits) \
	DATA sym+0(SB)/4, $bits; \
	DATA sym+4(SB)/4, $bits; \
	DATA sym+8(SB)/4, $bits; \
	DATA sym+12(SB)/4, $bits; \
	DATA sym+16(SB)/4, $bits; \
	DATA sym+20(SB)/4, $bits; \
	DATA sym+24(SB)/4, $bits; \
	DATA sym+28(SB)/4, $bits; \
	GLOBL sym(SB), RODATA|NOPTR, $32

SPLAT8(expLn2Hi<>, 0x3f318000)
SPLAT8(expLn2Lo<>, 0xb95e8083)
SPLAT8(expC5<>, 0x39506967)
SPLAT8(expC4<>, 0x3ab743ce)
SPLAT8(expC3<>, 0x3c088908)
SPLAT8(expC2<>, 0x3d2aa9c1)
SPLAT8(expC1<>, 0x3e2aaaaa)
SPLAT8(expC0<>, 0x3f000000)
SPLAT8(expOne<>, 0x3f800000)
SPLAT8(expMagicBits<>, 0x4b400000)
SPLAT8(expBias<>, 0x0000007f)

// Registers: Y15 scale, Y14 shift, Y13 log2e, Y12 roundMagic, Y9/Y8 the
// clamp bounds -104/89, Y11/Y10 float64 partial sums of the low/high four
// lanes; Y0-Y7 temporaries. CX counts the remaining elements.

// func expAffineAVX2(dst, src *float32, n int, scale, shift float32) float64
TEXT ·expAffineAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y15
	VBROADCASTSS shift+28(FP), Y14
	MOVL $0x3fb8aa3b, AX
	VMOVD AX, X13
	VBROADCASTSS X13, Y13
	MOVL $0x4b400000, AX
	VMOVD AX, X12
	VBROADCASTSS X12, Y12
	MOVL $0xc2d00000, AX
	VMOVD AX, X9
	VBROADCASTSS X9, Y9
	MOVL $0x42b20000, AX
	VMOVD AX, X8
	VBROADCASTSS X8, Y8
	VXORPD Y11, Y11, Y11
	VXORPD Y10, Y10, Y10
	TESTQ CX, CX
	JLE done

loop:
	VMOVUPS (SI), Y0
	VFMSUB213PS Y14, Y15, Y0 // x = scale*src - shift
	// Clamp with x as the second source, so a NaN x is kept.
	VMAXPS Y0, Y9, Y0
	VMINPS Y0, Y8, Y0
	VMOVAPS Y12, Y1
	VFMADD231PS Y13, Y0, Y1 // t = x*log2e + roundMagic
	VSUBPS Y12, Y1, Y2      // nf = round(x*log2e)
	VFNMADD231PS expLn2Hi<>(SB), Y2, Y0 // r = x - nf*ln2Hi - nf*ln2Lo
	VFNMADD231PS expLn2Lo<>(SB), Y2, Y0
	VMOVUPS expC5<>(SB), Y3
	VFMADD213PS expC4<>(SB), Y0, Y3
	VFMADD213PS expC3<>(SB), Y0, Y3
	VFMADD213PS expC2<>(SB), Y0, Y3
	VFMADD213PS expC1<>(SB), Y0, Y3
	VFMADD213PS expC0<>(SB), Y0, Y3
	VMULPS Y0, Y0, Y4
	VFMADD213PS Y0, Y4, Y3 // p*r^2 + r
	VADDPS expOne<>(SB), Y3, Y3
	VPSUBD expMagicBits<>(SB), Y1, Y1 // n
	VPSRAD $1, Y1, Y5                 // n1 = n >> 1
	VPSUBD Y5, Y1, Y1                 // n2 = n - n1
	VPADDD expBias<>(SB), Y5, Y5
	VPSLLD $23, Y5, Y5                // 2^n1
	VPADDD expBias<>(SB), Y1, Y1
	VPSLLD $23, Y1, Y1                // 2^n2
	VMULPS Y5, Y3, Y3
	VMULPS Y1, Y3, Y3
	VMOVUPS Y3, (DI)
	VCVTPS2PD X3, Y6
	VEXTRACTF128 $1, Y3, X7
	VCVTPS2PD X7, Y7
	VADDPD Y6, Y11, Y11
	VADDPD Y7, Y10, Y10
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JG loop

done:
	VADDPD Y10, Y11, Y11
	VEXTRACTF128 $1, Y11, X0
	VADDPD X0, X11, X0
	VHADDPD X0, X0, X0
	MOVSD X0, ret+32(FP)
	VZEROUPPER
	RET
