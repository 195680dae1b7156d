// Package ref is a naive float64 twin of every kernel in package kernels,
// with the same argument order (float64 slices; tokens and targets stay
// []int32). It is written for clarity, not speed, and serves only as the
// tests' oracle: each backward here is itself checked against central
// differences of its forward.
//
// Like the kernels, backward functions ACCUMULATE (+=) into their gradients
// and skip a nil gradient.
package ref
