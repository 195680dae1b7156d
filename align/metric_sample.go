package align

import (
	"fmt"
	"sort"

	"github.com/lsalign/lsalign/internal/rng"
)

// drawSamples draws o.Samples (doc, end, l1, l2) tuples. The eligible end
// positions are, in every document of n tokens, end = l_max .. n (exclusive
// index), so both suffixes fit inside the document whatever l1 and l2 are
// drawn; end is uniform over all of them, then l1 and l2 are drawn
// independently. It returns the samples and the number of eligible ends.
func drawSamples(docs [][]int32, o MetricOptions) ([]MetricSample, int, error) {
	lo, hi := o.lengthRange()
	// cum[d] counts the eligible ends in docs[:d+1].
	cum := make([]int, len(docs))
	total, longest := 0, 0
	for d, doc := range docs {
		total += max(0, len(doc)-hi+1)
		cum[d] = total
		longest = max(longest, len(doc))
	}
	if len(docs) == 0 {
		return nil, 0, fmt.Errorf("misalignment: no documents")
	}
	if total == 0 {
		return nil, 0, fmt.Errorf("misalignment: text too short: the longest document has %d tokens, suffixes need up to %d (l_train %d)",
			longest, hi, o.LTrain)
	}
	r := rng.New(o.Seed)
	samples := make([]MetricSample, o.Samples)
	for i := range samples {
		k := r.Intn(total)
		d := sort.SearchInts(cum, k+1) // first document whose count exceeds k
		before := 0
		if d > 0 {
			before = cum[d-1]
		}
		samples[i] = MetricSample{
			Doc: d,
			End: hi + (k - before),
			L1:  r.IntRange(lo, hi),
			L2:  r.IntRange(lo, hi),
		}
	}
	return samples, total, nil
}
