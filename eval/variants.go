package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Variant is one model variant's row of a correlation study. Its JSON
// form is the input of `lsalign correlate`:
//
//	{"name": "yarn-x4", "misalignment": 3.21, "train_loss": 1.9, "val_loss": 2.0,
//	 "scores": {"ppl_2x": 41.2, "ppl_4x": 80.5, "passkey_acc_4x": 0.3}}
//
// A file holds {"variants": [...]}, a bare list of variants, or one
// variant. Every field but name is optional; a variant lacking a value is
// left out of the correlations that need it.
type Variant struct {
	Name         string             `json:"name"`
	Misalignment *float64           `json:"misalignment,omitempty"`
	TrainLoss    *float64           `json:"train_loss,omitempty"`
	ValLoss      *float64           `json:"val_loss,omitempty"`
	Scores       map[string]float64 `json:"scores"`
	// Settings records how the variant was made (free-form, not read).
	Settings map[string]any `json:"settings,omitempty"`
}

// VariantSet is the file form written by `correlate --variants`.
type VariantSet struct {
	Variants []Variant `json:"variants"`
}

// ParseVariants reads the variants of one JSON file.
func ParseVariants(data []byte, name string) ([]Variant, error) {
	data = bytes.TrimSpace(data)
	var vs []Variant
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &vs); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	default:
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(data, &probe); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if _, ok := probe["variants"]; ok {
			var set VariantSet
			if err := json.Unmarshal(data, &set); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			vs = set.Variants
		} else {
			var v Variant
			if err := json.Unmarshal(data, &v); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			vs = []Variant{v}
		}
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%s: no variants", name)
	}
	for i, v := range vs {
		if v.Name == "" {
			return nil, fmt.Errorf("%s: variant %d has no \"name\"", name, i)
		}
		for k, s := range v.Scores {
			if math.IsNaN(s) || math.IsInf(s, 0) {
				return nil, fmt.Errorf("%s: variant %q: score %q is not finite", name, v.Name, k)
			}
		}
	}
	return vs, nil
}

// Predictors of long-context scores, in report order.
const (
	PredMisalignment = "misalignment"
	PredTrainLoss    = "train_loss"
	PredValLoss      = "val_loss"
)

// PredictorNames lists the predictors in report order.
func PredictorNames() []string { return []string{PredMisalignment, PredTrainLoss, PredValLoss} }

// Predictor returns v's value of the named predictor; ok is false when v
// lacks it (or it is NaN) or the name is not one of PredictorNames.
func (v Variant) Predictor(name string) (value float64, ok bool) {
	var p *float64
	switch name {
	case PredMisalignment:
		p = v.Misalignment
	case PredTrainLoss:
		p = v.TrainLoss
	case PredValLoss:
		p = v.ValLoss
	}
	if p == nil || math.IsNaN(*p) {
		return 0, false
	}
	return *p, true
}

// CorrelationRow is the correlation of one predictor with one score over
// the variants that have both.
type CorrelationRow struct {
	Score     string      `json:"score"`
	Predictor string      `json:"predictor"`
	Variants  []string    `json:"variants"`
	Pearson   Correlation `json:"pearson"`
	Spearman  Correlation `json:"spearman"`
}

// CorrelateVariants correlates each predictor (misalignment, train_loss,
// val_loss, where present) with each score, in score-name order. Pairs are
// bootstrapped `resamples` times (seeded; 2000 is a good default).
func CorrelateVariants(vs []Variant, resamples int, seed uint64) []CorrelationRow {
	scoreSet := map[string]bool{}
	for _, v := range vs {
		for k := range v.Scores {
			scoreSet[k] = true
		}
	}
	scores := make([]string, 0, len(scoreSet))
	for k := range scoreSet {
		scores = append(scores, k)
	}
	sort.Strings(scores)
	var rows []CorrelationRow
	for si, s := range scores {
		for pi, p := range PredictorNames() {
			row := CorrelationRow{Score: s, Predictor: p}
			var x, y []float64
			for _, v := range vs {
				px, okx := v.Predictor(p)
				sy, oky := v.Scores[s]
				if okx && oky {
					x, y = append(x, px), append(y, sy)
					row.Variants = append(row.Variants, v.Name)
				}
			}
			if len(x) == 0 {
				continue
			}
			sub := seed + uint64(si)*131 + uint64(pi)
			row.Pearson = Correlate(x, y, Pearson, resamples, sub)
			row.Spearman = Correlate(x, y, Spearman, resamples, sub)
			rows = append(rows, row)
		}
	}
	return rows
}

// Float is a float64 that JSON-encodes NaN and infinities as null.
type Float float64

// MarshalJSON writes null for a non-finite value.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number or null (NaN).
func (f *Float) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Float(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*f = Float(v)
	return nil
}
