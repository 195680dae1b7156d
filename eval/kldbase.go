package eval

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/lsalign/lsalign/internal/parallel"
	"github.com/lsalign/lsalign/model"
)

// A saved base ("lsalign KL-divergence base", .kldbase) lets a model be
// compared with a base model later without the base, like llama.cpp's
// --kl-divergence-base file but smaller: per scored token it keeps the top
// K log-probabilities and the probability mass of the rest. Layout, little
// endian:
//
//	magic   "LSKLDB\x00\x01"
//	uint32  header length H (at most 1 MiB), then H bytes of JSON (BaseHeader)
//	int32   tokens[Windows][Ctx]: the windows as read from the text (before
//	        any BOS replacement)
//	records[Windows][Ctx-1-Ctx/2], each:
//	        float32 log-probability of the actual next token
//	        float32 probability mass outside the top K
//	        K × (int32 id, float32 log-probability), most likely first
var baseMagic = [8]byte{'L', 'S', 'K', 'L', 'D', 'B', 0, 1}

const maxBaseHeader = 1 << 20

// BaseHeader describes a saved base.
type BaseHeader struct {
	Version int    `json:"version"`
	Vocab   int    `json:"vocab"`
	Ctx     int    `json:"ctx"`
	BOS     int32  `json:"bos"` // replaces each window's first token when >= 0
	Windows int    `json:"windows"`
	TopK    int    `json:"top_k"`
	Model   string `json:"model,omitempty"` // provenance, for reports
	Text    string `json:"text,omitempty"`
}

func (h BaseHeader) scored() int     { return h.Ctx - 1 - h.Ctx/2 }
func (h BaseHeader) recordSize() int { return 8 + 8*h.TopK }

// validate checks the header against the size of the rest of the file, so
// no allocation is sized by an unchecked field.
func (h BaseHeader) validate(rest int64) error {
	switch {
	case h.Version != 1:
		return fmt.Errorf("version %d is not supported (want 1)", h.Version)
	case h.Vocab < 1 || h.Vocab > math.MaxInt32:
		return fmt.Errorf("vocab %d is out of range", h.Vocab)
	case h.Ctx < 4 || h.Ctx > 1<<24:
		return fmt.Errorf("ctx %d is out of range [4, %d]", h.Ctx, 1<<24)
	case h.BOS < -1 || int(h.BOS) >= h.Vocab:
		return fmt.Errorf("bos %d is outside the vocabulary [0, %d)", h.BOS, h.Vocab)
	case h.Windows < 1:
		return fmt.Errorf("windows %d must be positive", h.Windows)
	case h.TopK < 1 || h.TopK > h.Vocab:
		return fmt.Errorf("top_k %d is outside [1, vocab %d]", h.TopK, h.Vocab)
	}
	perWindow := int64(h.Ctx)*4 + int64(h.scored())*int64(h.recordSize())
	if int64(h.Windows) > rest/perWindow || int64(h.Windows)*perWindow != rest {
		return fmt.Errorf("windows: %d windows of %d bytes need %.0f bytes after the header, the file has %d",
			h.Windows, perWindow, float64(h.Windows)*float64(perWindow), rest)
	}
	return nil
}

