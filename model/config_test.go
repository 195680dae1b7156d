package model

import (
	"strings"
	"testing"

	"github.com/lsalign/lsalign/kernels"
)

// TestNTKScalingNeedsHeadSizeAboveTwo: NTK's exponent d/(d-2) diverges at
// head size 2, so a config (from a model file, say) or a later
// SetRopeScaling asking for it is an error, not a panic in Forward.
func TestNTKScalingNeedsHeadSizeAboveTwo(t *testing.T) {
	tiny := Config{Family: "llama", Vocab: 5, Dim: 4, Layers: 1, Heads: 2, Hidden: 4, MaxSeq: 8} // head size 2
	for _, typ := range []string{"ntk", "dynamic-ntk"} {
		s := kernels.RopeScaling{Type: typ, Factor: 2, OrigCtx: 4}
		c := tiny
		c.RopeScaling = s
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), "rope_scaling") {
			t.Errorf("%s at head size 2: New gave %v, want a rope_scaling error", typ, err)
		}
		m, err := New(tiny)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetRopeScaling(s); err == nil || !strings.Contains(err.Error(), "head size") {
			t.Errorf("%s at head size 2: SetRopeScaling gave %v, want a head size error", typ, err)
		}
		if err := m.Forward([]int32{1, 2, 3}, 1, 3, ForwardOptions{}); err != nil {
			t.Fatalf("%s: Forward after the refused scaling: %v", typ, err)
		}
		// Head size 4 takes it; so does a model without RoPE, which never builds the table.
		wide := tiny
		wide.Dim = 8
		if m, err = New(wide); err != nil {
			t.Fatal(err)
		}
		if err := m.SetRopeScaling(s); err != nil {
			t.Errorf("%s at head size 4: %v", typ, err)
		}
		if err := m.Forward([]int32{1, 2, 3, 4, 0, 1}, 1, 6, ForwardOptions{}); err != nil {
			t.Errorf("%s at head size 4: Forward: %v", typ, err)
		}
		nope := tiny
		nope.Pos = PosNoPE
		if m, err = New(nope); err != nil {
			t.Fatal(err)
		}
		if err := m.SetRopeScaling(s); err != nil {
			t.Errorf("%s on a NoPE model: %v", typ, err)
		}
	}
}
