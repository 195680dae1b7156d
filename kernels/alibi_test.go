package kernels

import (
	"testing"

	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/kernels/ref"
)

// TestAlibiSlopesValues: 8 heads give 1/2 .. 1/256 (the ALiBi paper's
// example); 6 heads, worked out by hand from the reference rule, give the
// 4-head slopes 2^-2, 2^-4, 2^-6, 2^-8 then slopes 0 and 2 of the 8-head
// list, 2^-1 and 2^-3.
func TestAlibiSlopesValues(t *testing.T) {
	cases := map[int][]float64{
		1: {1.0 / 256},
		2: {1.0 / 16, 1.0 / 256},
		6: {1.0 / 4, 1.0 / 16, 1.0 / 64, 1.0 / 256, 1.0 / 2, 1.0 / 8},
		8: {1.0 / 2, 1.0 / 4, 1.0 / 8, 1.0 / 16, 1.0 / 32, 1.0 / 64, 1.0 / 128, 1.0 / 256},
	}
	for nh, want := range cases {
		testutil.Close(t, "slopes", AlibiSlopes(nh), want, 0, 1e-7)
	}
}

// TestAlibiSlopesMatchReference compares with ref.AlibiSlopes, a
// transcription of the reference get_slopes, for every NH up to 64.
func TestAlibiSlopesMatchReference(t *testing.T) {
	for nh := 1; nh <= 64; nh++ {
		testutil.Close(t, "slopes", AlibiSlopes(nh), ref.AlibiSlopes(nh), 0, 1e-7)
	}
}
