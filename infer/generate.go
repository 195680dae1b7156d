package infer

import (
	"fmt"
	"slices"
	"time"

	"github.com/lsalign/lsalign/internal/memlimit"
	"github.com/lsalign/lsalign/model"
)

// Options configure Generate.
type Options struct {
	Steps    int      // tokens to generate after the prompt, at most MaxSteps
	Sampling Sampling // how each token is drawn; the zero value is greedy
	Seed     uint64   // seeds the sampler
	// Stop ends generation when one of these tokens is drawn; the stop
	// token itself is not returned. Typically the tokenizer's EOS (and, as
	// llama2.c does, BOS, which starts a new document).
	Stop []int32
	// OnToken, when set, is called with each generated token as soon as it
	// is drawn (for streaming output); an error it returns ends Generate.
	OnToken func(id int32) error
}

// Result is what Generate produced and how long it took.
type Result struct {
	Tokens  []int32 // generated tokens, without the prompt and any stop token
	Stopped bool    // a stop token ended generation before Steps tokens

	PrefillTokens int           // prompt tokens, run in one batched pass
	PrefillTime   time.Duration // that pass, including the first token's logits
	DecodeTokens  int           // tokens run one at a time from the KV cache
	DecodeTime    time.Duration
}

// PrefillTokensPerSec is the prompt throughput (0 when nothing was timed).
func (r Result) PrefillTokensPerSec() float64 { return rate(r.PrefillTokens, r.PrefillTime) }

// DecodeTokensPerSec is the decoding throughput (0 when nothing was timed).
func (r Result) DecodeTokensPerSec() float64 { return rate(r.DecodeTokens, r.DecodeTime) }

func rate(n int, d time.Duration) float64 {
	if n == 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Generate continues prompt (at least one token, e.g. BOS) by opt.Steps
// tokens: one Extend over the whole prompt, then one per drawn token. A
// request whose KV cache and prefill would not fit in the machine's
// physical memory (DecodeMemory) is an error before anything is allocated.
func Generate(m *model.Model, prompt []int32, opt Options) (Result, error) {
	var res Result
	if len(prompt) == 0 {
		return res, fmt.Errorf("infer: empty prompt (start from BOS)")
	}
	if opt.Steps < 0 || opt.Steps > MaxSteps {
		return res, fmt.Errorf("infer: steps %d must be in [0, %d]", opt.Steps, MaxSteps)
	}
	if opt.Steps == 0 {
		return res, nil
	}
	sampler, err := NewSampler(opt.Sampling, opt.Seed)
	if err != nil {
		return res, err
	}
	need := DecodeMemory(m.Config, len(prompt), opt.Steps)
	if err := memlimit.Check(need, fmt.Sprintf("infer: generating %d tokens after a %d-token prompt", opt.Steps, len(prompt))); err != nil {
		return res, err
	}
	// The last drawn token is never fed back, so it needs no position.
	kv, err := m.NewKVCache(len(prompt) + opt.Steps - 1)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	logits, err := m.Extend(kv, prompt)
	if err != nil {
		return res, err
	}
	res.PrefillTokens, res.PrefillTime = len(prompt), time.Since(t0)
	t0 = time.Now()
	for {
		next := sampler.Sample(logits)
		if slices.Contains(opt.Stop, next) {
			res.Stopped = true
			break
		}
		res.Tokens = append(res.Tokens, next)
		if opt.OnToken != nil {
			if err := opt.OnToken(next); err != nil {
				return res, err
			}
		}
		if len(res.Tokens) == opt.Steps {
			break
		}
		if logits, err = m.Extend(kv, []int32{next}); err != nil {
			return res, err
		}
		res.DecodeTokens++
	}
	res.DecodeTime = time.Since(t0)
	return res, nil
}
