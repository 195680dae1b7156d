package align

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
)

// TestMisalignmentEachMatchesMisalignment: streaming hands over the same
// samples in the same order, and the same summary, as collecting them.
func TestMisalignmentEachMatchesMisalignment(t *testing.T) {
	m := randomModel(t, 20, 4)
	docs := randomDocs(8, m.Config.Vocab, 64, 33)
	opt := MetricOptions{Samples: 150, Seed: 5} // three groups, the last partial
	want, samples, err := Misalignment(m, docs, opt)
	if err != nil {
		t.Fatal(err)
	}
	var got []MetricSample
	res, err := MisalignmentEach(m, docs, opt, func(s MetricSample) error {
		got = append(got, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res != want || len(got) != len(samples) {
		t.Fatalf("streamed %d samples, summary %+v; collected %d, %+v", len(got), res, len(samples), want)
	}
	for i := range got {
		if got[i] != samples[i] {
			t.Fatalf("sample %d: streamed %+v, collected %+v", i, got[i], samples[i])
		}
	}
	// The summary is that of the sample values (the float64 path of the statistics).
	values := make([]float64, len(samples))
	for i, s := range samples {
		values[i] = s.Value
	}
	if mean, se := MeanStderr(values); mean != res.Mean || se != res.Stderr {
		t.Fatalf("mean %v ± %v, the samples give %v ± %v", res.Mean, res.Stderr, mean, se)
	}
	if ci := BootstrapMeanCI(values, 0.95, bootstrapResamples, 5^bootstrapSeedMix); ci != res.CI95 {
		t.Fatalf("interval %v, the samples give %v", res.CI95, ci)
	}

	stop := errors.New("stop")
	calls := 0
	_, err = MisalignmentEach(m, docs, opt, func(MetricSample) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("an error from the callback: got %v after %d calls, want it back after 1", err, calls)
	}
}

// TestMisalignmentEachMemoryPerSample: without a callback that keeps them,
// a sample costs its 4-byte value and nothing more that stays live. The
// live heap is measured from the callback at the last sample, when the
// sample state and the group buffers are all still reachable.
func TestMisalignmentEachMemoryPerSample(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation inflates allocations")
	}
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 64, Dim: 8, Layers: 1, Heads: 2, Hidden: 8, MaxSeq: 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	docs := randomDocs(3, 64, 200)
	liveGrowth := func(samples int) int64 {
		var before, last runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		n := 0
		_, err := MisalignmentEach(m, docs, MetricOptions{Samples: samples, Seed: 1}, func(MetricSample) error {
			if n++; n == samples {
				runtime.GC()
				runtime.ReadMemStats(&last)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return int64(last.HeapAlloc) - int64(before.HeapAlloc)
	}
	liveGrowth(64) // warm the model's activation arena
	const many = 64 * 400
	small, large := liveGrowth(64), liveGrowth(many)
	perSample := float64(large-small) / (many - 64)
	if perSample > 6 {
		t.Fatalf("%.1f live bytes per extra sample (%d for 64 samples, %d for %d), want the 4-byte value",
			perSample, small, large, many)
	}
}

// TestMetricAbsurdSizes: sample counts and lengths near the int range are
// errors that say what is wrong, found before anything is allocated.
func TestMetricAbsurdSizes(t *testing.T) {
	m := randomModel(t, 16, 1)
	docs := randomDocs(1, m.Config.Vocab, 40)
	start := time.Now()
	for _, tc := range []struct {
		name string
		opt  MetricOptions
		want string
	}{
		{"samples 1e14", MetricOptions{Samples: 100_000_000_000_000}, "samples must be in [1, 1000000000]"},
		{"samples MaxInt", MetricOptions{Samples: math.MaxInt}, "samples must be in"},
		{"l_train MaxInt", MetricOptions{LTrain: math.MaxInt}, "exceeds the model's training context 16"},
		{"l_train MaxInt, fractions", MetricOptions{LTrain: math.MaxInt, FracLo: 0.9, FracHi: 1}, "exceeds the model's training context 16"},
	} {
		_, err := MisalignmentEach(m, docs, tc.opt, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("rejecting absurd sizes took %v", d)
	}
	// l_train MaxInt: the length range is [ceil(MaxInt/2), MaxInt], not wrapped around.
	lo, hi := MetricOptions{LTrain: math.MaxInt, FracLo: 0.5, FracHi: 1}.lengthRange()
	if lo != 1<<62 || hi != math.MaxInt {
		t.Fatalf("length range of l_train MaxInt: [%d, %d], want [%d, %d]", lo, hi, 1<<62, math.MaxInt)
	}
}

// TestContextLimitHugeFactor: a RoPE factor whose product with the context
// passes the int range clamps to MaxInt instead of wrapping to a negative
// limit.
func TestContextLimitHugeFactor(t *testing.T) {
	for _, f := range []float64{1e308, 1e19, float64(math.MaxInt)} {
		c := model.Config{Pos: model.PosRoPE, MaxSeq: 512, RopeScaling: kernels.RopeScaling{Type: "linear", Factor: f}}
		if limit, hard := ContextLimit(c); limit != math.MaxInt || hard {
			t.Errorf("factor %g: limit %d (hard %v), want %d", f, limit, hard, math.MaxInt)
		}
		if err := CheckContext(c, 1<<40, false); err != nil {
			t.Errorf("factor %g: length 2^40: %v", f, err)
		}
	}
	c := model.Config{Pos: model.PosRoPE, MaxSeq: 512, RopeScaling: kernels.RopeScaling{Type: "yarn", Factor: 4, OrigCtx: 256}}
	if limit, _ := ContextLimit(c); limit != 1024 {
		t.Errorf("yarn x4 of 256: limit %d, want 1024", limit)
	}
}
