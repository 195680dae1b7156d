package rng

import (
	"math"
	"testing"
)

func TestSnapshotResumes(t *testing.T) {
	a := New(42)
	for range 10 {
		a.Uint64()
	}
	b := FromState(a.Snapshot())
	for i := range 100 {
		if x, y := a.Uint64(), b.Uint64(); x != y {
			t.Fatalf("draw %d: %d != %d after restore", i, x, y)
		}
	}
}

func TestSeedsDiffer(t *testing.T) {
	if New(1).Uint64() == New(2).Uint64() {
		t.Fatal("seeds 1 and 2 give the same first draw")
	}
}

func TestIntnUniform(t *testing.T) {
	r := New(7)
	const n, draws = 10, 100000
	var c [n]int
	for range draws {
		c[r.Intn(n)]++
	}
	for i, k := range c {
		if math.Abs(float64(k)-draws/n) > 5*math.Sqrt(draws/n) {
			t.Fatalf("bucket %d has %d of %d draws", i, k, draws)
		}
	}
	for range 1000 {
		if v := r.IntRange(3, 5); v < 3 || v > 5 {
			t.Fatalf("IntRange(3,5) gave %d", v)
		}
	}
}

func TestNormMoments(t *testing.T) {
	r := New(3)
	const n = 200000
	var s, s2 float64
	for range n {
		x := r.NormFloat64()
		s += x
		s2 += x * x
	}
	mean, variance := s/n, s2/n-(s/n)*(s/n)
	if math.Abs(mean) > 0.01 || math.Abs(variance-1) > 0.02 {
		t.Fatalf("mean %v variance %v", mean, variance)
	}
}
