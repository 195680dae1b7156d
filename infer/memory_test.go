package infer

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lsalign/lsalign/model"
)

// TestDecodeMemoryMatchesAllocation checks the estimate against what
// NewKVCache and a batched prefill allocate, for the position schemes and
// MLPs that change the sizes: it covers what stays live (the cache and the
// prefill activations it keeps) and stays below everything allocated
// (which also counts the transient attention and GEMM scratch once per
// layer). Live is allowed 5% above the estimate: the allocator rounds
// large slices up to whole pages.
func TestDecodeMemoryMatchesAllocation(t *testing.T) {
	for _, c := range []model.Config{
		{Family: "llama", Vocab: 300, Dim: 32, Layers: 3, Heads: 4, KVHeads: 2, Hidden: 80, MaxSeq: 64},
		{Family: "gpt2", Vocab: 300, Dim: 32, Layers: 2, Heads: 4, Hidden: 128, MaxSeq: 1024},
	} {
		m, err := model.NewInit(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		prompt := make([]int32, 400)
		const steps = 600
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		kv, err := m.NewKVCache(len(prompt) + steps)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Extend(kv, prompt); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(kv)
		live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		total := int64(after.TotalAlloc - before.TotalAlloc)
		est := DecodeMemory(m.Config, len(prompt), steps)
		if float64(est) < 0.95*float64(live) || est > total {
			t.Errorf("%s %s: estimate %d bytes, want between the %d that stay live and the %d allocated", c.Family, m.Config.Pos, est, live, total)
		}
	}
}

// TestGenerateRejectsAbsurdSizes: steps no one can wait for are an error,
// and a request whose KV cache passes any machine's memory is refused
// quickly, before the cache is allocated.
func TestGenerateRejectsAbsurdSizes(t *testing.T) {
	m := testModel(t)
	big, err := model.New(model.Config{Family: "llama", Vocab: 64, Dim: 256, Layers: 16, Heads: 4, Hidden: 64, MaxSeq: 64})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m     *model.Model
		steps int
		want  string
	}{
		{m, 100_000_000_000, "steps 100000000000 must be in [0, 1000000000]"},
		// 16 layers × 1e9 positions × 256 × 2 × 4 B = 32 TiB of KV cache.
		{big, MaxSteps, "of memory, more than this machine's"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := Generate(c.m, []int32{1}, Options{Steps: c.steps, Sampling: Sampling{Temperature: 1}})
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("steps %d: got %v, want an error containing %q", c.steps, err, c.want)
		}
		if d, a := time.Since(start), after.TotalAlloc-before.TotalAlloc; d > time.Second || a > 1<<20 {
			t.Errorf("steps %d: refusing took %v and allocated %d bytes", c.steps, d, a)
		}
	}
}
