package load

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/lsalign/lsalign/model"
)

// tensorSource is the tensors of a file, by name, with PyTorch-order
// shapes (rows first).
type tensorSource interface {
	names() []string
	shape(name string) ([]int, bool)
	dtype(name string) string
	read(name string) ([]float32, error)
}

// tensorSpec maps one tensor of a file onto the model: the canonical
// tensors first..last (last == first for one tensor; a fused file tensor
// such as GPT-2's c_attn spans several adjacent ones).
type tensorSpec struct {
	file        string // name in the file
	shape       []int  // shape in the file, PyTorch order
	first, last string // canonical tensors it fills
	// transpose: the file stores the [out, in] weight as [in, out]
	// (GPT-2's Conv1D).
	transpose bool
	// ropeHeads > 0 marks a query or key projection of that many heads,
	// whose rows depend on the RoPE layout.
	ropeHeads int
}

func one(file, canon string, shape ...int) tensorSpec {
	return tensorSpec{file: file, shape: shape, first: canon, last: canon}
}

// canonicalSpecs names every tensor of the layout as it is (GGUF names
// and lsalign checkpoints).
func canonicalSpecs(c model.Config) []tensorSpec {
	var specs []tensorSpec
	for _, t := range model.NewLayout(c).Tensors {
		s := one(t.Name, t.Name, t.Shape...)
		s.ropeHeads = ropeHeadsOf(c, t.Name)
		specs = append(specs, s)
	}
	return specs
}

// ropeHeadsOf returns the number of heads RoPE rotates in a canonical q or
// k tensor, 0 for any other tensor or a model without RoPE.
func ropeHeadsOf(c model.Config, canon string) int {
	if c.Pos != model.PosRoPE {
		return 0
	}
	switch {
	case strings.HasSuffix(canon, ".attn_q.weight"), strings.HasSuffix(canon, ".attn_q.bias"):
		return c.Heads
	case strings.HasSuffix(canon, ".attn_k.weight"), strings.HasSuffix(canon, ".attn_k.bias"):
		return c.KVHeads
	}
	return 0
}

// checkSpecs compares the specs with the file's tensors before anything is
// allocated: every spec's tensor present with its shape, and every tensor
// of the file expected (or ignored). path names the file in errors.
func checkSpecs(path string, src tensorSource, specs []tensorSpec, ignore func(string) bool) error {
	want := make(map[string]bool, len(specs))
	for _, s := range specs {
		want[s.file] = true
	}
	names := slices.Clone(src.names())
	sort.Strings(names)
	for _, n := range names {
		if !want[n] && (ignore == nil || !ignore(n)) {
			return fmt.Errorf("%s: tensor %q: unexpected (not part of a model with this config)", path, n)
		}
	}
	for _, s := range specs {
		got, ok := src.shape(s.file)
		if !ok {
			return fmt.Errorf("%s: tensor %q: missing", path, s.file)
		}
		if !slices.Equal(got, s.shape) {
			return fmt.Errorf("%s: tensor %q: shape %v, want %v", path, s.file, got, s.shape)
		}
	}
	return nil
}

// buildModel checks the config and the file's tensors against the specs
// that specsFor lists for it, then allocates the model and fills it. It
// returns the storage dtypes seen, joined by "+".
func buildModel(path string, src tensorSource, cfg model.Config, specsFor func(model.Config) []tensorSpec, ignore func(string) bool) (*model.Model, string, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	// Every layer has tensors in the file, so the file bounds the layer
	// count before NewLayout loops over it.
	if cfg.Layers > len(src.names()) {
		return nil, "", fmt.Errorf("%s: %d layers but only %d tensors", path, cfg.Layers, len(src.names()))
	}
	specs := specsFor(cfg)
	if err := checkSpecs(path, src, specs, ignore); err != nil {
		return nil, "", err
	}
	m, err := model.New(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	covered := 0
	dtypes := map[string]bool{}
	for _, s := range specs {
		dst, err := spanOf(m.Params, s.first, s.last)
		if err != nil {
			return nil, "", err
		}
		v, err := src.read(s.file)
		if err != nil {
			return nil, "", err
		}
		if len(v) != len(dst) {
			return nil, "", fmt.Errorf("%s: tensor %q: %d values for %d parameters", path, s.file, len(v), len(dst))
		}
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, "", fmt.Errorf("%s: tensor %q: element %d is %v", path, s.file, i, x)
			}
		}
		if s.transpose {
			transposeInto(dst, v, s.shape[0], s.shape[1])
		} else {
			copy(dst, v)
		}
		covered += len(dst)
		dtypes[src.dtype(s.file)] = true
	}
	if covered != m.NumParams() {
		return nil, "", fmt.Errorf("%s: the tensors fill %d of %d parameters", path, covered, m.NumParams())
	}
	return m, joinKeys(dtypes), nil
}

