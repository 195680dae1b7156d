package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

func TestPositionMatchesRef(t *testing.T) {
	for i, s := range []struct{ B, T, C int }{{1, 1, 1}, {2, 3, 5}, {3, 17, 33}, {4, 256, 64}} {
		t.Run(fmt.Sprintf("%+v", s), func(t *testing.T) {
			r := rng.New(uint64(i))
			n := s.B * s.T * s.C
			base := testutil.Rand32(r, n, 1)
			wpe := testutil.Rand32(r, s.T*s.C, 1)
			dout := testutil.Rand32(r, n, 1)

			out := testutil.NewGuarded(n, 0)
			copy(out.S, base)
			PositionForward(out.S, wpe, s.B, s.T, s.C)
			out.Check(t, "out")
			want := testutil.To64(base)
			ref.PositionForward(want, testutil.To64(wpe), s.B, s.T, s.C)
			testutil.Close(t, "out", out.S, want, 0, 1e-7)

			dwpe := testutil.NewGuarded(s.T*s.C, -1)
			PositionBackward(dwpe.S, dout, s.B, s.T, s.C)
			dwpe.Check(t, "dwpe")
			wantD := filled(s.T*s.C, -1)
			ref.PositionBackward(wantD, testutil.To64(dout), s.B, s.T, s.C)
			testutil.Close(t, "dwpe", dwpe.S, wantD, 1e-6, 1e-6)
		})
	}
}

func TestSinusoidalTableMatchesRef(t *testing.T) {
	for _, s := range []struct{ T, C int }{{1, 1}, {2, 4}, {5, 3}, {512, 64}, {100, 33}} {
		out := testutil.NewGuarded(s.T*s.C, 7)
		SinusoidalTable(out.S, s.T, s.C)
		out.Check(t, "table")
		want := make([]float64, s.T*s.C)
		ref.SinusoidalTable(want, s.T, s.C)
		testutil.Close(t, fmt.Sprintf("table %+v", s), out.S, want, 1e-7, 0)
	}
	// A hand value: T=2, C=4, PE[1,3] = cos(1/10000^(2/4)) = cos(0.01).
	out := make([]float32, 8)
	SinusoidalTable(out, 2, 4)
	if got := out[7]; math.Abs(float64(got)-0.9999500004166653) > 1e-7 {
		t.Fatalf("PE[1,3] = %v, want cos(0.01)", got)
	}
}

func TestPositionDeterministic(t *testing.T) {
	const B, T, C = 8, 512, 64
	r := rng.New(3)
	dout := testutil.Rand32(r, B*T*C, 1)
	sameBitsAcrossProcs(t, "PositionBackward", func() [][]float32 {
		dwpe := make([]float32, T*C)
		PositionBackward(dwpe, dout, B, T, C)
		return [][]float32{dwpe}
	})
}
