package main

import (
	"strings"
	"testing"
	"time"

	"github.com/lsalign/lsalign/infer"
	"github.com/lsalign/lsalign/internal/memlimit"
	"github.com/lsalign/lsalign/load"
)

// TestAbsurdSizes: counts beyond any sensible run are usage errors (exit
// 2), and sound requests too big for this machine's memory are errors
// (exit 1) found by an estimate before anything is allocated, never the
// runtime's out-of-memory crash, whose exit status 2 would read as a
// usage error.
func TestAbsurdSizes(t *testing.T) {
	dir := tinyModelDir(t, 32)
	text := textFile(t, "a.txt", 400)
	l, err := load.Load(dir, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tooBig := func(need int64) bool { return need > memlimit.Physical() && memlimit.Physical() > 0 }
	for _, c := range []struct {
		args []string
		code int
		want string
		// need, when set, is the estimate the request must exceed: on a
		// machine with more memory the case would run, so it is skipped.
		need int64
	}{
		{args: []string{"generate", "--model", dir, "--steps", "100000000000"}, code: 2, want: "--steps must be in [0, 1000000000]"},
		{args: []string{"generate", "--model", dir, "--steps", "1000000000"}, code: 1, want: "more than this machine's",
			need: infer.DecodeMemory(l.Model.Config, 1, 1_000_000_000)},
		{args: []string{"passkey", "--model", dir, "--lengths", "300", "--max-new", "100000000000"}, code: 2, want: "--max-new must be in"},
		{args: []string{"passkey", "--model", dir, "--lengths", "5000000000"}, code: 2, want: "beyond 1000000000"},
		{args: []string{"passkey", "--model", dir, "--lengths", "1000000000"}, code: 1, want: "more than this machine's",
			need: infer.DecodeMemory(l.Model.Config, 1_000_000_000, 16)},
		{args: []string{"passkey", "--model", dir, "--lengths", "300", "--max-new", "1000000000"}, code: 1, want: "more than this machine's",
			need: infer.DecodeMemory(l.Model.Config, 300, 1_000_000_000)},
		{args: []string{"passkey", "--model", dir, "--trials", "100000000000"}, code: 2, want: "--trials must be in"},
		{args: []string{"bench", "gemm", "--m", "10000000", "--k", "10000000"}, code: 1, want: "GEMM needs",
			need: gemmMemory(10_000_000, 10_000_000, 1024)},
		{args: []string{"bench", "gemm", "--m", "2000000000"}, code: 2, want: "--m must be in"},
		{args: []string{"bench", "infer", "--model", dir, "--prompt-len", "2000000000"}, code: 2, want: "--prompt-len must be in"},
		{args: []string{"ppl", "--model", dir, "--text", text, "--ctx", "4611686018427387904x"}, code: 2, want: "outside [1, 1000000000]"},
		{args: []string{"ppl", "--model", dir, "--text", text, "--ctx", "1e-9x"}, code: 2, want: "outside [1, 1000000000]"},
		{args: []string{"misalign", "--model", dir, "--text", text, "--samples", "100000000000000"}, code: 2, want: "--samples must be in [1, 1000000000]"},
		{args: []string{"misalign", "--model", dir, "--text", text, "--l-train", "9223372036854775807"}, code: 2, want: "--l-train must be in [0, 1000000000]"},
		{args: []string{"misalign", "--model", dir, "--text", text, "--l-train", "-3"}, code: 2, want: "--l-train must be in [0, 1000000000]"},
		{args: []string{"misalign", "--model", dir, "--text", text, "--l-train", "1000000000"}, code: 1, want: "exceeds the model's training context 32"},
		// A factor whose usable context passes the int range: the check allows l_train, the text is what is short.
		{args: []string{"misalign", "--model", dir, "--text", text, "--rope-scaling", "linear", "--rope-factor", "1e308", "--l-train", "1000"},
			code: 1, want: "text too short"},
	} {
		if c.need != 0 && !tooBig(c.need) {
			t.Logf("%v: skipped, this machine has %d bytes, the request needs %d", c.args, memlimit.Physical(), c.need)
			continue
		}
		start := time.Now()
		code, _, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) || strings.Contains(errs, "panic") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errs, c.code, c.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%v: took %v to refuse", c.args, d)
		}
	}
}
