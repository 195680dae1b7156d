package llama2c

import (
	"bytes"
	"errors"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
)

// tinyConfig has grouped-query attention (2 heads, 1 kv head) so that a
// layout sized dim x dim for wk/wv would be caught.
func tinyConfig(shared bool) Config {
	return Config{Dim: 4, HiddenDim: 6, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 5, SeqLen: 3, SharedClassifier: shared}
}

// namedTensor pairs a Weights field with its length, written out by hand
// from run.c's memory_map_weights so the test does not reuse layout().
type namedTensor struct {
	name string
	data *[]float32
	n    int
}

func tensorsOf(c Config, w *Weights) []namedTensor {
	C, L, H, V := c.Dim, c.NLayers, c.HiddenDim, c.VocabSize
	kv := c.NKVHeads * (c.Dim / c.NHeads)
	ts := []namedTensor{
		{"token_embedding", &w.TokenEmbedding, V * C}, {"rms_att", &w.RmsAtt, L * C},
		{"wq", &w.Wq, L * C * C}, {"wk", &w.Wk, L * kv * C}, {"wv", &w.Wv, L * kv * C},
		{"wo", &w.Wo, L * C * C}, {"rms_ffn", &w.RmsFfn, L * C}, {"w1", &w.W1, L * H * C},
		{"w2", &w.W2, L * C * H}, {"w3", &w.W3, L * H * C}, {"rms_final", &w.RmsFinal, C},
	}
	if !c.SharedClassifier {
		ts = append(ts, namedTensor{"wcls", &w.Wcls, V * C})
	}
	return ts
}

func randomWeights(c Config, seed uint64) Weights {
	r := rng.New(seed)
	var w Weights
	for _, t := range tensorsOf(c, &w) {
		*t.data = testutil.Rand32(r, t.n, 1)
	}
	return w
}

func equalWeights(t *testing.T, c Config, got, want Weights) {
	t.Helper()
	g, w := tensorsOf(c, &got), tensorsOf(c, &want)
	for i := range g {
		a, b := *g[i].data, *w[i].data
		if len(a) != len(b) {
			t.Fatalf("%s: %d values, want %d", g[i].name, len(a), len(b))
		}
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("%s[%d] = %v, want %v", g[i].name, j, a[j], b[j])
			}
		}
	}
	if c.SharedClassifier && got.Wcls != nil {
		t.Fatalf("Wcls = %d values, want nil for a shared classifier", len(got.Wcls))
	}
}

func encode(t testing.TB, write func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readBytes(b []byte) (Config, Weights, error) {
	return Read(bytes.NewReader(b), int64(len(b)), "test.bin")
}

// wantFormatError fails unless err is a *FormatError whose Field is field
// (any field when field is "").
func wantFormatError(t testing.TB, err error, field string) *FormatError {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T), want *FormatError", err, err)
	}
	if field != "" && fe.Field != field {
		t.Fatalf("error %q names field %q, want %q", err, fe.Field, field)
	}
	return fe
}
