package ref

import (
	"math"
	"testing"
)

// TestRopeHandValues rotates unit vectors by known angles: a quarter turn
// maps (1, 0) to (0, 1), and the two layouts pair different dimensions.
func TestRopeHandValues(t *testing.T) {
	// One row, one head of size 4: pair 0 turns by pi/2, pair 1 by 0.
	cos := []float64{0, 1}
	sin := []float64{1, 0}
	adj := []float64{1, 2, 3, 4}
	RopeForward(adj, cos, sin, 1, 1, 4, 0, 1, 4, false)
	// Adjacent pairs (x0,x1)=(1,2) -> (-2, 1); (x2,x3) unchanged.
	wantAdj := []float64{-2, 1, 3, 4}
	half := []float64{1, 2, 3, 4}
	RopeForward(half, cos, sin, 1, 1, 4, 0, 1, 4, true)
	// Halves pairs (x0,x2)=(1,3) -> (-3, 1); (x1,x3) unchanged.
	wantHalf := []float64{-3, 2, 1, 4}
	for i := range adj {
		if math.Abs(adj[i]-wantAdj[i]) > 1e-15 || math.Abs(half[i]-wantHalf[i]) > 1e-15 {
			t.Fatalf("adjacent %v want %v; halves %v want %v", adj, wantAdj, half, wantHalf)
		}
	}
	RopeBackward(adj, cos, sin, 1, 1, 4, 0, 1, 4, false)
	RopeBackward(half, cos, sin, 1, 1, 4, 0, 1, 4, true)
	for i, want := range []float64{1, 2, 3, 4} {
		if math.Abs(adj[i]-want) > 1e-15 || math.Abs(half[i]-want) > 1e-15 {
			t.Fatalf("backward did not undo forward: %v, %v", adj, half)
		}
	}
}

func TestRopeTableValues(t *testing.T) {
	cos, sin := RopeTable([]float64{1, 0.01}, 3, 2)
	// t=2: angles 2 and 0.02, times 2.
	if math.Abs(cos[4]-2*math.Cos(2)) > 1e-15 || math.Abs(sin[5]-2*math.Sin(0.02)) > 1e-15 || cos[0] != 2 || sin[0] != 0 {
		t.Fatalf("cos %v sin %v", cos, sin)
	}
}

// TestAlibiSlopesReference checks the values printed by the ALiBi paper's
// get_slopes for 8 heads (1/2 .. 1/256) and, worked out by hand, 6 heads:
// the 4-head slopes 2^-2, 2^-4, 2^-6, 2^-8, then slopes 0 and 2 of the
// 8-head list, 2^-1 and 2^-3.
func TestAlibiSlopesReference(t *testing.T) {
	cases := map[int][]float64{
		1: {1.0 / 256},
		8: {1.0 / 2, 1.0 / 4, 1.0 / 8, 1.0 / 16, 1.0 / 32, 1.0 / 64, 1.0 / 128, 1.0 / 256},
		6: {1.0 / 4, 1.0 / 16, 1.0 / 64, 1.0 / 256, 1.0 / 2, 1.0 / 8},
		3: {1.0 / 16, 1.0 / 256, 1.0 / 4},
	}
	for nh, want := range cases {
		got := AlibiSlopes(nh)
		if len(got) != len(want) {
			t.Fatalf("NH=%d: %v, want %v", nh, got, want)
		}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-15 {
				t.Fatalf("NH=%d: %v, want %v", nh, got, want)
			}
		}
	}
}
