package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lsalign/lsalign/internal/rng"
	"github.com/lsalign/lsalign/internal/testutil"
	"github.com/lsalign/lsalign/load"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// tinyModelDir saves a small random Llama-style model with the byte
// vocabulary as an lsalign checkpoint directory.
func tinyModelDir(t *testing.T, maxSeq int) string {
	t.Helper()
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: 258, Dim: 16, Layers: 2, Heads: 2, Hidden: 32, MaxSeq: maxSeq}, 7)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Params.Data {
		m.Params.Data[i] *= 20
	}
	tok, err := tokenizer.New(tokenizer.ByteVocab())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := load.Save(dir, m, tok, load.SaveOptions{Format: load.FormatLsalign}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// textFile writes n bytes of English-like text.
func textFile(t *testing.T, name string, n int) string {
	t.Helper()
	words := strings.Fields("the cat sat on a mat and then it ran far away from home while the sun set slowly")
	r := rng.New(uint64(n))
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[r.Intn(len(words))])
		b.WriteByte(' ')
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(b.String()[:n]), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCLI runs the command line and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// lastJSON decodes the last line of stdout.
func lastJSON(t *testing.T, stdout string, v any) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), v); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, stdout)
	}
}

func TestMisalignCommand(t *testing.T) {
	dir := tinyModelDir(t, 32)
	text := textFile(t, "a.txt", 400)
	dump := filepath.Join(t.TempDir(), "d.jsonl")
	code, out, errs := runCLI(t, "misalign", "--model", dir, "--text", text, "--samples", "20", "--seed", "3",
		"--divergence", "js", "--json", "--dump", dump)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Mean, Stderr float64
		CI95         [2]float64
		Samples      int
		LTrain       int `json:"l_train"`
		Divergence   string
		Seed         uint64
		Model, Text  string
	}
	lastJSON(t, out, &res)
	if res.Samples != 20 || res.LTrain != 32 || res.Divergence != "js" || res.Seed != 3 || res.Model != dir || res.Text != text ||
		!(res.Mean > 0 && res.Mean <= math.Ln2) || !(res.CI95[0] <= res.Mean && res.Mean <= res.CI95[1]) {
		t.Fatalf("summary %+v", res)
	}
	data, err := os.ReadFile(dump)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var sum float64
	for _, l := range lines {
		var row struct {
			Doc, End, L1, L2 int
			Value            float64
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatal(err)
		}
		if row.L1 < 16 || row.L1 > 32 || row.L2 < 16 || row.L2 > 32 || row.End < 32 || row.End > 401 {
			t.Fatalf("dump row %+v", row)
		}
		sum += row.Value
	}
	if len(lines) != 20 || math.Abs(sum/20-res.Mean) > 1e-6 {
		t.Fatalf("%d dump rows averaging %g, summary mean %g", len(lines), sum/20, res.Mean)
	}
	// The human form names the divergence and the settings.
	code, out, _ = runCLI(t, "misalign", "--model", dir, "--text", text, "--samples", "4")
	if code != 0 || !strings.Contains(out, "misalignment (sce)") || !strings.Contains(out, "l_train 32, lengths 16..32") {
		t.Fatalf("exit %d: %s", code, out)
	}
}

// noFallbackTokenizer writes a llama2.c tokenizer without byte tokens, so
// it cannot encode invalid UTF-8, and a model of its vocabulary.
func noFallbackModel(t *testing.T) (modelDir, tokPath string) {
	t.Helper()
	pieces := []string{"<unk>", "<s>", "</s>", " "}
	for c := 'a'; c <= 'z'; c++ {
		pieces = append(pieces, string(c), " "+string(c))
	}
	var b bytes.Buffer
	le := func(v uint32) { b.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}) }
	le(8) // max token length
	for i, p := range pieces {
		le(math.Float32bits(float32(-i)))
		le(uint32(len(p)))
		b.WriteString(p)
	}
	tokPath = filepath.Join(t.TempDir(), "tok.bin")
	if err := os.WriteFile(tokPath, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := model.NewInit(model.Config{Family: "llama", Vocab: len(pieces), Dim: 16, Layers: 1, Heads: 2, Hidden: 32, MaxSeq: 16}, 1)
	if err != nil {
		t.Fatal(err)
	}
	modelDir = filepath.Join(t.TempDir(), "m")
	if err := load.Save(modelDir, m, nil, load.SaveOptions{Format: load.FormatLsalign}); err != nil {
		t.Fatal(err)
	}
	return modelDir, tokPath
}

