// Package rng is a small seeded generator (xoshiro256**) whose whole state
// is four words, so a training run can save it in a checkpoint and resume
// bit-identically.
package rng

import (
	"math"
	"math/bits"
)

// State is the generator state; its zero value is invalid, use New.
type State struct {
	S [4]uint64 `json:"s"`
}

// RNG is a xoshiro256** generator. Not safe for concurrent use.
type RNG struct{ State }

// New seeds a generator from a 64-bit seed with splitmix64.
func New(seed uint64) *RNG {
	r := &RNG{}
	x := seed
	for i := range r.S {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		r.S[i] = z ^ (z >> 31)
	}
	return r
}

// FromState restores a generator saved with Snapshot.
func FromState(s State) *RNG { return &RNG{State: s} }

// Snapshot returns the current state.
func (r *RNG) Snapshot() State { return r.State }

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	s := &r.S
	out := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return out
}

// Float64 returns a uniform number in [0, 1).
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Intn returns a uniform integer in [0, n); n must be positive.
func (r *RNG) Intn(n int) int {
	if n <= 0 {
		panic("rng: Intn with n <= 0")
	}
	// Lemire's nearly divisionless method, exact (no modulo bias).
	un := uint64(n)
	hi, lo := bits.Mul64(r.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.Uint64(), un)
		}
	}
	return int(hi)
}

// IntRange returns a uniform integer in [lo, hi] (inclusive).
func (r *RNG) IntRange(lo, hi int) int { return lo + r.Intn(hi-lo+1) }

// NormFloat64 returns a standard normal deviate (Box-Muller, one value per
// call so the stream position never depends on a cached second value).
func (r *RNG) NormFloat64() float64 {
	u1 := 1 - r.Float64() // (0, 1]
	u2 := r.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// Perm returns a random permutation of [0, n).
func (r *RNG) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}
