package optim

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
)

// adamwRef is AdamW written from the paper's equations in float64.
func adamwRef(p, g []float64, m, v []float64, step int, lr, b1, b2, eps, wd float64) {
	for i := range p {
		p[i] *= 1 - lr*wd
		m[i] = b1*m[i] + (1-b1)*g[i]
		v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
		mh := m[i] / (1 - math.Pow(b1, float64(step)))
		vh := v[i] / (1 - math.Pow(b2, float64(step)))
		p[i] -= lr * mh / (math.Sqrt(vh) + eps)
	}
}

func TestAdamWMatchesEquations(t *testing.T) {
	n := 37
	p32 := make([]float32, n)
	p64 := make([]float64, n)
	m64, v64 := make([]float64, n), make([]float64, n)
	for i := range p32 {
		p32[i] = float32(math.Sin(float64(i)))
		p64[i] = float64(p32[i])
	}
	o := NewAdamW(n, 0.01)
	for step := 1; step <= 5; step++ {
		g32 := make([]float32, n)
		g64 := make([]float64, n)
		for i := range g32 {
			g32[i] = float32(math.Cos(float64(i*step)) * 0.1)
			g64[i] = float64(g32[i])
		}
		o.Update(p32, g32, 1e-2)
		adamwRef(p64, g64, m64, v64, step, 1e-2, 0.9, 0.999, 1e-8, 0.01)
	}
	for i := range p32 {
		if d := math.Abs(float64(p32[i]) - p64[i]); d > 1e-6 {
			t.Fatalf("param %d: %v vs reference %v", i, p32[i], p64[i])
		}
	}
}

func TestAdamWDecayRanges(t *testing.T) {
	// Zero gradient isolates weight decay: decayed params shrink by (1-lr*wd), the rest stay put.
	p := []float32{1, 1, 1, 1, 1, 1}
	o := NewAdamW(len(p), 0.5)
	o.Decay = []Range{{1, 2}, {5, 1}}
	o.Update(p, make([]float32, len(p)), 0.1)
	want := []float32{1, 0.95, 0.95, 1, 1, 0.95}
	for i := range p {
		if p[i] != want[i] {
			t.Fatalf("after decay %v, want %v", p, want)
		}
	}
}

func TestAdamWDecayRangesMustBeOrdered(t *testing.T) {
	for _, decay := range [][]Range{
		{{5, 1}, {1, 2}}, // out of order: elements 1 and 2 would be stepped twice
		{{1, 3}, {2, 2}}, // overlapping
		{{4, 3}},         // past the end
		{{-1, 2}},
		{{2, -1}},
	} {
		p := []float32{1, 1, 1, 1, 1, 1}
		o := NewAdamW(len(p), 0.5)
		o.Decay = decay
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "optim: AdamW.Decay") {
					t.Errorf("Decay %v: panic %v, want one naming AdamW.Decay", decay, r)
				}
			}()
			o.Update(p, make([]float32, len(p)), 0.1)
		}()
	}
}

func TestSGDMomentum(t *testing.T) {
	p := []float32{1}
	o := &SGD{Momentum: 0.9}
	o.Update(p, []float32{1}, 0.1) // buf 1, p 0.9
	o.Update(p, []float32{1}, 0.1) // buf 1.9, p 0.71
	if math.Abs(float64(p[0])-0.71) > 1e-6 {
		t.Fatalf("p = %v, want 0.71", p[0])
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{MaxLR: 1, MinLR: 0.1, Warmup: 10, Total: 110}
	cases := []struct {
		step int
		want float64
	}{{0, 0.1}, {4, 0.5}, {9, 1}, {10, 1}, {60, 0.55}, {110, 0.1}, {500, 0.1}}
	for _, c := range cases {
		if got := s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("LR(%d) = %v, want %v", c.step, got, c.want)
		}
	}
	if got := (Schedule{MaxLR: 2}).LR(100); got != 2 {
		t.Errorf("constant schedule gives %v", got)
	}
}

func TestClipGradNorm(t *testing.T) {
	g := []float32{3, 4}
	if n := ClipGradNorm(g, 10); n != 5 || g[0] != 3 {
		t.Fatalf("no-clip case changed grads: norm %v g %v", n, g)
	}
	n := ClipGradNorm(g, 1)
	if n != 5 || math.Abs(float64(g[0])-0.6) > 1e-6 || math.Abs(float64(g[1])-0.8) > 1e-6 {
		t.Fatalf("clip to 1: norm %v g %v", n, g)
	}
}

func TestGlobalNormDeterministic(t *testing.T) {
	g := make([]float32, 100003)
	for i := range g {
		g[i] = float32(math.Sin(float64(i) * 1.7))
	}
	old := runtime.GOMAXPROCS(1)
	a := GlobalNorm(g)
	runtime.GOMAXPROCS(2)
	b := GlobalNorm(g)
	runtime.GOMAXPROCS(old)
	if a != b {
		t.Fatalf("norm differs across GOMAXPROCS: %v vs %v", a, b)
	}
}
