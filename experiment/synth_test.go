package experiment

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/synth"
)

// tinySynthOptions is a study small enough for unit tests: it exercises
// every path (two tasks, a reparameterization, a learned table, two
// seeds) in a few seconds.
func tinySynthOptions() SynthOptions {
	o := DefaultSynthOptions()
	o.Tasks = []string{"mean", "length"}
	o.PEs = []string{"nope", "learned"}
	o.Reparams = []string{"identity", "log"}
	o.Seeds = 2
	o.Steps, o.Warmup = 20, 2
	o.Batch = 8
	o.EvalSamples = 30
	o.TestLengths = synth.Lengths{Min: 1, Max: 16}
	o.Model = SynthModel{Layers: 1, Dim: 16, Heads: 2, Hidden: 16}
	return o
}

func TestSynthResultsIndependentOfWorkers(t *testing.T) {
	var outputs [][]byte
	for _, workers := range []int{1, 3, 1} {
		o := tinySynthOptions()
		o.Workers = workers
		calls := 0
		res, err := RunSynth(context.Background(), o, func(done, total int, _ SynthTraining) {
			calls++
			if done != calls || total != 12 {
				t.Errorf("progress(%d, %d) on call %d", done, total, calls)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 12 || len(res.Rows) != 12*16 {
			t.Fatalf("workers %d: %d progress calls, %d rows", workers, calls, len(res.Rows))
		}
		var b bytes.Buffer
		if err := res.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, b.Bytes())
	}
	if !bytes.Equal(outputs[0], outputs[1]) {
		t.Error("results.json differs between 1 and 3 workers")
	}
	if !bytes.Equal(outputs[0], outputs[2]) {
		t.Error("results.json differs between two runs with the same seeds")
	}
	if !bytes.HasPrefix(outputs[0], []byte(`[`+"\n"+`{"task":"mean","pe":"nope","reparam":"identity","seed":1,"length":1,"mse":`)) {
		t.Errorf("results.json starts %q", outputs[0][:min(120, len(outputs[0]))])
	}
}

func TestSynthSeedsDiffer(t *testing.T) {
	o := tinySynthOptions()
	o.Tasks, o.PEs, o.Reparams = []string{"mean"}, []string{"nope"}, []string{"identity"}
	res, err := RunSynth(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0].MSE == res.Rows[16].MSE {
		t.Error("seeds 1 and 2 gave the same error: the seed is not used")
	}
}

func TestRunSynthCancels(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := RunSynth(ctx, tinySynthOptions(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run returned %v", err)
	}
}

func TestSynthCombos(t *testing.T) {
	d := DefaultSynthOptions()
	// mean, count, sum, max, parity: identity only; length: 4 reparams.
	if n := len(d.Combos()); n != (5+4)*5*3 {
		t.Errorf("default grid has %d combinations, want 135", n)
	}
	q := QuickSynthOptions()
	combos := q.Combos()
	if len(combos) != (1+4)*2 {
		t.Errorf("quick grid has %d combinations, want 10", len(combos))
	}
	if combos[0] != (SynthCombo{"mean", "nope", "identity", 1}) || combos[len(combos)-1] != (SynthCombo{"length", "rope", "inv-sqrt", 1}) {
		t.Errorf("quick grid order: first %v, last %v", combos[0], combos[len(combos)-1])
	}
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
	if err := q.Validate(); err != nil {
		t.Error(err)
	}
}

func TestSynthOptionsValidate(t *testing.T) {
	cases := []struct {
		field string
		edit  func(*SynthOptions)
	}{
		{"tasks", func(o *SynthOptions) { o.Tasks = []string{"mean", "median"} }},
		{"tasks", func(o *SynthOptions) { o.Tasks = []string{"mean", "mean"} }},
		{"pe", func(o *SynthOptions) { o.PEs = []string{"xpos"} }},
		{"reparams", func(o *SynthOptions) { o.Reparams = nil }},
		{"train_lengths", func(o *SynthOptions) { o.TrainLengths = synth.Lengths{Min: 0, Max: 10} }},
		{"test_lengths", func(o *SynthOptions) { o.TestLengths = synth.Lengths{Min: 5, Max: 4} }},
		{"seeds", func(o *SynthOptions) { o.Seeds = 0 }},
		{"steps", func(o *SynthOptions) { o.Steps = -1 }},
		{"lr", func(o *SynthOptions) { o.LR = 0 }},
		{"model.dim", func(o *SynthOptions) { o.Model.Dim = 0 }},
		{"n_heads", func(o *SynthOptions) { o.Model.Heads = 5 }}, // 64 % 5 != 0, reported by model
	}
	for _, c := range cases {
		o := DefaultSynthOptions()
		c.edit(&o)
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v should name the field", c.field, err)
		}
	}
}

func TestSynthSeedStreams(t *testing.T) {
	a := SynthCombo{"length", "rope", "log", 1}
	b := SynthCombo{"length", "nope", "identity", 1}
	if a.dataSeed() != b.dataSeed() || a.evalSeed() != b.evalSeed() {
		t.Error("encodings and reparameterizations of one task and seed must share data and evaluation samples")
	}
	if a.initSeed() == b.initSeed() || a.dataSeed() == a.evalSeed() {
		t.Error("streams that should differ coincide")
	}
	c := SynthCombo{"length", "rope", "log", 2}
	if a.dataSeed() == c.dataSeed() || a.initSeed() == c.initSeed() {
		t.Error("seeds 1 and 2 share a stream")
	}
}
