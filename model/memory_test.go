package model

import (
	"math"
	"testing"
)

// TestActivationFloatsMatchesArena: the estimate equals the arena a fresh
// model allocates for a training pass of that shape.
func TestActivationFloatsMatchesArena(t *testing.T) {
	for _, tc := range gradCases() {
		if tc.rows != nil || tc.lens != nil {
			continue
		}
		m, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		tokens := make([]int32, tc.B*tc.T)
		if err := m.Forward(tokens, tc.B, tc.T, ForwardOptions{Train: true}); err != nil {
			t.Fatal(err)
		}
		want := int64(len(m.acts.arena))
		if got := activationFloats(m.Config, int64(tc.B), int64(tc.T)); got != want {
			t.Errorf("%s: estimate %d floats, arena %d", tc.name, got, want)
		}
	}
}

func TestTrainingBytesSaturates(t *testing.T) {
	c := Config{Family: "llama", Vocab: 258, Dim: 128, Layers: 2, Heads: 4, Hidden: 352, MaxSeq: 64}
	small := TrainingBytes(c, 8, 64)
	if small <= 0 || small > 1<<30 {
		t.Fatalf("tiny config: %d bytes", small)
	}
	if got := TrainingBytes(c, 100000000000, 64); got < 1<<50 {
		t.Fatalf("batch 1e11: %d bytes, want a huge estimate", got)
	}
	if got := TrainingBytes(c, 8, 1<<40); got != math.MaxInt64 {
		t.Fatalf("T = 2^40: %d bytes, want saturation", got)
	}
}
