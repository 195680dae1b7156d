package kernels

import (
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
)

func TestResidualForward(t *testing.T) {
	for _, n := range []int{0, 1, 7, 70001} {
		r := rng.New(uint64(n))
		a, b := testutil.Rand32(r, n, 1), testutil.Rand32(r, n, 1)
		out := testutil.NewGuarded(n, 7)
		ResidualForward(out.S, a, b, n)
		out.Check(t, "out")
		want := make([]float64, n)
		for i := range want {
			want[i] = float64(a[i]) + float64(b[i])
		}
		testutil.Close(t, "out", out.S, want, 0, 1e-7) // one float32 rounding
		ResidualForward(a, a, b, n)                    // out aliasing a
		testutil.Close(t, "aliased out", a, want, 0, 1e-7)
	}
}

func TestResidualBackward(t *testing.T) {
	for _, n := range []int{1, 9, 70001} {
		r := rng.New(uint64(n))
		dout := testutil.Rand32(r, n, 1)
		da, db := testutil.NewGuarded(n, 0.5), testutil.NewGuarded(n, -2)
		ResidualBackward(da.S, db.S, dout, n)
		da.Check(t, "da")
		db.Check(t, "db")
		wantA, wantB := make([]float64, n), make([]float64, n)
		for i, g := range dout {
			wantA[i], wantB[i] = 0.5+float64(g), -2+float64(g)
		}
		testutil.Close(t, "da", da.S, wantA, 0, 1e-7)
		testutil.Close(t, "db", db.S, wantB, 0, 1e-7)
		ResidualBackward(nil, db.S, dout, n) // nil skips da
		for i, g := range dout {
			wantB[i] += float64(g)
		}
		testutil.Close(t, "db twice", db.S, wantB, 1e-7, 1e-6)
	}
}