// SaveBase runs base over the windows of docs and writes the saved base to
// w, keeping topK log-probabilities per token (at most the vocabulary).
// hdr supplies the provenance fields; the others are filled in.
func SaveBase(w io.Writer, base *model.Model, docs [][]int32, opt KLDOptions, topK int, hdr BaseHeader) error {
	if base.Config.Head != model.HeadLM {
		return fmt.Errorf("kld: the base model has a %q head; KL divergence needs next-token logits", base.Config.Head)
	}
	V := base.Config.Vocab
	if topK < 1 {
		return fmt.Errorf("kld: top-k %d must be positive", topK)
	}
	topK = min(topK, V)
	plan, err := kldPlan(docs, V, opt)
	if err != nil {
		return err
	}
	hdr.Version, hdr.Vocab, hdr.Ctx, hdr.BOS, hdr.Windows, hdr.TopK = 1, V, plan.ctx, plan.bos, len(plan.wins), topK
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := writeBaseHeader(bw, hdr, docs, plan); err != nil {
		return err
	}
	maxB := plan.batchSize(opt.MaxBatchTokens, V)
	rec := hdr.recordSize()
	buf := make([]byte, maxB*plan.scored()*rec)
	err = plan.forEachBatch(docs, maxB, func(wb windowBatch) error {
		if err := wb.forward(base, plan.ctx); err != nil {
			return fmt.Errorf("kld: base: %w", err)
		}
		n, logits := len(wb.rows), base.Logits()
		bad := make([]bool, n)
		parallel.For(n, 8, func(lo, hi int) {
			lp, heap, mark := make([]float64, V), make([]int32, 0, topK), make([]bool, V)
			for i := lo; i < hi; i++ {
				logSoftmax64(lp, logits[i*V:(i+1)*V])
				bad[i] = !encodeRecord(buf[i*rec:(i+1)*rec], lp, wb.targets[i], heap, mark)
			}
		})
		if i := slices.Index(bad, true); i >= 0 {
			per := plan.scored()
			return fmt.Errorf("kld: base: window %d, position %d: non-finite log-probabilities: the model's logits overflow",
				wb.first+i/per, plan.first+i%per)
		}
		if _, err := bw.Write(buf[:n*rec]); err != nil {
			return err
		}
		if opt.Progress != nil {
			opt.Progress(wb.first+wb.B, len(plan.wins), 0)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

func writeBaseHeader(w io.Writer, hdr BaseHeader, docs [][]int32, plan windowPlan) error {
	js, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	if len(js) > maxBaseHeader {
		return fmt.Errorf("kld: base header of %d bytes exceeds %d", len(js), maxBaseHeader)
	}
	var b bytes.Buffer
	b.Write(baseMagic[:])
	binary.Write(&b, binary.LittleEndian, uint32(len(js)))
	b.Write(js)
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	for _, win := range plan.wins {
		if err := binary.Write(w, binary.LittleEndian, docs[win.doc][win.start:win.start+plan.ctx]); err != nil {
			return err
		}
	}
	return nil
}

// encodeRecord writes one token's record; it reports false for a
// non-finite row. heap (capacity K) and mark (zeroed, the vocabulary's
// size, left zeroed) are scratch.
func encodeRecord(dst []byte, lp []float64, target int32, heap []int32, mark []bool) bool {
	K := (len(dst) - 8) / 8
	top := topIndices(lp, K, heap)
	rest := 0.0
	if K < len(lp) {
		for _, id := range top {
			mark[id] = true
		}
		for i, v := range lp {
			if !mark[i] {
				rest += math.Exp(v)
			}
		}
		for _, id := range top {
			mark[id] = false
		}
	}
	if !isFinite(lp[target]) || !isFinite(rest) || !isFinite(lp[top[0]]) {
		return false
	}
	le := binary.LittleEndian
	le.PutUint32(dst, math.Float32bits(float32(lp[target])))
	le.PutUint32(dst[4:], math.Float32bits(float32(rest)))
	for k, id := range top {
		le.PutUint32(dst[8+8*k:], uint32(id))
		le.PutUint32(dst[12+8*k:], math.Float32bits(float32(lp[id])))
	}
	return true
}

// topIndices returns the indices of the k largest values, largest first
// (lower index first among equal values), using heap (capacity k) as a
// min-heap of the best so far.
func topIndices(x []float64, k int, heap []int32) []int32 {
	// worse reports whether a ranks below b: smaller value, or equal value
	// and larger index.
	worse := func(a, b int32) bool { return x[a] < x[b] || (x[a] == x[b] && a > b) }
	h := heap[:0]
	down := func(i int) {
		for {
			l, s := 2*i+1, i
			if l < len(h) && worse(h[l], h[s]) {
				s = l
			}
			if r := l + 1; r < len(h) && worse(h[r], h[s]) {
				s = r
			}
			if s == i {
				return
			}
			h[i], h[s] = h[s], h[i]
			i = s
		}
	}
	for i := range x {
		id := int32(i)
		if len(h) < k {
			h = append(h, id)
			for j := len(h) - 1; j > 0; {
				p := (j - 1) / 2
				if !worse(h[j], h[p]) {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
			continue
		}
		if worse(h[0], id) {
			h[0] = id
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b int32) int {
		switch {
		case worse(b, a):
			return -1
		case worse(a, b):
			return 1
		}
		return 0
	})
	return h
}

// BaseFile is an opened saved base: its header and windows, positioned at
// the first record.
type BaseFile struct {
	Header BaseHeader
	Path   string
	tokens [][]int32 // the windows, one "document" each
	r      *bufio.Reader
	f      *os.File
}

// OpenBase reads and checks a saved base's header and windows. Errors name
// the file and the field.
func OpenBase(path string) (*BaseFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	bf, err := readBase(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return bf, nil
}

// Close releases the file.
func (b *BaseFile) Close() error { return b.f.Close() }

func readBase(f *os.File, path string) (*BaseFile, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	var head [12]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("%s: not a saved KL-divergence base (too short)", path)
	}
	if !bytes.Equal(head[:8], baseMagic[:]) {
		return nil, fmt.Errorf("%s: not a saved KL-divergence base (bad magic)", path)
	}
	hlen := int64(binary.LittleEndian.Uint32(head[8:]))
	if hlen > maxBaseHeader || 12+hlen > st.Size() {
		return nil, fmt.Errorf("%s: header length %d is out of range", path, hlen)
	}
	js := make([]byte, hlen)
	if _, err := io.ReadFull(r, js); err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	var h BaseHeader
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if err := h.validate(st.Size() - 12 - hlen); err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	b := &BaseFile{Header: h, Path: path, r: r, f: f, tokens: make([][]int32, h.Windows)}
	for w := range b.tokens {
		win := make([]int32, h.Ctx)
		if err := binary.Read(r, binary.LittleEndian, win); err != nil {
			return nil, fmt.Errorf("%s: window %d: %w", path, w, err)
		}
		for i, t := range win {
			if t < 0 || int(t) >= h.Vocab {
				return nil, fmt.Errorf("%s: window %d token %d: id %d outside the vocabulary [0, %d)", path, w, i, t, h.Vocab)
			}
		}
		b.tokens[w] = win
	}
	return b, nil
}

// KLDivergenceFromBase compares m with a saved base on the saved windows;
// of opt it uses MaxBatchTokens, Progress and Units (the windows are the
// file's). The base file is consumed: it can be used once.
func KLDivergenceFromBase(m *model.Model, b *BaseFile, opt KLDOptions) (KLDResult, error) {
	h := b.Header
	if m.Config.Head != model.HeadLM {
		return KLDResult{}, fmt.Errorf("kld: the model has a %q head; KL divergence needs next-token logits", m.Config.Head)
	}
	if m.Config.Vocab != h.Vocab {
		return KLDResult{}, fmt.Errorf("kld: %s was saved for %d tokens, the model has %d: they must share the vocabulary", b.Path, h.Vocab, m.Config.Vocab)
	}
	plan, err := planWindows(b.tokens, h.Ctx, h.Ctx/2, h.Ctx, 0, h.BOS)
	if err != nil {
		return KLDResult{}, err
	}
	V, rec := h.Vocab, h.recordSize()
	maxB := plan.batchSize(opt.MaxBatchTokens, V)
	buf := make([]byte, maxB*plan.scored()*rec)
	readRecords := func(wb windowBatch) error { // every batch, so the file stays in step
		if _, err := io.ReadFull(b.r, buf[:len(wb.rows)*rec]); err != nil {
			return fmt.Errorf("%s: records of window %d: %w", b.Path, wb.first, err)
		}
		return nil
	}
	tokens, err := runKLDBatches(b.tokens, plan, maxB, opt, readRecords, func(wb windowBatch, stats []tokenStats) error {
		if err := wb.forward(m, plan.ctx); err != nil {
			return fmt.Errorf("kld: model: %w", err)
		}
		logits := m.Logits()
		n := len(stats)
		errs := make([]error, n)
		parallel.For(n, 8, func(lo, hi int) {
			lq, mark := make([]float64, V), make([]bool, V)
			for i := lo; i < hi; i++ {
				logSoftmax64(lq, logits[i*V:(i+1)*V])
				stats[i], errs[i] = recordTokenStats(buf[i*rec:(i+1)*rec], lq, wb.targets[i], mark)
			}
		})
		per := plan.scored()
		for i, e := range errs {
			if e != nil {
				return fmt.Errorf("%s: window %d, position %d: %w", b.Path, wb.first+i/per, plan.first+i%per, e)
			}
		}
		return nil
	})
	if err != nil {
		return KLDResult{}, err
	}
	topK := h.TopK
	if topK == V {
		topK = 0 // every log-probability was kept: exact
	}
	return summarizeKLD(tokens, plan, topK), nil
}

// recordTokenStats compares one saved record with the model's log-probs;
// mark is zeroed scratch of the vocabulary's size, left zeroed.
func recordTokenStats(rec []byte, lq []float64, target int32, mark []bool) (tokenStats, error) {
	le := binary.LittleEndian
	K := (len(rec) - 8) / 8
	lpTarget := float64(math.Float32frombits(le.Uint32(rec)))
	rest := float64(math.Float32frombits(le.Uint32(rec[4:])))
	if !(lpTarget <= 0) || !(rest >= 0 && rest <= 1) {
		return tokenStats{}, fmt.Errorf("record holds an impossible target log-probability %g or rest mass %g", lpTarget, rest)
	}
	var kld float64
	top := int32(-1)
	for k := range K {
		id := int32(le.Uint32(rec[8+8*k:]))
		lp := float64(math.Float32frombits(le.Uint32(rec[12+8*k:])))
		if id < 0 || int(id) >= len(lq) || mark[id] || !(lp <= 0) {
			for j := range k { // leave mark zeroed
				mark[le.Uint32(rec[8+8*j:])] = false
			}
			return tokenStats{}, fmt.Errorf("record entry %d: id %d or log-probability %g is invalid or repeated", k, id, lp)
		}
		mark[id] = true
		if k == 0 {
			top = id
		}
		kld += math.Exp(lp) * (lp - lq[id])
	}
	if rest > 0 {
		qRest := 0.0
		for i, v := range lq {
			if !mark[i] {
				qRest += math.Exp(v)
			}
		}
		if qRest > 0 {
			kld += rest * (math.Log(rest) - math.Log(qRest))
		} else {
			kld = math.Inf(1)
		}
	}
	for k := range K {
		mark[le.Uint32(rec[8+8*k:])] = false
	}
	return tokenStats{
		nll: -lq[target], nllBase: -lpTarget, kld: max(kld, 0),
		pDiff:   math.Exp(lq[target]) - math.Exp(lpTarget),
		sameTop: int32(argmax64(lq)) == top,
	}, nil
}
