//go:build !amd64 || noasm

package gemm

// availableKernels lists the kernels this build can run: only the portable
// one without amd64 assembly.
func availableKernels() []*kernel { return []*kernel{goKernel()} }
