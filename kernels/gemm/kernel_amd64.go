//go:build !noasm

package gemm

import "golang.org/x/sys/cpu"

//go:noescape
func kernelAVX2(k int, a *float32, aRow, aStep int, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func kernelAVX512(k int, a *float32, aRow, aStep int, b, c *float32, ldc int, alpha, beta float32)

// avx2Kernel is the 6×16 AVX2+FMA kernel. kc=256 keeps a 16 KiB B panel
// plus two 6 KiB A panels in a 32 KiB L1d; the 144×256 A block (144 KiB)
// stays in L2.
func avx2Kernel() *kernel {
	return &kernel{name: "avx2", mr: 6, nr: 16, mc: 144, kc: 256, nc: 4080, run: kernelAVX2}
}

// avx512Kernel is the 12×32 AVX-512F kernel. Its B panel is 32 floats wide,
// so kc=128 keeps it (16 KiB) plus two 6 KiB A panels within a 32 KiB L1d.
func avx512Kernel() *kernel {
	return &kernel{name: "avx512", mr: 12, nr: 32, mc: 144, kc: 128, nc: 4096, run: kernelAVX512}
}

// availableKernels lists the kernels this CPU can run, fastest first.
func availableKernels() []*kernel {
	var ks []*kernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernel())
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel())
	}
	return append(ks, goKernel())
}
