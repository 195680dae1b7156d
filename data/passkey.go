package data

import (
	"fmt"
	"strings"

	"github.com/lsalign/lsalign/internal/rng"
)

// Passkey is one retrieval probe in the facts corpus's own format: filler
// sentences with "the key is DDDDD. " at some depth, ending in
// PasskeyQuestion; the answer is the five digits.
type Passkey struct {
	Prompt string  `json:"prompt"`
	Answer string  `json:"answer"`
	Depth  float64 `json:"depth"` // start of the key sentence as a fraction of the prompt
}

// passkeyDigits is the length of a passkey.
const passkeyDigits = 5

// PasskeyMinBytes is the shortest probe NewPasskey builds (prompt and
// answer, no filler).
const PasskeyMinBytes = len(PasskeyStatement) + passkeyDigits + len(". ") + len(PasskeyQuestion) + passkeyDigits

// NewPasskey builds a probe whose prompt and answer together are exactly n
// bytes, with the key sentence starting near depth (0 = the start, 1 = just
// before the question), snapped to a sentence boundary.
func NewPasskey(r *rng.RNG, n int, depth float64) (Passkey, error) {
	answer := digits(r, passkeyDigits)
	key := PasskeyStatement + answer + ". "
	budget := n - len(key) - len(PasskeyQuestion) - len(answer)
	if budget < 0 {
		return Passkey{}, fmt.Errorf("passkey: %d bytes cannot hold a probe (need at least %d)", n, PasskeyMinBytes)
	}
	if !(depth >= 0 && depth <= 1) {
		return Passkey{}, fmt.Errorf("passkey: depth %g outside [0, 1]", depth)
	}
	var b strings.Builder
	for b.Len() < budget {
		b.WriteString(fillerSentence(r))
	}
	hay := b.String()
	hay = hay[len(hay)-budget:] // cut from the front: the window starts mid-sentence, as training windows do
	at := sentenceBoundary(hay, int(depth*float64(budget)+0.5))
	prompt := hay[:at] + key + hay[at:] + PasskeyQuestion
	return Passkey{Prompt: prompt, Answer: answer, Depth: float64(at) / float64(len(prompt))}, nil
}

// sentenceBoundary returns the sentence start (just after ". ", or 0 or
// len(s)) nearest to offset.
func sentenceBoundary(s string, offset int) int {
	best, bestDist := 0, offset
	if d := len(s) - offset; d < bestDist {
		best, bestDist = len(s), d
	}
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '.' && s[i+1] == ' ' {
			d := i + 2 - offset
			if d < 0 {
				d = -d
			}
			if d < bestDist {
				best, bestDist = i+2, d
			}
		}
	}
	return best
}

// fillerSentence is one sentence of the filler grammar without a cast.
func fillerSentence(r *rng.RNG) string { return cast{}.sentence(r) }
