package synth

import (
	"math"
	"slices"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
)

func TestTaskTargetsByHand(t *testing.T) {
	cases := []struct {
		task string
		seq  []int32
		want float64
	}{
		{"mean", []int32{1}, 1},
		{"mean", []int32{0, 1, 1, 0}, 0.5},
		{"mean", []int32{1, 1, 0}, 2.0 / 3},
		{"length", []int32{0}, 1},
		{"length", []int32{1, 0, 1, 1, 0, 0, 0}, 7},
		{"count", []int32{0, 0, 0}, 0},
		{"count", []int32{1, 0, 1, 1}, 3},
		{"sum", []int32{9, 0, 3, 7}, 19},
		{"max", []int32{2, 7, 1}, 7},
		{"max", []int32{0}, 0},
		{"parity", []int32{1, 0, 1}, 0},
		{"parity", []int32{1, 1, 1, 0}, 1},
	}
	for _, c := range cases {
		task, err := TaskByName(c.task)
		if err != nil {
			t.Fatal(err)
		}
		if got := task.Target(c.seq); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.task, c.seq, got, c.want)
		}
	}
}

func TestTaskRegistry(t *testing.T) {
	names := TaskNames()
	want := []string{"mean", "length", "count", "sum", "max", "parity"}
	if !slices.Equal(names, want) {
		t.Fatalf("TaskNames = %v, want %v", names, want)
	}
	if _, err := TaskByName("nope"); err == nil {
		t.Error("TaskByName accepted an unknown name")
	}
	for _, task := range Tasks() {
		if task.Vocab < 2 || task.About == "" {
			t.Errorf("task %s: vocab %d, about %q", task.Name, task.Vocab, task.About)
		}
	}
	// The paper's contrast: mean stays in range, length does not.
	mean, _ := TaskByName("mean")
	length, _ := TaskByName("length")
	if mean.RangeMoves || !length.RangeMoves || !length.Reparams || mean.Reparams {
		t.Error("mean must have a fixed range and length a moving, reparameterizable one")
	}
}