func TestMisalignBadInput(t *testing.T) {
	dir := tinyModelDir(t, 32)
	short := textFile(t, "short.txt", 20)
	empty := t.TempDir()
	nfModel, nfTok := noFallbackModel(t)
	bad := filepath.Join(t.TempDir(), "latin1.txt")
	if err := os.WriteFile(bad, append([]byte(strings.Repeat("abc ", 40)), 0xff, 'x'), 0o644); err != nil {
		t.Fatal(err)
	}
	long := textFile(t, "long.txt", 300)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--model", dir, "--text", short}, 1, "text too short"},
		{[]string{"--model", dir, "--text", empty}, 1, "no .txt files"},
		{[]string{"--model", nfModel, "--tokenizer", nfTok, "--text", bad}, 1, "latin1.txt: tokenizer: invalid UTF-8 at byte offset 160"},
		{[]string{"--model", dir, "--text", long, "--l-train", "64"}, 1, "exceeds the model's training context 32"},
		{[]string{"--model", dir, "--text", long, "--divergence", "kl"}, 2, "unknown divergence"},
		{[]string{"--model", dir}, 2, "needs --model and --text"},
	} {
		code, _, errs := runCLI(t, append([]string{"misalign"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) || strings.Contains(errs, "panic") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
	// With a RoPE scaling of factor 2, l_train 64 is allowed.
	code, _, errs := runCLI(t, "misalign", "--model", dir, "--text", long, "--l-train", "64", "--samples", "2",
		"--rope-scaling", "linear", "--rope-factor", "2")
	if code != 0 {
		t.Fatalf("l_train 64 with linear x2: exit %d: %s", code, errs)
	}
}

// TestMisalignStories260K runs the metric on the real model and recomputes a
// dumped value from two plain forward passes.
func TestMisalignStories260K(t *testing.T) {
	dir := testutil.SharedDir(t, "models/stories260K")
	book := testutil.SharedDir(t, "corpora/gutenberg/austen-emma.txt")
	data, err := os.ReadFile(book)
	if err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(t.TempDir(), "emma-40k.txt")
	if err := os.WriteFile(text, data[:40000], 0o644); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "d.jsonl")
	modelPath, tokPath := filepath.Join(dir, "stories260K.bin"), filepath.Join(dir, "tok512.bin")
	code, out, errs := runCLI(t, "misalign", "--model", modelPath, "--tokenizer", tokPath, "--text", text,
		"--samples", "12", "--seed", "1", "--json", "--dump", dump)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct {
		Mean   float64
		LTrain int `json:"l_train"`
	}
	lastJSON(t, out, &res)
	// SCE = H(p) + H(q) + SKL is at least the entropies: a few nats for this model.
	if res.LTrain != 512 || !(res.Mean > 1 && res.Mean < 10) {
		t.Fatalf("summary %s", out)
	}
	l, err := load.Load(modelPath, load.Options{Tokenizer: tokPath})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := l.Tokenizer.Encode(string(data[:40000]), true)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := os.ReadFile(dump)
	var row struct {
		End, L1, L2 int
		Value       float64
	}
	if err := json.Unmarshal([]byte(strings.SplitN(string(rows), "\n", 2)[0]), &row); err != nil {
		t.Fatal(err)
	}
	lp := lastLogProbs(t, l.Model, ids[row.End-row.L1:row.End])
	lq := lastLogProbs(t, l.Model, ids[row.End-row.L2:row.End])
	var sce float64
	for j := range lp {
		sce -= math.Exp(lp[j])*lq[j] + math.Exp(lq[j])*lp[j]
	}
	if math.Abs(sce-row.Value) > 1e-4*sce {
		t.Fatalf("dumped %+v, two forward passes give %g", row, sce)
	}
}

func lastLogProbs(t *testing.T, m *model.Model, tokens []int32) []float64 {
	t.Helper()
	if err := m.Forward(tokens, 1, len(tokens), model.ForwardOptions{Rows: []int{len(tokens) - 1}}); err != nil {
		t.Fatal(err)
	}
	row := m.Logits()
	mx := math.Inf(-1)
	for _, v := range row {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	out := make([]float64, len(row))
	for i, v := range row {
		out[i] = float64(v) - mx - math.Log(s)
	}
	return out
}

// TestMisalignResume damages a finished run's journal as a kill would and
// checks that --resume gives byte-identical results and dump.
func TestMisalignResume(t *testing.T) {
	dir := tinyModelDir(t, 32)
	text := textFile(t, "a.txt", 800)
	out := filepath.Join(t.TempDir(), "run")
	dump := filepath.Join(t.TempDir(), "d.jsonl")
	args := []string{"misalign", "--model", dir, "--text", text, "--samples", "200", "--seed", "4", "--dump", dump, "--out", out, "--json"}
	code, whole, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	wholeDump, _ := os.ReadFile(dump)
	jpath := filepath.Join(out, "misalign.journal.jsonl")
	j, _ := os.ReadFile(jpath)
	lines := strings.SplitAfter(string(j), "\n")
	if len(lines) != 6 { // header, 4 groups (64, 64, 64, 8), ""
		t.Fatalf("journal of %d lines", len(lines))
	}
	os.WriteFile(jpath, []byte(lines[0]+lines[1]+lines[2][:30]), 0o644)
	code, resumed, errs := runCLI(t, append(args, "--resume")...)
	resumedDump, _ := os.ReadFile(dump)
	if code != 0 || resumed != whole || string(resumedDump) != string(wholeDump) || !strings.Contains(errs, "resuming after 1 finished units") {
		t.Fatalf("--resume: exit %d (%s)\n%s\nuninterrupted:\n%s", code, errs, resumed, whole)
	}
	// A journal of another text is refused, naming what changed.
	other := textFile(t, "b.txt", 900)
	code, _, errs = runCLI(t, "misalign", "--model", dir, "--text", other, "--samples", "200", "--seed", "4", "--out", out, "--resume")
	if code != 1 || !strings.Contains(errs, "tokens_sha256") {
		t.Fatalf("resume on another text: exit %d, %q", code, errs)
	}
	// Lengths beyond the context name the flag that allows them.
	code, _, errs = runCLI(t, "misalign", "--model", dir, "--text", text, "--l-train", "64", "--samples", "4")
	if code != 1 || !strings.Contains(errs, "--extrapolate runs it anyway") {
		t.Fatalf("l_train beyond the context: exit %d, %q", code, errs)
	}
}
