package ref

import (
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

func TestCrossEntropyGrad(t *testing.T) {
	r := rng.New(8)
	const N, V = 4, 6
	logits := randn(r, N*V, 1)
	targets := []int32{2, -1, 5, 0} // row 1 ignored
	dlosses := randn(r, N, 1)
	losses, lse := make([]float64, N), make([]float64, N)
	forward := func() []float64 {
		CrossEntropyForward(losses, lse, logits, targets, N, V)
		return losses
	}
	forward()
	if losses[1] != 0 {
		t.Fatalf("ignored row has loss %v", losses[1])
	}
	dlogits := make([]float64, N*V)
	CrossEntropyBackward(dlogits, dlosses, logits, lse, targets, N, V)
	checkGrads(t, forward, dlosses, wrt{"dlogits", logits, dlogits})
}

func TestCrossEntropyValue(t *testing.T) {
	// logits (0, ln 3): softmax (1/4, 3/4); target 0 costs ln 4.
	losses, lse := make([]float64, 1), make([]float64, 1)
	CrossEntropyForward(losses, lse, []float64{0, math.Log(3)}, []int32{0}, 1, 2)
	if math.Abs(losses[0]-math.Log(4)) > 1e-15 || math.Abs(lse[0]-math.Log(4)) > 1e-15 {
		t.Fatalf("loss %v lse %v, want ln 4", losses[0], lse[0])
	}
}

func TestLogSoftmaxValue(t *testing.T) {
	out := make([]float64, 2)
	LogSoftmax(out, []float64{1000, 1000 + math.Log(3)}, 1, 2) // huge logits must not overflow
	if math.Abs(out[0]-math.Log(0.25)) > 1e-12 || math.Abs(out[1]-math.Log(0.75)) > 1e-12 {
		t.Fatalf("out = %v, want [ln 1/4, ln 3/4]", out)
	}
}

func TestMSEGrad(t *testing.T) {
	r := rng.New(9)
	const n = 8
	pred, target, dlosses := randn(r, n, 1), randn(r, n, 1), randn(r, n, 1)
	losses := make([]float64, n)
	forward := func() []float64 {
		MSEForward(losses, pred, target, n)
		return losses
	}
	dpred := make([]float64, n)
	MSEBackward(dpred, dlosses, pred, target, n)
	checkGrads(t, forward, dlosses, wrt{"dpred", pred, dpred})
}
