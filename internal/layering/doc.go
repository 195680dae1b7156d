// Package layering holds the test that keeps the project's imports flowing
// one way. Each package has a level; a package may import only packages of
// a strictly lower level (tests are exempt):
//
//	0 internal/parallel, internal/rng, internal/buildinfo (internal/testutil, for tests, is 1)
//	1 kernels/gemm, kernels/ref, format/gguf, format/safetensors, format/llama2c, tokenizer
//	2 kernels
//	3 model, optim, data, synth
//	4 checkpoint, load, align
//	5 train, eval, infer
//	6 experiment, report
//	7 cmd/lsalign
//
// This refines DESIGN.md's levels: kernels sits above kernels/gemm (it calls
// it), checkpoint and align above model, and train above align (the training
// step uses the regularized objective).
package layering
