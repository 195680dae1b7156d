//go:build !noasm

package gemm

import (
	"testing"

	"golang.org/x/sys/cpu"
)

func TestAVX2Kernel(t *testing.T) {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("skipping: this CPU lacks AVX2+FMA, so the avx2 kernel cannot run here")
	}
	checkKernel(t, avx2Kernel())
	checkDeterminism(t, avx2Kernel())
}

func TestAVX512Kernel(t *testing.T) {
	if !cpu.X86.HasAVX512F {
		t.Skip("skipping: this CPU lacks AVX-512F, so the avx512 kernel is NOT verified on this machine; " +
			"run this test on an AVX-512 machine")
	}
	checkKernel(t, avx512Kernel())
	checkDeterminism(t, avx512Kernel())
}

func TestKernelChoiceFollowsCPU(t *testing.T) {
	want := "go"
	switch {
	case cpu.X86.HasAVX512F:
		want = "avx512"
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		want = "avx2"
	}
	if got := availableKernels()[0].name; got != want {
		t.Fatalf("best kernel %q, want %q for this CPU", got, want)
	}
}
