package tokenizer

import "cmp"

// symbol is a span of the text being merged, linked to its live neighbours;
// a symbol absorbed by its left neighbour has n == 0.
type symbol struct {
	start, n   int32
	prev, next int32
}

// bigram is a candidate merge of two adjacent symbols. Lower prio merges
// first and ties go to the leftmost pair, as in llama.cpp's comparators
// (SPM passes the negated score, BPE the merge rank).
type bigram[P cmp.Ordered] struct {
	prio        P
	left, right int32
	size        int32 // n of the merged symbol when the candidate was made
}

// merger runs the greedy pair-merge loop shared by llama.cpp's SPM and BPE
// sessions. Its buffers are reused across words.
type merger[P cmp.Ordered] struct {
	syms []symbol
	heap []bigram[P]
}

// reset splits text into symbols at the UTF-8 character boundaries llama.cpp
// uses (lead-byte length, clipped at the end, no validation).
func (m *merger[P]) reset(text string) {
	m.syms = m.syms[:0]
	m.heap = m.heap[:0]
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		i := int32(len(m.syms))
		m.syms = append(m.syms, symbol{start: int32(off), n: int32(n), prev: i - 1, next: i + 1})
		off += n
	}
	if k := len(m.syms); k > 0 {
		m.syms[k-1].next = -1
	}
}

// run merges until no candidate is left. prio reports the priority of
// merging the spans [a, b) and [b, c) of the text, and whether they merge
// at all.
func (m *merger[P]) run(prio func(a, b, c int32) (P, bool)) {
	add := func(l, r int32) {
		if l < 0 || r < 0 {
			return
		}
		ls, rs := &m.syms[l], &m.syms[r]
		if p, ok := prio(ls.start, rs.start, rs.start+rs.n); ok {
			m.push(bigram[P]{prio: p, left: l, right: r, size: ls.n + rs.n})
		}
	}
	for i := int32(1); i < int32(len(m.syms)); i++ {
		if p, ok := prio(m.syms[i-1].start, m.syms[i].start, m.syms[i].start+m.syms[i].n); ok {
			m.heap = append(m.heap, bigram[P]{prio: p, left: i - 1, right: i, size: m.syms[i-1].n + m.syms[i].n})
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	for len(m.heap) > 0 {
		b := m.pop()
		ls, rs := &m.syms[b.left], &m.syms[b.right]
		// Symbols only grow by absorbing their right neighbour, so an
		// unchanged total size means the candidate is still current.
		if ls.n == 0 || rs.n == 0 || ls.n+rs.n != b.size {
			continue
		}
		ls.n += rs.n
		rs.n = 0
		ls.next = rs.next
		if rs.next >= 0 {
			m.syms[rs.next].prev = b.left
		}
		add(ls.prev, b.left)
		add(b.left, ls.next)
	}
}

// each calls fn on the spans of the final symbols, left to right.
func (m *merger[P]) each(fn func(start, end int32)) {
	if len(m.syms) == 0 {
		return
	}
	for i := int32(0); i != -1; i = m.syms[i].next {
		fn(m.syms[i].start, m.syms[i].start+m.syms[i].n)
	}
}

func (m *merger[P]) less(i, j int) bool {
	a, b := &m.heap[i], &m.heap[j]
	return a.prio < b.prio || (a.prio == b.prio && a.left < b.left)
}

func (m *merger[P]) push(b bigram[P]) {
	m.heap = append(m.heap, b)
	for i := len(m.heap) - 1; i > 0; {
		parent := (i - 1) / 2
		if !m.less(i, parent) {
			break
		}
		m.heap[i], m.heap[parent] = m.heap[parent], m.heap[i]
		i = parent
	}
}

func (m *merger[P]) pop() bigram[P] {
	top := m.heap[0]
	last := len(m.heap) - 1
	m.heap[0] = m.heap[last]
	m.heap = m.heap[:last]
	m.down(0)
	return top
}

func (m *merger[P]) down(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && m.less(r, l) {
			c = r
		}
		if !m.less(c, i) {
			return
		}
		m.heap[i], m.heap[c] = m.heap[c], m.heap[i]
		i = c
	}
}

// utf8Len is llama.cpp's unicode_len_utf8: the sequence length announced by
// a lead byte, 1 for continuation bytes.
func utf8Len(b byte) int {
	switch b >> 4 {
	case 0xc, 0xd:
		return 2
	case 0xe:
		return 3
	case 0xf:
		return 4
	}
	return 1
}
