#include "textflag.h"

// func sgemmRow32(c, a, b *float32, k, ldb int)
// c[0:32] += sum over p < k of a[p] * b[p*ldb : p*ldb+32], with AVX2 FMA.
TEXT ·sgemmRow32(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldb+32(FP), BX
	SHLQ $2, BX
	VMOVUPS 0(DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	TESTQ CX, CX
	JE done32

loop32:
	VBROADCASTSS (SI), Y4
	VFMADD231PS 0(DX), Y4, Y0
	VFMADD231PS 32(DX), Y4, Y1
	VFMADD231PS 64(DX), Y4, Y2
	VFMADD231PS 96(DX), Y4, Y3
	ADDQ $4, SI
	ADDQ BX, DX
	DECQ CX
	JNE loop32

done32:
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET

// func sgemmRow8(c, a, b *float32, k, ldb int)
// c[0:8] += sum over p < k of a[p] * b[p*ldb : p*ldb+8].
TEXT ·sgemmRow8(SB), NOSPLIT, $0-40
	MOVQ c+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ k+24(FP), CX
	MOVQ ldb+32(FP), BX
	SHLQ $2, BX
	VMOVUPS 0(DI), Y0
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JE done8

loop8:
	VBROADCASTSS (SI), Y4
	VFMADD231PS 0(DX), Y4, Y0
	ADDQ $4, SI
	ADDQ BX, DX
	DECQ CX
	JNE loop8

done8:
	VMOVUPS Y0, 0(DI)
	VZEROUPPER
	RET
