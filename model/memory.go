package model

import "github.com/lsalign/lsalign/internal/memlimit"

// TrainingBytes estimates the memory a training run of this (validated)
// config needs at batch B and length T: parameters with their gradients,
// two AdamW moments and a backup of weights and moments for rolling back a
// failed step (7 copies), plus the activations Forward and Backward keep.
// It saturates instead of overflowing, so an absurd request gives a huge
// number rather than a wrong small one; callers compare it with
// memlimit.Check before allocating anything.
func TrainingBytes(c Config, B, T int) int64 {
	c = c.Defaults()
	params := int64(NewLayout(c).Total)
	return memlimit.Product(4, memlimit.Sum(memlimit.Product(7, params), activationFloats(c, int64(B), int64(T))))
}

// activationFloats mirrors prepare's layout in training mode with every row
// feeding the head (see acts.go).
func activationFloats(c Config, B, T int64) int64 {
	P, S := memlimit.Product, memlimit.Sum
	N := P(B, T)
	C, NH, HS := int64(c.Dim), int64(c.Heads), int64(c.HeadSize())
	QKV, FC, H, V := int64(c.QKVDim()), int64(c.fcWidth()), int64(c.Hidden), int64(c.Vocab)
	L := int64(c.Layers)
	perLayer := S(P(N, C), P(2, N), P(N, QKV), P(N, NH, HS), P(N, C), P(2, N), P(N, FC), P(N, H),
		P(B, NH, T, T), P(N, C), P(N, C)) // ln1, stats, qkv, atty, ln2, stats, fc, fcAct, att, res2, res
	rows, out := N, P(N, V) // rows the head reads; logits
	if c.Head != HeadLM {
		rows, out = B, B // one row per sequence; one scalar each
	}
	head := S(P(N, C), P(N, C), P(N, C), P(2, N), P(rows, C), out) // res[0], proj, lnf+stats, gathered, output
	backward := S(P(3, N, C), P(N, QKV), P(N, NH, HS), P(N, FC), P(N, H), P(rows, C))
	return S(P(L, perLayer), head, backward)
}
