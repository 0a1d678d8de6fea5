#include "textflag.h"

// BROADCAST fills all eight lanes of y with the float32 whose bits are imm.
#define BROADCAST(imm, x, y) MOVL imm, AX; VMOVD AX, x; VPBROADCASTD x, y

// FMA4x16 adds a[r][p] * b[p][0:16] to the four rows' accumulators
// (Y0..Y7) from b's row in Y8, Y9, and steps a's rows and b on by one.
#define FMA4x16 \
	VBROADCASTSS (SI), Y10; VFMADD231PS Y8, Y10, Y0; VFMADD231PS Y9, Y10, Y1 \
	VBROADCASTSS (R13), Y11; VFMADD231PS Y8, Y11, Y2; VFMADD231PS Y9, Y11, Y3 \
	VBROADCASTSS (R14), Y12; VFMADD231PS Y8, Y12, Y4; VFMADD231PS Y9, Y12, Y5 \
	VBROADCASTSS (R9), Y13; VFMADD231PS Y8, Y13, Y6; VFMADD231PS Y9, Y13, Y7 \
	ADDQ $4, SI; ADDQ $4, R13; ADDQ $4, R14; ADDQ $4, R9; ADDQ BX, DX

// ROWS4 loads what both matrix kernels take alike: the four rows of c
// (DI, R10, R11, R12) and of a (SI, R13, R14, R9), b and its row length in
// bytes (DX, BX), and k (CX).
#define ROWS4 \
	MOVQ c+0(FP), DI; MOVQ ldc+8(FP), R8; SHLQ $2, R8 \
	MOVQ a+16(FP), SI; MOVQ lda+24(FP), R9; SHLQ $2, R9 \
	MOVQ b+32(FP), DX; MOVQ ldb+40(FP), BX; SHLQ $2, BX \
	MOVQ k+48(FP), CX \
	LEAQ (DI)(R8*1), R10; LEAQ (R10)(R8*1), R11; LEAQ (R11)(R8*1), R12 \
	LEAQ (SI)(R9*1), R13; LEAQ (R13)(R9*1), R14; LEAQ (R14)(R9*1), R9

// RELU8 clamps the eight accumulators at zero.
#define RELU8 \
	VXORPS Y13, Y13, Y13 \
	VMAXPS Y13, Y0, Y0; VMAXPS Y13, Y1, Y1; VMAXPS Y13, Y2, Y2; VMAXPS Y13, Y3, Y3 \
	VMAXPS Y13, Y4, Y4; VMAXPS Y13, Y5, Y5; VMAXPS Y13, Y6, Y6; VMAXPS Y13, Y7, Y7

// SPREAD_BIAS copies the first row's starting values (Y0, Y1) to the others.
#define SPREAD_BIAS \
	VMOVAPS Y0, Y2; VMOVAPS Y1, Y3; VMOVAPS Y0, Y4; VMOVAPS Y1, Y5; VMOVAPS Y0, Y6; VMOVAPS Y1, Y7

// func sgemm4x16(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, k int, mask *int32, bias *float32, relu bool)
// For the four rows r of c and a (row lengths ldc and lda):
// c[r][0:16] += sum over p < k of a[r][p] * b[p*ldb : p*ldb+16].
// Eight accumulators hide the FMA latency and each b load feeds four
// rows. mask (16 lanes, -1 to use a column, 0 to leave it) is nil for a
// full tile; otherwise b and c are read and written only where it is set,
// so the last columns of a matrix need no scalar loop and no padding.
// bias, if not nil, replaces c's starting values (c = bias + a*b, a fused
// Gemm bias); relu clamps the sums at zero as they are stored.
TEXT ·sgemm4x16(SB), NOSPLIT, $0-73
	ROWS4
	MOVQ mask+56(FP), AX
	MOVQ bias+64(FP), R8
	TESTQ AX, AX
	JNE masked
	TESTQ R8, R8
	JE loadc
	VMOVUPS 0(R8), Y0
	VMOVUPS 32(R8), Y1
	JMP spread

