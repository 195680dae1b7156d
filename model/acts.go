package model

// activations are carved from one growable arena for the current (B, T,
// mode); a later Forward with a shape that fits reuses the memory.
type activations struct {
	B, T  int
	train bool
	rows  int // rows of logits: N, or len(Rows)

	tokens []int32     // [N] copy, for the embedding backward
	res    [][]float32 // L+1 × [N, C] residual stream; in inference all alias one buffer
	layers []layerActs // L entries; in inference all alias entry 0
	proj   []float32   // [N, C] projection output scratch

	lnf, lnfMean, lnfRstd []float32 // [N, C], [N], [N]
	gathered              []float32 // [rows, C] final-norm rows fed to the head
	rowIdx                []int     // rows read by the head
	logits                []float32 // [rows, V] (lm head)
	scalars               []float32 // [B] (scalar head)

	// backward scratch (train only)
	dres, dln, dqkv, datty, dfc, dfcAct, dlnf, dgathered []float32

	arena []float32
}

type layerActs struct {
	ln1, ln1Mean, ln1Rstd []float32 // [N, C], [N], [N]
	qkv                   []float32 // [N, QKV] (q and k after RoPE)
	att                   []float32 // [B, NH, T, T] softmax probabilities (train only)
	atty                  []float32 // [N, NH*HS]
	res2                  []float32 // [N, C] residual after attention
	ln2, ln2Mean, ln2Rstd []float32 // [N, C], [N], [N]
	fc                    []float32 // [N, FC] first MLP projection (pre-activation)
	fcAct                 []float32 // [N, H]
}

// carver hands out consecutive slices of an arena, counting how much it needs.
type carver struct {
	buf []float32
	off int
}

func (c *carver) take(n int) []float32 {
	lo := c.off
	c.off += n
	if c.off > len(c.buf) {
		return nil // sizing pass
	}
	return c.buf[lo:c.off:c.off]
}

// prepare sizes the activations for a forward pass.
func (m *Model) prepare(B, T int, train bool, rows int) *activations {
	a := m.acts
	if a == nil {
		a = &activations{}
		m.acts = a
	}
	c := m.Config
	N := B * T
	C, NH, HS, V := c.Dim, c.Heads, c.HeadSize(), c.Vocab
	L := c.Layers
	carve := func(cv *carver) {
		nLayerSets := 1
		if train {
			nLayerSets = L
		}
		a.res = a.res[:0]
		if train {
			for i := 0; i <= L; i++ {
				a.res = append(a.res, cv.take(N*C))
			}
		} else {
			r := cv.take(N * C)
			for i := 0; i <= L; i++ {
				a.res = append(a.res, r)
			}
		}
		a.layers = a.layers[:0]
		for i := 0; i < nLayerSets; i++ {
			la := layerActs{
				ln1: cv.take(N * C), ln1Mean: cv.take(N), ln1Rstd: cv.take(N),
				qkv: cv.take(N * c.QKVDim()), atty: cv.take(N * NH * HS),
				ln2: cv.take(N * C), ln2Mean: cv.take(N), ln2Rstd: cv.take(N),
				fc: cv.take(N * c.fcWidth()), fcAct: cv.take(N * c.Hidden),
			}
			if train {
				la.att = cv.take(B * NH * T * T)
				la.res2 = cv.take(N * C)
			} else {
				la.res2 = a.res[0]
			}
			a.layers = append(a.layers, la)
		}
		for i := nLayerSets; i < L; i++ {
			a.layers = append(a.layers, a.layers[0])
		}
		a.proj = cv.take(N * C)
		a.lnf, a.lnfMean, a.lnfRstd = cv.take(N*C), cv.take(N), cv.take(N)
		a.gathered = cv.take(rows * C)
		if c.Head == HeadLM {
			a.logits = cv.take(rows * V)
		} else {
			a.scalars = cv.take(B)
		}
		if train {
			a.dres, a.dln, a.dlnf = cv.take(N*C), cv.take(N*C), cv.take(N*C)
			a.dqkv, a.datty = cv.take(N*c.QKVDim()), cv.take(N*NH*HS)
			a.dfc, a.dfcAct = cv.take(N*c.fcWidth()), cv.take(N*c.Hidden)
			a.dgathered = cv.take(rows * C)
		}
	}
	size := &carver{}
	carve(size)
	if size.off > len(a.arena) {
		// Grow with headroom: callers whose shapes vary (right-padded
		// evaluation batches, mixed training lengths) would otherwise
		// reallocate on every new maximum and leave a trail of dead arenas.
		n := max(size.off, len(a.arena)*5/4)
		a.arena = nil // let the old one be collected before the new one is allocated
		a.arena = make([]float32, n)
	}
	carve(&carver{buf: a.arena})
	a.B, a.T, a.train, a.rows = B, T, train, rows
	if cap(a.tokens) < N {
		a.tokens = make([]int32, N)
	}
	a.tokens = a.tokens[:N]
	return a
}