// spanOf returns the slab slice from the start of tensor first to the end
// of tensor last.
func spanOf(s *model.Slab, first, last string) ([]float32, error) {
	a, ok1 := s.Layout.Lookup(first)
	b, ok2 := s.Layout.Lookup(last)
	if !ok1 || !ok2 || b.Off < a.Off {
		return nil, fmt.Errorf("load: no tensor span %s..%s in this model", first, last)
	}
	return s.Data[a.Off : b.Off+b.Size], nil
}

// transposeInto writes the transpose of src [rows, cols] into dst [cols, rows].
func transposeInto(dst, src []float32, rows, cols int) {
	for r := range rows {
		for c := range cols {
			dst[c*rows+r] = src[r*cols+c]
		}
	}
}

func joinKeys(set map[string]bool) string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, "+")
}

// outTensor is one tensor to write, in the file's naming, shape and layout.
type outTensor struct {
	name  string
	shape []int
	data  []float32
}

// exportTensors renders the model's parameters through specs for a file
// whose RoPE layout is fileLayout ("" keeps the model's). A tensor that
// needs no permutation or transposition aliases the parameters, so the
// caller must only read the data (writers do), not keep it.
func exportTensors(m *model.Model, specs []tensorSpec, fileLayout string) ([]outTensor, error) {
	c := m.Config
	out := make([]outTensor, 0, len(specs))
	for _, s := range specs {
		data, err := spanOf(m.Params, s.first, s.last)
		if err != nil {
			return nil, err
		}
		if s.ropeHeads > 0 && fileLayout != "" && fileLayout != c.RopeLayout {
			data = permuteRope(data, s.ropeHeads, c.HeadSize(), c.RopeLayout, fileLayout)
		}
		if s.transpose {
			t := make([]float32, len(data))
			transposeInto(t, data, s.shape[1], s.shape[0])
			data = t
		}
		out = append(out, outTensor{s.file, s.shape, data})
	}
	return out, nil
}

// permuteRope reorders the rows of a q or k projection (weight [heads*HS,
// C] or bias [heads*HS]) from one RoPE layout to the other. Adjacent pairs
// (2i, 2i+1) of a head become (i, i+HS/2) in the halves layout, as
// Hugging Face's convert_llama_weights_to_hf permutes them; llama.cpp's
// convert_hf_to_gguf applies the inverse.
func permuteRope(w []float32, heads, HS int, from, to string) []float32 {
	rows := heads * HS
	cols := len(w) / rows
	out := make([]float32, len(w))
	half := HS / 2
	for h := range heads {
		for i := range half {
			for j := range 2 {
				adj := h*HS + 2*i + j
				hal := h*HS + j*half + i
				src, dst := adj, hal // adjacent -> halves
				if from == "halves" {
					src, dst = hal, adj
				}
				copy(out[dst*cols:(dst+1)*cols], w[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}

// memSource serves tensors held in memory (llama2.c checkpoints).
type memSource struct {
	order  []string
	shapes map[string][]int
	data   map[string][]float32
	dt     string
}

func newMemSource(dtype string) *memSource {
	return &memSource{shapes: map[string][]int{}, data: map[string][]float32{}, dt: dtype}
}

func (s *memSource) add(name string, data []float32, shape ...int) {
	s.order = append(s.order, name)
	s.shapes[name], s.data[name] = shape, data
}

func (s *memSource) names() []string                     { return s.order }
func (s *memSource) shape(name string) ([]int, bool)     { sh, ok := s.shapes[name]; return sh, ok }
func (s *memSource) dtype(string) string                 { return s.dt }
func (s *memSource) read(name string) ([]float32, error) { return s.data[name], nil }
