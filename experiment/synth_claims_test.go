package experiment

import (
	"regexp"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/synth"
)

// synthHandResult builds a result over test lengths 1-20 (training 1-10) whose
// errors come from mse, so the claims can be checked on numbers chosen by
// hand.
func synthHandResult(tasks, pes, reparams []string, seeds int, mse func(c SynthCombo, length int) float64) *SynthResult {
	o := DefaultSynthOptions()
	o.Tasks, o.PEs, o.Reparams, o.Seeds = tasks, pes, reparams, seeds
	o.TestLengths = synth.Lengths{Min: 1, Max: 20}
	r := &SynthResult{Options: o}
	for _, c := range o.Combos() {
		r.Training = append(r.Training, SynthTraining{SynthCombo: c})
		for l := 1; l <= 20; l++ {
			v := mse(c, l)
			r.Rows = append(r.Rows, SynthRow{SynthCombo: c, Length: l, MSE: v, MSEFSpace: v / 2})
		}
	}
	return r
}

func synthClaimByID(t *testing.T, r *SynthResult, id string) SynthClaim {
	t.Helper()
	for _, c := range r.Claims() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no claim %s", id)
	return SynthClaim{}
}

func TestClaimMean(t *testing.T) {
	for _, c := range []struct {
		spike float64
		want  string
	}{{1.5e-3, ClaimHolds}, {2.5e-3, ClaimDoesNotHold}} {
		r := synthHandResult([]string{"mean"}, []string{"nope", "rope"}, []string{"identity"}, 2, func(cb SynthCombo, l int) float64 {
			if cb.PE == "rope" {
				return 1 // other encodings do not matter
			}
			if cb.Seed == 2 && l == 17 {
				return c.spike
			}
			return 1e-5
		})
		got := synthClaimByID(t, r, "a")
		if got.Verdict != c.want {
			t.Errorf("spike %g: verdict %q, want %q", c.spike, got.Verdict, c.want)
		}
		// seed mean at 17 is (1e-5 + spike)/2
		if want := "at length 17"; !strings.Contains(got.Evidence[0], want) || !strings.Contains(got.Evidence[1], want) {
			t.Errorf("evidence %q should point at length 17", got.Evidence)
		}
	}
}

func TestClaimLength(t *testing.T) {
	r := synthHandResult([]string{"length"}, []string{"nope", "rope"}, []string{"identity"}, 1, func(c SynthCombo, l int) float64 {
		inside, beyond := 2.0, 30.0 // ratio 15
		if c.PE == "rope" {
			inside, beyond = 1, 5 // ratio 5
		}
		if l <= 10 {
			return inside
		}
		return beyond
	})
	got := synthClaimByID(t, r, "b")
	if got.Verdict != ClaimDoesNotHold {
		t.Errorf("verdict %q: rope's ratio is only 5", got.Verdict)
	}
	joined := strings.Join(got.Evidence, "; ")
	for _, want := range []string{"nope: 2 inside, 30 beyond, ratio 15x", "rope: 1 inside, 5 beyond, ratio 5x", "only 2 of the 5"} {
		if !strings.Contains(joined, want) {
			t.Errorf("evidence %q lacks %q", joined, want)
		}
	}
	if len(got.Table) != 3 || got.Table[2][4] != "no" || got.Table[1][4] != "yes" {
		t.Errorf("table %v", got.Table)
	}
}

// reparamBeyond are the errors beyond the training range by (pe, reparam).
func synthReparamResult(beyond map[[2]string]float64) *SynthResult {
	return synthHandResult([]string{"length"}, []string{"nope", "rope"}, synth.ReparamNames(), 1, func(c SynthCombo, l int) float64 {
		if l <= 10 {
			return 1
		}
		return beyond[[2]string{c.PE, c.Reparam}]
	})
}

func TestClaimReparamPooledAndPerEncoding(t *testing.T) {
	base := map[[2]string]float64{
		{"nope", "identity"}: 100, {"rope", "identity"}: 50, // pooled 75
		{"nope", "sqrt"}: 60, {"rope", "sqrt"}: 70, // pooled 65, but rope is worse than its identity
		{"nope", "log"}: 90, {"rope", "log"}: 40, // pooled 65
		{"nope", "inv-sqrt"}: 80, {"rope", "inv-sqrt"}: 60, // pooled 70; lower for nope (3 of 3), rope 1 of 3
	}
	got := synthClaimByID(t, synthReparamResult(base), "c")
	if got.Verdict != ClaimHolds {
		t.Errorf("pooled: verdict %q", got.Verdict)
	}
	joined := strings.Join(got.Evidence, "; ")
	for _, want := range []string{"identity, pooled over nope, rope: 75", "sqrt, pooled: 65", "lower than the identity in 4 of 6",
		"per encoding the claim does not hold"} {
		if !strings.Contains(joined, want) {
			t.Errorf("evidence %q lacks %q", joined, want)
		}
	}
	base[[2]string{"rope", "inv-sqrt"}] = 80 // pooled 80 > 75
	if got := synthClaimByID(t, synthReparamResult(base), "c"); got.Verdict != ClaimDoesNotHold {
		t.Errorf("inv-sqrt pooled above identity: verdict %q", got.Verdict)
	}
}

func TestClaimsNotEvaluated(t *testing.T) {
	r := synthHandResult([]string{"count"}, []string{"nope"}, []string{"identity"}, 1, func(SynthCombo, int) float64 { return 1 })
	verdictLine := regexp.MustCompile(`\((a|b|c)\).*(holds|does not hold)`)
	for _, c := range r.Claims() {
		if c.Verdict != ClaimNotEvaluated {
			t.Errorf("(%s) verdict %q without the tasks it needs", c.ID, c.Verdict)
		}
		line := "(" + c.ID + ") " + c.Statement + ": " + c.Verdict
		if verdictLine.MatchString(line) {
			t.Errorf("a claim that was not evaluated reads like a verdict: %q", line)
		}
	}
}

func TestSynthGroups(t *testing.T) {
	r := synthHandResult([]string{"length"}, []string{"nope"}, []string{"identity"}, 2, func(c SynthCombo, l int) float64 {
		return float64(l * c.Seed) // seed 1: 1..20, seed 2: 2..40
	})
	g := r.Groups()
	if len(g) != 1 {
		t.Fatalf("%d groups", len(g))
	}
	want := SynthGroup{InRange: []float64{5.5, 11}, Beyond: []float64{15.5, 31}, AtMax: []float64{20, 40}}
	for i := range 2 {
		if g[0].InRange[i] != want.InRange[i] || g[0].Beyond[i] != want.Beyond[i] || g[0].AtMax[i] != want.AtMax[i] ||
			g[0].BeyondF[i] != want.Beyond[i]/2 {
			t.Errorf("seed %d: got %+v", i+1, g[0])
		}
	}
}
