package eval

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/lsalign/lsalign/align"
	"github.com/lsalign/lsalign/internal/journal"
	"github.com/lsalign/lsalign/kernels"
	"github.com/lsalign/lsalign/model"
	"github.com/lsalign/lsalign/tokenizer"
)

// RopeVariantOptions configures RopeVariants. The zero value of each field
// means the default in its comment.
type RopeVariantOptions struct {
	Types     []string  // scalings besides "none": linear, ntk, yarn
	Factors   []float64 // scaling factors: 2, 4
	Multiples []int     // multiples of the training context for PPL and passkey: 2, 4
	// Misalign configures the metric; every variant uses the same options
	// (and so the same samples), with l_train the training context.
	Misalign      align.MetricOptions
	PPLConvention string         // Full
	MaxTokens     int            // tokens of each document used for perplexity; 0 means all
	Passkey       PasskeyOptions // the default template
	PasskeyDepths []float64      // 0, 0.5, 1
	PasskeyTrials int            // 3
	Seed          uint64         // passkey cases
	// Log, when set, receives a line as each measurement starts.
	Log func(format string, args ...any)
	// Units, when set, records each measured variant and takes those an
	// interrupted run measured from it (see internal/journal).
	Units journal.Units
}

func (o RopeVariantOptions) withDefaults() RopeVariantOptions {
	if o.Types == nil {
		o.Types = []string{"linear", "ntk", "yarn"}
	}
	if o.Factors == nil {
		o.Factors = []float64{2, 4}
	}
	if o.Multiples == nil {
		o.Multiples = []int{2, 4}
	}
	if o.PPLConvention == "" {
		o.PPLConvention = Full
	}
	if o.PasskeyDepths == nil {
		o.PasskeyDepths = []float64{0, 0.5, 1}
	}
	if o.PasskeyTrials == 0 {
		o.PasskeyTrials = 3
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	return o
}

// RopeVariants builds a correlation study from one RoPE model: the model
// as it is ("none") and with each scaling type at each factor. For each
// variant it measures misalignment at the training context L, the
// validation loss (NLL) at L, and perplexity and passkey accuracy at each
// multiple of L. The model's own scaling is restored afterwards.
func RopeVariants(m *model.Model, tok *tokenizer.Tokenizer, docs [][]int32, opt RopeVariantOptions) ([]Variant, error) {
	c := m.Config
	if c.Pos != model.PosRoPE {
		return nil, fmt.Errorf("rope-scaling variants need a RoPE model; this one uses %q positions", c.Pos)
	}
	o := opt.withDefaults()
	L := c.MaxSeq
	saved := c.RopeScaling
	defer m.SetRopeScaling(saved) // restoring a scaling the model already held cannot fail

	scalings := []kernels.RopeScaling{{Type: "none"}}
	for _, t := range o.Types {
		for _, f := range o.Factors {
			scalings = append(scalings, kernels.RopeScaling{Type: t, Factor: f, OrigCtx: L})
		}
	}
	pplDocs := docs
	if o.MaxTokens > 0 {
		pplDocs = make([][]int32, len(docs))
		for i, d := range docs {
			pplDocs[i] = d[:min(len(d), o.MaxTokens)]
		}
	}
	build, err := o.Passkey.Builder()
	if err != nil {
		return nil, err
	}
	mis := o.Misalign
	mis.LTrain = L
	pplAt := func(n int) PPLOptions {
		return PPLOptions{Ctx: n, Convention: o.PPLConvention, ReplaceFirst: AddsBOS(tok), BOS: tok.BOS()}
	}
	var out []Variant
	for i, s := range scalings {
		if raw, ok := unitDone(o.Units, i); ok {
			var v Variant
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, fmt.Errorf("resuming variant %d: %w", i, err)
			}
			o.Log("%s: measured before the interruption", v.Name)
			out = append(out, v)
			continue
		}
		if err := m.SetRopeScaling(s); err != nil {
			return nil, err
		}
		name := s.Type
		if s.Type != "none" {
			name = s.Type + "-x" + strconv.FormatFloat(s.Factor, 'g', -1, 64)
		}
		v := Variant{Name: name, Scores: map[string]float64{},
			Settings: map[string]any{"rope_scaling": s.Type, "factor": s.Factor, "l_train": L}}
		o.Log("%s: misalignment", name)
		res, _, err := align.Misalignment(m, docs, mis)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		v.Misalignment = &res.Mean
		o.Log("%s: validation loss at %d", name, L)
		val, err := Perplexity(m, pplDocs, pplAt(L))
		if err != nil {
			return nil, fmt.Errorf("%s: validation loss: %w", name, err)
		}
		v.ValLoss = &val.NLL
		for _, k := range o.Multiples {
			n := k * L
			o.Log("%s: perplexity and passkey at %d", name, n)
			p, err := Perplexity(m, pplDocs, pplAt(n))
			if err != nil {
				return nil, fmt.Errorf("%s: perplexity at %d: %w", name, n, err)
			}
			v.Scores[fmt.Sprintf("ppl_%dx", k)] = p.PPL
			g, err := RunGrid(m, tok, GridOptions{Lengths: []int{n}, Depths: o.PasskeyDepths, Trials: o.PasskeyTrials, Seed: o.Seed}, build)
			if err != nil {
				return nil, fmt.Errorf("%s: passkey at %d: %w", name, n, err)
			}
			if len(g.Trials) == 0 {
				o.Log("%s: passkey at %d skipped: %s", name, n, g.Cells[0].Skipped)
				continue
			}
			v.Scores[fmt.Sprintf("passkey_%dx", k)] = float64(g.Accuracy)
		}
		if o.Units != nil {
			if err := o.Units.Record(i, v); err != nil {
				return nil, err
			}
		}
		out = append(out, v)
	}
	return out, nil
}