loadc:
	VMOVUPS 0(DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 0(R10), Y2
	VMOVUPS 32(R10), Y3
	VMOVUPS 0(R11), Y4
	VMOVUPS 32(R11), Y5
	VMOVUPS 0(R12), Y6
	VMOVUPS 32(R12), Y7
	JMP start

spread:
	SPREAD_BIAS

start:
	TESTQ CX, CX
	JE clamp

loop:
	VMOVUPS 0(DX), Y8
	VMOVUPS 32(DX), Y9
	FMA4x16
	DECQ CX
	JNE loop

clamp:
	MOVBLZX relu+72(FP), R8
	TESTQ R8, R8
	JE store
	RELU8

store:
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 0(R10)
	VMOVUPS Y3, 32(R10)
	VMOVUPS Y4, 0(R11)
	VMOVUPS Y5, 32(R11)
	VMOVUPS Y6, 0(R12)
	VMOVUPS Y7, 32(R12)
	VZEROUPPER
	RET

masked:
	VMOVUPS 0(AX), Y14
	VMOVUPS 32(AX), Y15
	TESTQ R8, R8
	JE mloadc
	VMASKMOVPS 0(R8), Y14, Y0
	VMASKMOVPS 32(R8), Y15, Y1
	SPREAD_BIAS
	JMP mstart

mloadc:
	VMASKMOVPS 0(DI), Y14, Y0
	VMASKMOVPS 32(DI), Y15, Y1
	VMASKMOVPS 0(R10), Y14, Y2
	VMASKMOVPS 32(R10), Y15, Y3
	VMASKMOVPS 0(R11), Y14, Y4
	VMASKMOVPS 32(R11), Y15, Y5
	VMASKMOVPS 0(R12), Y14, Y6
	VMASKMOVPS 32(R12), Y15, Y7

mstart:
	TESTQ CX, CX
	JE mclamp

mloop:
	VMASKMOVPS 0(DX), Y14, Y8
	VMASKMOVPS 32(DX), Y15, Y9
	FMA4x16
	DECQ CX
	JNE mloop

mclamp:
	MOVBLZX relu+72(FP), R8
	TESTQ R8, R8
	JE mstore
	RELU8

mstore:
	VMASKMOVPS Y0, Y14, 0(DI)
	VMASKMOVPS Y1, Y15, 32(DI)
	VMASKMOVPS Y2, Y14, 0(R10)
	VMASKMOVPS Y3, Y15, 32(R10)
	VMASKMOVPS Y4, Y14, 0(R11)
	VMASKMOVPS Y5, Y15, 32(R11)
	VMASKMOVPS Y6, Y14, 0(R12)
	VMASKMOVPS Y7, Y15, 32(R12)
	VZEROUPPER
	RET

// func expF32(x *float32, n int)
// x[i] = e^x[i] in place for x[i] <= 0 (softmax after subtracting the row
// maximum), eight at a time; n is a multiple of 8. x = k·ln2 + r with
// |r| <= ln2/2, e^r by its degree-6 Taylor polynomial (within about one
// float32 ulp), times 2^k through the exponent bits. Inputs below -87.3
// are clamped there (e^-87.3 is the smallest normal float32, 1.2e-38).
TEXT ·expF32(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	JE expdone
	BROADCAST($0xc2aeac50, X8, Y8) // -87.33654
	BROADCAST($0x3fb8aa3b, X9, Y9) // log2(e)
	BROADCAST($0x3f317200, X10, Y10) // ln2, high part
	BROADCAST($0x35bfbe8e, X11, Y11) // ln2, low part
	BROADCAST($0x3ab60b61, X12, Y12) // 1/720
	BROADCAST($0x3c088889, X13, Y13) // 1/120
	BROADCAST($0x3d2aaaab, X14, Y14) // 1/24
	BROADCAST($0x3e2aaaab, X15, Y15) // 1/6
	BROADCAST($0x3f000000, X4, Y4) // 1/2
	BROADCAST($0x3f800000, X5, Y5) // 1

exploop:
	VMOVUPS (DI), Y0
	VMAXPS Y8, Y0, Y0
	VMULPS Y9, Y0, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS Y10, Y1, Y0
	VFNMADD231PS Y11, Y1, Y0
	VMOVAPS Y12, Y2
	VFMADD213PS Y13, Y0, Y2
	VFMADD213PS Y14, Y0, Y2
	VFMADD213PS Y15, Y0, Y2
	VFMADD213PS Y4, Y0, Y2
	VFMADD213PS Y5, Y0, Y2
	VFMADD213PS Y5, Y0, Y2
	VCVTPS2DQ Y1, Y3
	VPSLLD $23, Y3, Y3
	VPADDD Y3, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, DI
	DECQ CX
	JNE exploop

expdone:
	VZEROUPPER
	RET

// FMA4x32 is FMA4x16 on 512-bit registers: a[r][p] * b[p][0:32] into the
// four rows' accumulators (Z0..Z7) from b's row in Z8, Z9.
#define FMA4x32 \
	VBROADCASTSS (SI), Z10; VFMADD231PS Z8, Z10, Z0; VFMADD231PS Z9, Z10, Z1 \
	VBROADCASTSS (R13), Z11; VFMADD231PS Z8, Z11, Z2; VFMADD231PS Z9, Z11, Z3 \
	VBROADCASTSS (R14), Z12; VFMADD231PS Z8, Z12, Z4; VFMADD231PS Z9, Z12, Z5 \
	VBROADCASTSS (R9), Z13; VFMADD231PS Z8, Z13, Z6; VFMADD231PS Z9, Z13, Z7 \
	ADDQ $4, SI; ADDQ $4, R13; ADDQ $4, R14; ADDQ $4, R9; ADDQ BX, DX

// func sgemm4x32(c *float32, ldc int, a *float32, lda int, b *float32, ldb int, k int, mask uint32, bias *float32, relu bool)
// sgemm4x16 in AVX-512, 32 columns at a time: the same sums in the same
// order, lane for lane, so either kernel gives the same bits. mask's bit j
// uses column j (all set for a full tile); the opmask registers keep
// unused columns from being read or written.
TEXT ·sgemm4x32(SB), NOSPLIT, $0-73
	ROWS4
	MOVL mask+56(FP), AX
	KMOVW AX, K1
	SHRL $16, AX
	KMOVW AX, K2
	MOVQ bias+64(FP), R8
	TESTQ R8, R8
	JE zloadc
	VMOVUPS.Z 0(R8), K1, Z0
	VMOVUPS.Z 64(R8), K2, Z1
	VMOVAPS Z0, Z2
	VMOVAPS Z1, Z3
	VMOVAPS Z0, Z4
	VMOVAPS Z1, Z5
	VMOVAPS Z0, Z6
	VMOVAPS Z1, Z7
	JMP zstart

zloadc:
	VMOVUPS.Z 0(DI), K1, Z0
	VMOVUPS.Z 64(DI), K2, Z1
	VMOVUPS.Z 0(R10), K1, Z2
	VMOVUPS.Z 64(R10), K2, Z3
	VMOVUPS.Z 0(R11), K1, Z4
	VMOVUPS.Z 64(R11), K2, Z5
	VMOVUPS.Z 0(R12), K1, Z6
	VMOVUPS.Z 64(R12), K2, Z7

zstart:
	TESTQ CX, CX
	JE zclamp

zloop:
	VMOVUPS.Z 0(DX), K1, Z8
	VMOVUPS.Z 64(DX), K2, Z9
	FMA4x32
	DECQ CX
	JNE zloop

zclamp:
	MOVBLZX relu+72(FP), R8
	TESTQ R8, R8
	JE zstore
	VPXORD Z13, Z13, Z13
	VMAXPS Z13, Z0, Z0
	VMAXPS Z13, Z1, Z1
	VMAXPS Z13, Z2, Z2
	VMAXPS Z13, Z3, Z3
	VMAXPS Z13, Z4, Z4
	VMAXPS Z13, Z5, Z5
	VMAXPS Z13, Z6, Z6
	VMAXPS Z13, Z7, Z7

zstore:
	VMOVUPS Z0, K1, 0(DI)
	VMOVUPS Z1, K2, 64(DI)
	VMOVUPS Z2, K1, 0(R10)
	VMOVUPS Z3, K2, 64(R10)
	VMOVUPS Z4, K1, 0(R11)
	VMOVUPS Z5, K2, 64(R11)
	VMOVUPS Z6, K1, 0(R12)
	VMOVUPS Z7, K2, 64(R12)
	VZEROUPPER
	RET
