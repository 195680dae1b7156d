// Package layering holds the test that keeps the project's imports flowing
// one way. Each package has a level; a package may import only packages of
// a strictly lower level (tests are exempt):
//
//	0 internal/parallel, internal/rng, internal/buildinfo, internal/half, internal/atomicfile,
//	  internal/memlimit, internal/journal
//	  (internal/testutil, for tests, is 1)
//	1 kernels/gemm, kernels/ref, format/gguf, format/safetensors, format/llama2c, tokenizer
//	2 kernels
//	3 model, optim, data, synth
//	4 checkpoint, load, align
//	5 train, eval, infer, report
//	6 experiment
//	7 cmd/lsalign
//
// This refines DESIGN.md's levels: kernels sits above kernels/gemm (it calls
// it), checkpoint and align above model, train above align (the training
// step uses the regularized objective), and experiment above report (an
// experiment renders its own report and figures). The format packages and
// report import nothing of the project but internal helpers
// (internal/atomicfile writes their files).
package layering