func TestReparamValuesByHand(t *testing.T) {
	cases := []struct {
		name    string
		x, fx   float64 // a target and f(target), by hand
		y, invY float64 // an awkward prediction and where Inv must map it
		why     string
	}{
		{"identity", 7, 7, -3, -3, "identity keeps any value below the cap"},
		{"identity", 7, 7, 5e6, InvCap, "identity is capped too"},
		{"sqrt", 9, 3, -0.5, 0, "a negative sqrt prediction clamps to 0"},
		{"sqrt", 9, 3, 2000, InvCap, "2000^2 is beyond the cap"},
		{"log", math.E * math.E, 2, -1, math.Exp(-1), "log's image is every real"},
		{"log", math.E * math.E, 2, 800, InvCap, "exp(800) overflows float64; Inv caps it"},
		{"inv-sqrt", 4, 0.5, 0.1, 100, "1/0.1^2"},
		{"inv-sqrt", 4, 0.5, -0.2, InvCap, "a non-positive inv-sqrt prediction means longer than anything"},
		{"inv-sqrt", 4, 0.5, 0, InvCap, "zero too"},
	}
	for _, c := range cases {
		p, err := ReparamByName(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.F(c.x); math.Abs(got-c.fx) > 1e-12 {
			t.Errorf("%s: F(%v) = %v, want %v", c.name, c.x, got, c.fx)
		}
		if got := p.Inv(c.fx); math.Abs(got-c.x) > 1e-12*c.x {
			t.Errorf("%s: Inv(%v) = %v, want %v", c.name, c.fx, got, c.x)
		}
		if got := p.Inv(c.y); math.Abs(got-c.invY) > 1e-9*math.Abs(c.invY) {
			t.Errorf("%s: Inv(%v) = %v, want %v (%s)", c.name, c.y, got, c.invY, c.why)
		}
	}
	for _, p := range Reparams() {
		for l := 1.0; l <= 1000; l++ {
			if got := p.Inv(p.F(l)); math.Abs(got-l) > 1e-9*l {
				t.Errorf("%s: Inv(F(%v)) = %v", p.Name, l, got)
			}
		}
		if p.Name != Identity && !(p.F(50) < 50) {
			t.Errorf("%s: f(50) = %v should compress large targets", p.Name, p.F(50))
		}
	}
	if _, err := ReparamByName("cube"); err == nil {
		t.Error("ReparamByName accepted an unknown name")
	}
	if ReparamNames()[0] != Identity {
		t.Error("identity must come first")
	}
}

func TestSampleBatch(t *testing.T) {
	task, _ := TaskByName("sum")
	var b Batch
	r := rng.New(7)
	lens := Lengths{Min: 3, Max: 6}
	seen := map[int]int{}
	for range 50 {
		task.Sample(&b, 40, lens, r)
		if b.B != 40 || len(b.Tokens) != b.B*b.T || len(b.Lens) != 40 || len(b.Targets) != 40 {
			t.Fatalf("batch shapes B=%d T=%d tokens=%d", b.B, b.T, len(b.Tokens))
		}
		for i, l := range b.Lens {
			seen[l]++
			if l < lens.Min || l > lens.Max || l > b.T {
				t.Fatalf("length %d outside %v (T=%d)", l, lens, b.T)
			}
			row := b.Tokens[i*b.T : (i+1)*b.T]
			for j, tok := range row {
				if j >= l && tok != 0 {
					t.Fatalf("padding token %d at %d of a length-%d row", tok, j, l)
				}
				if tok < 0 || int(tok) >= task.Vocab {
					t.Fatalf("token %d outside the vocabulary", tok)
				}
			}
			if got := task.Target(row[:l]); got != b.Targets[i] {
				t.Fatalf("target %v, recomputed %v", b.Targets[i], got)
			}
		}
	}
	// 2000 uniform draws on 4 lengths: each near 500 (sd ~19).
	for l := lens.Min; l <= lens.Max; l++ {
		if seen[l] < 400 || seen[l] > 600 {
			t.Errorf("length %d drawn %d times of 2000, want about 500", l, seen[l])
		}
	}
}

func TestSampleIsDeterministic(t *testing.T) {
	task, _ := TaskByName("mean")
	var a, b Batch
	task.Sample(&a, 16, Lengths{1, 10}, rng.New(42))
	task.Sample(&b, 16, Lengths{1, 10}, rng.New(42))
	if !slices.Equal(a.Tokens, b.Tokens) || !slices.Equal(a.Lens, b.Lens) || !slices.Equal(a.Targets, b.Targets) {
		t.Error("the same seed gave different batches")
	}
	task.Sample(&b, 16, Lengths{1, 10}, rng.New(43))
	if slices.Equal(a.Tokens, b.Tokens) {
		t.Error("different seeds gave the same batch")
	}
}

func TestBitsAreFair(t *testing.T) {
	task, _ := TaskByName("count")
	seq := make([]int32, 20000)
	task.Fill(seq, rng.New(1))
	ones := task.Target(seq)
	if math.Abs(ones-10000) > 4*math.Sqrt(5000) {
		t.Errorf("%v ones in 20000 fair bits", ones)
	}
}

func TestPrefixTargets(t *testing.T) {
	task, _ := TaskByName("mean")
	seq := []int32{1, 0, 0, 1}
	got := make([]float64, 4)
	task.PrefixTargets(got, seq)
	want := []float64{1, 0.5, 1.0 / 3, 0.5}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-15 {
			t.Errorf("prefix %d: %v, want %v", i+1, got[i], want[i])
		}
	}
}

func TestLengthsValidate(t *testing.T) {
	for _, l := range []Lengths{{0, 3}, {4, 3}, {-1, -1}} {
		if l.Validate() == nil {
			t.Errorf("%v accepted", l)
		}
	}
	if err := (Lengths{1, 10}).Validate(); err != nil {
		t.Error(err)
	}
}
