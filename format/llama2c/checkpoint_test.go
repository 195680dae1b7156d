package llama2c

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version int
		shared  bool
	}{{"v1-shared", 1, true}, {"v1-unshared", 1, false}, {"v0-shared", 0, true}, {"v0-unshared", 0, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := tinyConfig(tc.shared)
			w := randomWeights(c, 7)
			write := Write
			if tc.version == 0 {
				write = WriteLegacy
			}
			b := encode(t, func(buf *bytes.Buffer) error { return write(buf, c, w) })
			// Sizes by hand from run.c / export.py: header, weights,
			// and for v0 the two RoPE tables [seq_len, head_size/2].
			floats := 0
			for _, nt := range tensorsOf(c, &w) {
				floats += nt.n
			}
			want := 256 + 4*floats
			if tc.version == 0 {
				want = 28 + 4*floats + 2*4*c.SeqLen*(c.Dim/c.NHeads/2)
			}
			if len(b) != want {
				t.Fatalf("file has %d bytes, want %d", len(b), want)
			}
			gotC, gotW, err := readBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			wantC := c
			wantC.Version = tc.version
			if gotC != wantC {
				t.Fatalf("config %+v, want %+v", gotC, wantC)
			}
			equalWeights(t, c, gotW, w)
		})
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.bin")
	c := tinyConfig(false)
	w := randomWeights(c, 3)
	if err := WriteFile(path, c, w); err != nil {
		t.Fatal(err)
	}
	gotC, gotW, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if gotC.Version != 1 || gotC.SharedClassifier {
		t.Fatalf("config %+v, want version 1 unshared", gotC)
	}
	equalWeights(t, c, gotW, w)
	// A failed write leaves the old file and no temporary behind.
	bad := w
	bad.Wq = bad.Wq[:1]
	if err := WriteFile(path, c, bad); err == nil {
		t.Fatal("WriteFile with a short Wq succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after a failed write, want 1", len(entries))
	}
	if _, gotW, err = Open(path); err != nil {
		t.Fatal(err)
	}
	equalWeights(t, c, gotW, w)
}

// TestV1Order checks the version 1 tensor order against export.py's
// version1_export list, written here independently: all attention norms,
// all ffn norms, the final norm, the embedding, then wq, wk, wv, wo, w1,
// w2, w3 each over all layers, then the classifier.
func TestV1Order(t *testing.T) {
	c := tinyConfig(false)
	var w Weights
	byName := map[string]namedTensor{}
	for i, nt := range tensorsOf(c, &w) {
		*nt.data = make([]float32, nt.n)
		for j := range *nt.data {
			(*nt.data)[j] = float32(i + 1)
		}
		byName[nt.name] = nt
	}
	b := encode(t, func(buf *bytes.Buffer) error { return Write(buf, c, w) })
	off := 256
	for _, name := range []string{"rms_att", "rms_ffn", "rms_final", "token_embedding", "wq", "wk", "wv", "wo", "w1", "w2", "w3", "wcls"} {
		nt := byName[name]
		want := (*nt.data)[0]
		for j := range nt.n {
			got := math.Float32frombits(binary.LittleEndian.Uint32(b[off+4*j:]))
			if got != want {
				t.Fatalf("%s element %d holds the marker of another tensor (%v, want %v)", name, j, got, want)
			}
		}
		off += 4 * nt.n
	}
	if off != len(b) {
		t.Fatalf("tensors end at %d, file has %d bytes", off, len(b))
	}
}

func TestWriteRejects(t *testing.T) {
	c := tinyConfig(true)
	w := randomWeights(c, 1)
	cases := map[string]func(*Config, *Weights){
		"short wk":               func(_ *Config, w *Weights) { w.Wk = w.Wk[:len(w.Wk)-1] },
		"wcls with shared":       func(_ *Config, w *Weights) { w.Wcls = make([]float32, 20) },
		"nan weight":             func(_ *Config, w *Weights) { w.W2[3] = float32(math.NaN()) },
		"heads do not divide":    func(c *Config, _ *Weights) { c.NHeads = 3 },
		"zero layers":            func(c *Config, _ *Weights) { c.NLayers = 0 },
		"dim beyond int32":       func(c *Config, _ *Weights) { c.Dim = 1 << 32 },
		"kv heads do not divide": func(c *Config, _ *Weights) { c.NKVHeads = 3; c.NHeads = 4; c.Dim = 8 },
	}
	for name, mutate := range cases {
		c2, w2 := c, w
		w2.W2 = append([]float32(nil), w.W2...)
		mutate(&c2, &w2)
		if err := Write(&bytes.Buffer{}, c2, w2); err == nil {
			t.Errorf("%s: Write succeeded", name)
		}
	}
}

// header builds a legacy or v1 header with the given seven ints.
func header(version int, ints [7]int32, shared byte) []byte {
	var b []byte
	if version == 1 {
		b = binary.LittleEndian.AppendUint32(b, v1Magic)
		b = binary.LittleEndian.AppendUint32(b, 1)
	}
	for _, v := range ints {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	if version == 1 {
		b = append(b, shared)
		b = append(b, make([]byte, 256-len(b))...)
	}
	return b
}

func TestBadHeaders(t *testing.T) {
	ok := [7]int32{4, 6, 2, 2, 1, 5, 3}
	with := func(i int, v int32) [7]int32 { h := ok; h[i] = v; return h }
	cases := []struct {
		name  string
		file  []byte
		field string
	}{
		{"empty", nil, "header"},
		{"short legacy", header(0, ok, 0)[:27], "header"},
		{"short v1", header(1, ok, 1)[:255], "header"},
		{"zero dim", header(0, with(0, 0), 0), "dim"},
		{"negative layers", header(0, with(2, -3), 0), "n_layers"},
		{"negative hidden", header(1, with(1, -1), 1), "hidden_dim"},
		{"zero seq_len", header(0, with(6, 0), 0), "seq_len"},
		{"heads do not divide dim", header(0, with(3, 3), 0), "n_heads"},
		{"kv heads do not divide heads", header(0, with(4, 3), 0), "n_kv_heads"},
		{"odd head size", header(0, [7]int32{6, 6, 1, 2, 1, 5, 3}, 0), "n_heads"},
		{"zero vocab", header(0, with(5, 0), 0), "vocab_size"},
		{"negative vocab in v1", header(1, with(5, -5), 0), "vocab_size"},
		{"shared flag 2", header(1, ok, 2), "shared_classifier"},
		{"version 2", func() []byte { b := header(1, ok, 1); b[4] = 2; return b }(), "version"},
		{"header only", header(1, ok, 1), "file size"},
		{"huge dim", header(0, with(0, 1<<30), 0), "file size"},
		{"huge everything", header(1, [7]int32{1 << 30, 1 << 30, 1 << 30, 2, 2, 1 << 30, 1 << 30}, 0), "file size"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := readBytes(tc.file)
			runtime.ReadMemStats(&after)
			wantFormatError(t, err, tc.field)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Fatalf("rejecting the header allocated %d bytes", grew)
			}
		})
	}
}

func TestSizeMismatchReportsBoth(t *testing.T) {
	c := tinyConfig(true)
	b := encode(t, func(buf *bytes.Buffer) error { return Write(buf, c, randomWeights(c, 2)) })
	b = append(b, 0, 0, 0, 0)
	_, _, err := readBytes(b)
	fe := wantFormatError(t, err, "file size")
	if want := len(b) - 4; !strings.Contains(fe.Msg, strconv.Itoa(want)) || !strings.Contains(fe.Msg, strconv.Itoa(len(b))) {
		t.Fatalf("error %q should report the actual %d and expected %d sizes", err, len(b), want)
	}
}

func TestTruncations(t *testing.T) {
	for _, version := range []int{0, 1} {
		c := tinyConfig(version == 1)
		w := randomWeights(c, 5)
		write := Write
		if version == 0 {
			write = WriteLegacy
		}
		b := encode(t, func(buf *bytes.Buffer) error { return write(buf, c, w) })
		for n := range len(b) {
			if _, _, err := readBytes(b[:n]); err == nil {
				t.Fatalf("v%d truncated to %d of %d bytes: no error", version, n, len(b))
			} else {
				wantFormatError(t, err, "")
			}
		}
	}
}

func TestNonFiniteWeightNamed(t *testing.T) {
	c := tinyConfig(false)
	w := randomWeights(c, 9)
	b := encode(t, func(buf *bytes.Buffer) error { return Write(buf, c, w) })
	// wk starts after rms_att, rms_ffn, rms_final, embedding and wq.
	off := 256 + 4*(c.NLayers*c.Dim*2+c.Dim+c.VocabSize*c.Dim+c.NLayers*c.Dim*c.Dim) + 4*3
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		bad := append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(bad[off:], math.Float32bits(float32(v)))
		_, _, err := readBytes(bad)
		fe := wantFormatError(t, err, "wk")
		if !strings.Contains(fe.Msg, "element 3") {
			t.Fatalf("error %q should name element 3", err)
		}
	}
}
